"""Image-guided refinement of SAM2's S/4 mask logits to full resolution."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn


def _bilinear(x: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resize (B, C, h, w) maps to ``size`` bilinearly."""
    return F.interpolate(x, size, mode='bilinear', align_corners=False)


@MODELS.register_module()
class ImageGuidedMaskRefiner(nn.Module):
    """Refines S/4 mask logits to the input resolution S with the image.

    SAM2's decoder predicts at S/4; at small inputs (the 96 px demo: 24 x 24)
    that grid alone cannot follow object outlines. This small convolutional
    net reads, on the S/``scale`` grid, the coarse logits, the input image
    rearranged without loss (``pixel_unshuffle``: every pixel of each
    ``scale`` x ``scale`` cell is a channel) and the S/4 image features, and
    predicts a full-resolution correction (``pixel_shuffle``) that is added
    to the bilinearly upsampled logits:

    .. code:: text

        g      = S / scale, s = scale
        coarse = up(logits, g)                              (B, 1, g, g)
        x      = [coarse; unshuffle(image); up(proj(feat))] (B, 1+3s^2+F, g, g)
        out    = up(logits, S) + shuffle(convs(x))          (B, 1, S, S)

    with ``F = feat_proj_dims`` and ``convs`` = conv 3x3, GELU, conv 3x3
    (dilation 2), GELU, conv 3x3 to s^2 channels.
    The last convolution starts at zero, so training starts from plain
    bilinear upsampling. Not part of the paper (at 1024 px SAM2's 256 x 256
    output is fine enough); the demo config enables it.

    Args:
        feat_dims (int): Channels D of the S/4 image features.
        hidden_dims (int): Channels of the hidden convolutions.
            Defaults to 32.
        feat_proj_dims (int): Channels the features are projected to.
            Defaults to 8.
        scale (int): The net works on the S/``scale`` grid. Defaults to 4
            (the decoder's own grid; 2 costs 3x more, for the same accuracy
            on the demo).
    """

    def __init__(self,
                 feat_dims: int,
                 hidden_dims: int = 32,
                 feat_proj_dims: int = 8,
                 scale: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.feat_proj = nn.Conv2d(feat_dims, feat_proj_dims, 1)
        in_dims = 1 + 3 * scale**2 + feat_proj_dims
        self.convs = nn.Sequential(
            nn.Conv2d(in_dims, hidden_dims, 3, padding=1), nn.GELU(),
            nn.Conv2d(hidden_dims, hidden_dims, 3, padding=2, dilation=2),
            nn.GELU(), nn.Conv2d(hidden_dims, scale**2, 3, padding=1))
        nn.init.zeros_(self.convs[-1].weight)
        nn.init.zeros_(self.convs[-1].bias)

    def forward(self, logits: Tensor, image: Tensor, feat: Tensor) -> Tensor:
        """Refine the logits.

        Args:
            logits (Tensor): Coarse mask logits, (B, 1, h, w).
            image (Tensor): The normalised input image, (B, 3, S, S); S must
                be divisible by ``scale``.
            feat (Tensor): Image features, (B, D, S/4, S/4).

        Returns:
            Tensor: Mask logits at the image resolution, (B, 1, S, S).
        """
        size = tuple(image.shape[-2:])
        if size[0] % self.scale or size[1] % self.scale:
            raise ValueError(
                f'ImageGuidedMaskRefiner: the input size {size} must '
                f'be divisible by its scale {self.scale}.')
        grid = (size[0] // self.scale, size[1] // self.scale)

        parts = [
            _bilinear(logits, grid),
            F.pixel_unshuffle(image.to(logits.dtype), self.scale),
            _bilinear(self.feat_proj(feat), grid)
        ]
        # the convolutions run about 1.5x faster on the CPU channels-last
        x = torch.cat(parts, 1).contiguous(memory_format=torch.channels_last)
        return _bilinear(logits, size) + F.pixel_shuffle(
            self.convs(x), self.scale)
