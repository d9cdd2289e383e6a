"""Square resizing of model inputs."""
import torch.nn.functional as F
from torch import Tensor


def resize_square(images: Tensor, size: int) -> Tensor:
    """Resize images to ``size`` x ``size`` (bilinear, antialiased).

    How SAM2's transforms and CLIP's preprocessing bring any image to their
    encoder's input side; used by the SAM2 encoder and the union encoder's
    image tower, each at its own size.

    Args:
        images (Tensor): (B, C, H, W).
        size (int): The side S.

    Returns:
        Tensor: (B, C, S, S); the input itself when it has that size.
    """
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(
        images, (size, size),
        mode='bilinear',
        align_corners=False,
        antialias=True)
