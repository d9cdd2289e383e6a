"""Pack a referring sample: image, GT mask and the sentence as metainfo."""
from typing import Sequence

import numpy as np
import torch
from mmengine.structures import PixelData

from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

#: The referring fields packed on top of mmseg's default meta keys.
REFER_META_KEYS = ('text', 'ref_id', 'sent_id', 'ann_id', 'image_id',
                   'category')
DEFAULT_META_KEYS = PackSegInputs().meta_keys + REFER_META_KEYS


@TRANSFORMS.register_module()
class PackReferSegInputs(PackSegInputs):
    """:class:`PackSegInputs` that also packs the referring expression.

    The output is ``dict(inputs, data_samples)`` as with ``PackSegInputs``:
    ``inputs`` is the (C, H, W) image tensor, ``data_samples`` a
    ``SegDataSample`` with ``gt_sem_seg`` (1, H, W) when ``gt_seg_map`` is
    present, and ``union_img`` (3, S, S) uint8, the union encoder's own image
    (:class:`UnionImageResize`), when ``union_img`` is. Its metainfo holds the
    available ``meta_keys``; by default mmseg's (``img_path``,
    ``seg_map_path``, ``ori_shape`` (h, w), ``img_shape`` (h, w),
    ``pad_shape``, ``scale_factor`` (w, h), ``flip``, ``flip_direction``,
    ``reduce_zero_label``) plus:

    - ``text`` (str): the referring sentence, read by the model as
      ``data_sample.metainfo['text']``; required, a sample without it
      raises KeyError.
    - ``ref_id``, ``sent_id``, ``ann_id``, ``image_id``: identifiers (the
      metric keys its records by ``sent_id``).
    - ``category`` (str): category name of the target (RRSIS-D).

    Args:
        meta_keys (Sequence[str]): Keys packed into the metainfo when
            present. Defaults to :data:`DEFAULT_META_KEYS`.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the sample; the sentence is required.

        Args:
            results (dict): Result dict from the pipeline.

        Returns:
            dict: ``inputs`` (Tensor (C, H, W)) and ``data_samples``
            (``SegDataSample``).
        """
        if 'text' not in results:
            raise KeyError('PackReferSegInputs: the sample '
                           f'{results.get("img_path")} has no "text" (the '
                           'referring sentence)')
        packed = super().transform(results)
        if 'union_img' in results:
            img = np.ascontiguousarray(results['union_img'].transpose(2, 0, 1))
            packed['data_samples'].union_img = PixelData(
                data=torch.from_numpy(img))
        return packed
