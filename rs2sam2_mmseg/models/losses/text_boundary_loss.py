"""Text-guided boundary loss ("text-weighted gradient differences")."""
from typing import Optional

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn


def gradient_magnitude(mask: Tensor, valid: Tensor) -> tuple:
    """G(U) = |U(i,j) - U(i-1,j)| + |U(i,j) - U(i,j-1)| on valid pixels.

    A difference that would read outside the image is 0, as the official
    code's zero-padded form; a pixel is kept when the taps it reads are
    valid.

    Args:
        mask (Tensor): Soft or hard mask, (N, H, W).
        valid (Tensor): Bool, (N, H, W).

    Returns:
        tuple[Tensor, Tensor]: G of shape (N, H, W) (row 0 and column 0
        have one term each) and the bool mask of pixels whose taps are
        all valid, same shape.
    """
    up = F.pad((mask[:, 1:] - mask[:, :-1]).abs(), (0, 0, 1, 0))
    left = F.pad((mask[:, :, 1:] - mask[:, :, :-1]).abs(), (1, 0, 0, 0))
    ok_up = F.pad(valid[:, :-1].float(), (0, 0, 1, 0), value=1.) > 0
    ok_left = F.pad(valid[:, :, :-1].float(), (1, 0, 0, 0), value=1.) > 0
    return up + left, valid & ok_up & ok_left


@MODELS.register_module()
class TextGuidedBoundaryLoss(nn.Module):
    """Text-guided boundary loss of RS2-SAM2.

    The paper compares boundary (gradient) maps of the prediction and the
    ground truth, weighted by text: ``L = MSE(w * G(M), w * G(y))`` with
    ``G(U) = |U(i,j)-U(i-1,j)| + |U(i,j)-U(i,j-1)|``. Modes:

    - ``'official'``: the official code (``compute_boundary_loss_with_text``
      with the weight of ``lib/evf_sam.py``): ``M = 1[sigmoid(z) > 0.5]``,
      G zero-padded at row 0 / column 0 (so (H, W)), and one weight per
      sample ``w = Linear(t_0)`` of the first (projected) text token, the
      official ``text2one_linear``. The hard threshold sends no gradient to
      the mask logits; only w learns (the loss shrinks ``|w|``). The
      official code broadcasts an (N, H, W) weight against (N, 1, H, W)
      maps, which crosses samples when N > 1; it trained with one sample
      per GPU, whose loss this is for every sample (the mean over the
      pixels of the batch).
    - ``'pixel'`` (default, ours): G on ``sigmoid(z)`` (soft and
      differentiable, over the (H-1, W-1) interior) and w per pixel,
      ``w = 1 + alpha * r`` with ``r = (1 + cos(cls, v_ij)) / 2`` the text
      relevance of the pixel (cosine similarity of the multimodal class
      token with the union encoder's visual token under the pixel,
      bilinearly resized, detached so the loss cannot lower it).
    - ``'sample'``: the soft G of 'pixel' with the per-sample weight of
      'official'.

    Args:
        mode (str): 'pixel', 'sample' or 'official'. Defaults to 'pixel'.
        alpha (float): Strength of the relevance weighting ('pixel').
            Defaults to 1.0.
        text_dims (int, optional): Text width for the ``text_weight``
            Linear of 'sample' and 'official'. Defaults to None.
        loss_weight (float): Weight of the term. Defaults to 1.0.
        loss_name (str): Log name. Defaults to 'loss_boundary'.
    """

    def __init__(self,
                 mode: str = 'pixel',
                 alpha: float = 1.0,
                 text_dims: Optional[int] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_boundary') -> None:
        super().__init__()
        if mode not in ('pixel', 'sample', 'official'):
            raise ValueError("mode must be 'pixel', 'sample' or 'official', "
                             f'got {mode!r}')
        if mode != 'pixel' and not text_dims:
            raise ValueError(f'mode={mode!r} needs text_dims (the width of '
                             'the text tokens) for its Linear weight')
        self.mode = mode
        self.alpha = alpha
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        self.text_weight = nn.Linear(text_dims, 1) if mode != 'pixel' \
            else None

    @staticmethod
    def relevance(cls: Tensor, vis: Tensor, size: tuple) -> Tensor:
        """Per-pixel text relevance r in [0, 1].

        Args:
            cls (Tensor): Class token, (N, C).
            vis (Tensor): Visual tokens on a square grid, (N, Nv, C).
            size (tuple): Output (H, W).

        Returns:
            Tensor: r of shape (N, H, W), detached.
        """
        side = int(vis.shape[1]**0.5)
        cos = F.cosine_similarity(cls[:, None], vis, dim=-1)  # (N, Nv)
        r = (1 + cos.detach()).div(2).view(-1, 1, side, side)
        return F.interpolate(
            r, size, mode='bilinear', align_corners=False)[:, 0]

    def weights(self, size: tuple, vis: Optional[Tensor],
                cls: Optional[Tensor], text_token: Optional[Tensor]) -> Tensor:
        """w per pixel (N, H, W) or per sample (N, 1, 1)."""
        if self.mode != 'pixel':
            return self.text_weight(text_token).view(-1, 1, 1)
        return 1 + self.alpha * self.relevance(cls, vis, size)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                vis: Optional[Tensor] = None,
                cls: Optional[Tensor] = None,
                text_token: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Mask logits z, (N, 1, H, W).
            target (Tensor): Labels 0/1 (and ``ignore_index``), (N, H, W).
            vis (Tensor, optional): Union visual tokens (N, Nv, C), 'pixel'.
            cls (Tensor, optional): Class token (N, C), 'pixel'.
            text_token (Tensor, optional): First text token (N, Ct),
                'sample' and 'official'.
            ignore_index (int): Label left out. Defaults to 255.

        Returns:
            Tensor: Scalar loss.
        """
        valid = target != ignore_index
        if self.mode == 'official':
            mask = (pred[:, 0].sigmoid() > 0.5).to(pred.dtype)
        else:
            mask = pred[:, 0].sigmoid()
        grad_pred, ok = gradient_magnitude(mask, valid)
        grad_gt, _ = gradient_magnitude((target == 1).to(pred.dtype), valid)
        w = self.weights(target.shape[-2:], vis, cls, text_token)
        if self.mode != 'official':  # the interior, (N, H-1, W-1)
            grad_pred, grad_gt, ok = (
                t[:, 1:, 1:] for t in (grad_pred, grad_gt, ok))
            if w.shape[-1] > 1:
                w = w[:, 1:, 1:]
        sq = (w * (grad_pred - grad_gt))**2 * ok
        return self.loss_weight * sq.sum() / ok.sum().clamp(min=1)

    @property
    def loss_name(self) -> str:
        """Name of the term in the logs (``loss_`` prefix: summed)."""
        return self._loss_name
