"""Load the mask of the referred object."""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ...utils.errors import UserInputError
from ..utils import decode_coco_segmentation


@TRANSFORMS.register_module()
class LoadReferringAnnotations(BaseTransform):
    """Load the binary mask of the referred object into ``gt_seg_map``.

    Two sources, chosen by the keys the dataset provides:

    - ``segmentation`` with ``height``/``width`` (RRSIS-D): a COCO
      segmentation (polygons, RLE dict, list of RLE dicts), decoded with
      pycocotools; several parts are merged.
    - ``seg_map_path`` (RefSegRS): a mask image read in grayscale (8-bit);
      foreground is ``value > mask_threshold`` (``results['mask_threshold']``,
      0 when absent: any non-zero pixel).

    When the image is already loaded, the mask must have its ORIGINAL size
    ``ori_shape`` (not ``img_shape``): in the test pipeline this transform
    runs after ``Resize`` so the GT stays at the original resolution, as with
    mmseg's ``LoadAnnotations``. An all-zero mask is kept: the metric scores
    such expressions by its ``empty_iou`` protocol.

    Required Keys:

    - segmentation, height, width, or seg_map_path (+ mask_threshold)
    - ori_shape (optional): checked against the mask size
    - seg_fields (optional): created when absent

    Added Keys:

    - gt_seg_map (np.uint8): (H, W), 1 on the referred object, else 0

    Modified Keys:

    - seg_fields: 'gt_seg_map' appended

    Args:
        imdecode_backend (str): Backend of ``mmcv.imfrombytes`` for mask
            files. Defaults to 'cv2'.
        backend_args (dict, optional): Arguments of the ``mmengine.fileio``
            backend. Defaults to None.
    """

    def __init__(self,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args.copy() if backend_args else None

    def _read_mask(self, results: dict) -> np.ndarray:
        """Read and threshold the mask file ``results['seg_map_path']``."""
        path = results['seg_map_path']
        mask = mmcv.imfrombytes(
            fileio.get(path, backend_args=self.backend_args),
            flag='grayscale',
            backend=self.imdecode_backend)
        if mask is None:
            raise UserInputError(f'failed to decode the mask file {path}')
        return (mask > results.get('mask_threshold', 0)).astype(np.uint8)

    def _decode_segmentation(self, results: dict) -> np.ndarray:
        """Decode ``results['segmentation']`` at ``(height, width)``."""
        try:
            return decode_coco_segmentation(results['segmentation'],
                                            results['height'],
                                            results['width'])
        except ValueError as err:
            raise UserInputError(
                f'malformed segmentation of {_describe(results)}'
                f': {err}') from err

    def transform(self, results: dict) -> dict:
        """Decode the referred mask.

        Args:
            results (dict): The sample, see Required Keys.

        Returns:
            dict: ``results`` with ``gt_seg_map`` added.
        """
        if 'segmentation' in results:
            mask = self._decode_segmentation(results)
            source = f'the segmentation of {_describe(results)}'
        elif 'seg_map_path' in results:
            mask = self._read_mask(results)
            source = f'the mask {results["seg_map_path"]}'
        else:
            raise UserInputError(
                'LoadReferringAnnotations needs "segmentation" or '
                f'"seg_map_path" in the sample {_describe(results)}')
        if 'ori_shape' in results and \
                mask.shape != tuple(results['ori_shape'][:2]):
            raise UserInputError(
                f'{source} has size {mask.shape} (h, w) but the image '
                f'{results.get("img_path")} has size '
                f'{tuple(results["ori_shape"][:2])}')
        results['gt_seg_map'] = mask
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f"imdecode_backend='{self.imdecode_backend}', "
                f'backend_args={self.backend_args})')


def _describe(results: dict) -> str:
    """Name a sample in error messages by its ids and image."""
    ids = ', '.join(f'{key} {results[key]}'
                    for key in ('ref_id', 'sent_id', 'ann_id')
                    if key in results)
    return f'{results.get("img_path")} ({ids})'
