"""The union encoder's own copy of the image, resized from the original."""
import mmcv
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class UnionImageResize(BaseTransform):
    """Store a ``size`` x ``size`` copy of the image as ``union_img``.

    The official RS2-SAM2 data pipeline (``train.py``, ``test.py``) makes
    BEiT-3's 224 x 224 input from the ORIGINAL image (after box erasing),
    not from SAM2's 1024 x 1024 input: put this transform before the
    ``Resize`` of the main image. The image is stretched (no aspect ratio
    kept) with PIL's resampling by default, which is what torchvision's
    ``Resize`` does to the PIL images of the official code (PIL bilinear
    low-pass filters when it shrinks). The copy keeps the channel order of
    ``img`` (BGR as loaded by mmcv); the data preprocessor converts and
    normalises it like the main image.

    Required Keys:

    - img

    Added Keys:

    - union_img (np.ndarray): (size, size, C), dtype of ``img``

    Args:
        size (int): Side of the square copy. Defaults to 224.
        interpolation (str): ``mmcv.imresize`` interpolation.
            Defaults to 'bilinear'.
        backend (str): ``mmcv.imresize`` backend, 'pillow' (the official
            resampling) or 'cv2'. Defaults to 'pillow'.
    """

    def __init__(self,
                 size: int = 224,
                 interpolation: str = 'bilinear',
                 backend: str = 'pillow') -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f'size must be a positive int, got {size!r}')
        if backend not in ('pillow', 'cv2'):
            raise ValueError("backend must be 'pillow' or 'cv2', got "
                             f'{backend!r}')
        self.size = size
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: dict) -> dict:
        """Add ``union_img``.

        Args:
            results (dict): The sample, with ``img`` (H, W, C) uint8.

        Returns:
            dict: ``results`` with ``union_img`` (size, size, C).
        """
        results['union_img'] = mmcv.imresize(
            results['img'], (self.size, self.size),
            interpolation=self.interpolation,
            backend=self.backend)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f"interpolation='{self.interpolation}', "
                f"backend='{self.backend}')")
