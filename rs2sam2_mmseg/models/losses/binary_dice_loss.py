"""Dice loss for single-channel (sigmoid) masks with ignored pixels."""
from mmseg.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class BinaryDiceLoss(nn.Module):
    """Dice loss on sigmoid(logits) of a binary mask, per sample.

    mmseg's ``DiceLoss`` one-hot expands an (N, H, W) target to the number
    of prediction channels, which drops the foreground of a single-channel
    prediction, and its ``ignore_index`` selects channels, not pixels. This
    loss takes the (N, 1, H, W) logits of a binary mask with an (N, H, W)
    target and leaves ``ignore_index`` pixels out of every sum.

    ``loss = 1 - (2 sum(p t) + eps) / (sum(p) + sum(t) + eps)``, averaged
    over samples.

    Args:
        eps (float): Smoothing term. Defaults to 1.0.
        loss_weight (float): Weight of the term. Defaults to 1.0.
        loss_name (str): Log name. Defaults to 'loss_dice'.
    """

    def __init__(self,
                 eps: float = 1.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        self.eps = eps
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Mask logits, (N, 1, H, W).
            target (Tensor): Labels 0/1 (and ``ignore_index``), (N, H, W).
            ignore_index (int): Label left out. Defaults to 255.

        Returns:
            Tensor: Scalar loss.
        """
        valid = (target != ignore_index).to(pred.dtype)
        prob = pred[:, 0].sigmoid() * valid
        gt = (target == 1).to(pred.dtype) * valid
        inter = (prob * gt).flatten(1).sum(1)
        total = prob.flatten(1).sum(1) + gt.flatten(1).sum(1)
        dice = (2 * inter + self.eps) / (total + self.eps)
        return self.loss_weight * (1 - dice).mean()

    @property
    def loss_name(self) -> str:
        """Name of the term in the logs (``loss_`` prefix: summed)."""
        return self._loss_name
