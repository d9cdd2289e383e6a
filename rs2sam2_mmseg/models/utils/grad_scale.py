"""Scale the gradient of a tensor without changing its value."""
from typing import Dict

from torch import Tensor


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """Identity in the forward pass; the backward pass multiplies by scale.

    Args:
        x (Tensor): Any tensor; one without gradient (e.g. a boolean
            mask, or any tensor at inference) is returned as is.
        scale (float): Gradient factor (0 detaches, 1 is the identity).

    Returns:
        Tensor: Equal to ``x``; its gradient reaches ``x`` times ``scale``.
    """
    if scale == 1 or not x.requires_grad:  # nothing to scale (inference)
        return x
    detached = x.detach()
    if scale == 0:  # not 0 * grad: an infinite gradient would give NaN
        return detached
    return detached + scale * (x - detached)


def scale_grad_dict(tensors: Dict[str, Tensor],
                    scale: float) -> Dict[str, Tensor]:
    """:func:`scale_grad` on every value of a dict."""
    return {key: scale_grad(value, scale) for key, value in tensors.items()}
