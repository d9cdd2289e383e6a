"""Dice loss of the official RS2-SAM2 code on a single-logit mask."""
import torch
from mmseg.registry import MODELS
from torch import Tensor, nn

from .two_class_cross_entropy_loss import two_class_logits


@MODELS.register_module()
class TwoClassDiceLoss(nn.Module):
    """Softmax Dice over both classes of ``[1 - z, z]`` (official).

    As the official ``DiceLoss`` (``loss/loss.py``): the softmax of the
    two-class logits against the one-hot target, per sample and class
    ``1 - (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth)``, then
    summed over the classes. ``ignore_index`` pixels are left out of
    every sum (the official data has none).

    Over the samples, ``reduction='sum'`` is the official code literally
    (it sums over the batch as well); the official training ran one sample
    per GPU and DDP averages the GPUs' gradients, which ``'mean'``
    reproduces for any number of samples per GPU.

    Args:
        smooth (float): Smoothing term. Defaults to 1e-6 (official).
        reduction (str): 'sum' or 'mean' over the samples.
            Defaults to 'sum'.
        loss_weight (float): Weight of the term. Defaults to 1.0.
        loss_name (str): Log name. Defaults to 'loss_dice'.
    """

    def __init__(self,
                 smooth: float = 1e-6,
                 reduction: str = 'sum',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        if reduction not in ('sum', 'mean'):
            raise ValueError("TwoClassDiceLoss reduction must be 'sum' or "
                             f"'mean', got {reduction!r}")
        self.smooth = smooth
        self.reduction = reduction
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
            Tensor: Scalar loss.
        """
        valid = (target != ignore_index)[:, None].to(pred.dtype)
        prob = two_class_logits(pred).softmax(dim=1) * valid  # (N, 2, H, W)
        onehot = torch.stack([target == 0, target == 1], dim=1).to(pred.dtype)
        inter = (prob * onehot).flatten(2).sum(-1)  # (N, 2)
        union = prob.flatten(2).sum(-1) + onehot.flatten(2).sum(-1)
        loss = 1 - (2 * inter + self.smooth) / (union + self.smooth)
        loss = loss.sum(1)  # (N,)
        loss = loss.sum() if self.reduction == 'sum' else loss.mean()
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """Name of the term in the logs (``loss_`` prefix: summed)."""
        return self._loss_name
