"""Cross-entropy of the official RS2-SAM2 code on a single-logit mask."""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn


def two_class_logits(pred: Tensor) -> Tensor:
    """The official two-class output ``[1 - z, z]`` of a mask logit z.

    The official model returns one logit map z and its training and test
    code read ``torch.cat([1 - z, z], dim=1)`` as background/foreground
    logits (``lib/referformer.py``). The softmax foreground probability is
    therefore ``sigmoid(2 z - 1)`` and its argmax is ``z > 0.5``.

    Args:
        pred (Tensor): Mask logits z, (N, 1, H, W).

    Returns:
        Tensor: (N, 2, H, W).
    """
    return torch.cat([1 - pred, pred], dim=1)


@MODELS.register_module()
class TwoClassCrossEntropyLoss(nn.Module):
    """Class-weighted 2-class cross-entropy on ``[1 - z, z]`` (official).

    ``torch.nn.CrossEntropyLoss(weight=class_weight)`` on the logits of
    :func:`two_class_logits`: the weighted mean
    ``sum_i w_{y_i} nll_i / sum_i w_{y_i}`` over the pixels of the batch,
    ``ignore_index`` pixels left out of both sums (the official data has
    none).

    Args:
        class_weight (Sequence[float]): Background and foreground weights.
            Defaults to (0.9, 1.1) (official).
        loss_weight (float): Weight of the term. Defaults to 1.0.
        loss_name (str): Log name. Defaults to 'loss_ce'.
    """

    def __init__(self,
                 class_weight: Sequence[float] = (0.9, 1.1),
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce') -> None:
        super().__init__()
        if len(class_weight) != 2:
            raise ValueError('TwoClassCrossEntropyLoss needs 2 class weights '
                             f'(background, foreground), got {class_weight}')
        self.class_weight = tuple(float(w) for w in class_weight)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Mask logits z, (N, 1, H, W).
            target (Tensor): Labels 0/1 (and ``ignore_index``), (N, H, W).
            ignore_index (int): Label left out. Defaults to 255.

        Returns:
            Tensor: Scalar loss (0 when every pixel is ignored).
        """
        if not (target != ignore_index).any():
            return pred.sum() * 0
        loss = F.cross_entropy(
            two_class_logits(pred),
            target.long(),
            weight=pred.new_tensor(self.class_weight),
            ignore_index=ignore_index)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """Name of the term in the logs (``loss_`` prefix: summed)."""
        return self._loss_name
