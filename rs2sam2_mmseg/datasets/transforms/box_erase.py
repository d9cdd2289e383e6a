"""Random black boxes painted over the image (RRSIS-D augmentation)."""
import zlib
from numbers import Real
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS


def _int_pair(value: Union[int, Sequence[int]], name: str,
              minimum: int) -> Tuple[int, int]:
    """Validate an int or a pair of ints, each ``>= minimum``."""
    if isinstance(value, int):
        pair = (value, value)
    else:
        pair = tuple(value) if isinstance(value, Sequence) else ()
    if len(pair) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= minimum
            for v in pair):
        raise ValueError(f'{name} must be an int or a pair of ints, each >= '
                         f'{minimum}, got {value!r}')
    return pair


@TRANSFORMS.register_module()
class RandomBoxErase(BaseTransform):
    """Paint random boxes of a constant colour over the image.

    The RRSIS-D training recipe of RS2-SAM2 (the defaults): with probability
    ``prob`` a sample gets N boxes, N drawn uniformly from ``num_boxes``
    (both ends included), each ``box_size`` large, its top-left corner
    uniform over the positions that keep it inside the image (a box larger
    than the image is cropped to it). Only the image changes: the GT mask is
    untouched, so the model learns to segment partly occluded objects.
    Randomness comes from ``np.random`` (seeded per worker by mmengine).

    With ``subset_seed`` set, whether a sample is erased no longer changes
    from one epoch to the next: a fixed subset of the refs, each ref_id in
    it with probability ``prob`` (decided once from ``subset_seed`` and the
    ref_id), is erased every time it is loaded, with new boxes each time.
    This is the official RS2-SAM2 RRSIS-D recipe
    (``data/dataset_refer_bert.py``: 20% of the refs drawn once, 20-60
    black 32 px boxes), applied there to the ORIGINAL image: put this
    transform before the resizes. (The official code draws exactly
    ``int(0.2 * num_refs)`` refs; here the subset size is binomial around
    it.)

    Required Keys:

    - img
    - ref_id (with ``subset_seed``)

    Modified Keys:

    - img (a copy is painted when boxes are drawn)

    Args:
        prob (float): Probability of erasing a sample. Defaults to 0.2.
        num_boxes (int | tuple[int, int]): Number of boxes, or its inclusive
            range (min, max). Defaults to (20, 60).
        box_size (int | tuple[int, int]): Box (height, width) in pixels.
            Defaults to (32, 32).
        fill (float | Sequence[float]): Fill value, one per channel or one
            for all. Defaults to 0.
        subset_seed (int, optional): Erase a fixed subset of the refs (see
            above) instead of each sample with probability ``prob`` on
            each call. Defaults to None.
    """

    def __init__(self,
                 prob: float = 0.2,
                 num_boxes: Union[int, Tuple[int, int]] = (20, 60),
                 box_size: Union[int, Tuple[int, int]] = (32, 32),
                 fill: Union[float, Sequence[float]] = 0,
                 subset_seed: Optional[int] = None) -> None:
        if not isinstance(prob, Real) or isinstance(prob, bool) or \
                not 0 <= prob <= 1:
            raise ValueError(f'prob must be a number in [0, 1], got {prob!r}')
        self.num_boxes = _int_pair(num_boxes, 'num_boxes', 0)
        if self.num_boxes[0] > self.num_boxes[1]:
            raise ValueError(f'num_boxes must be (min, max) with min <= max, '
                             f'got {num_boxes!r}')
        self.box_size = _int_pair(box_size, 'box_size', 1)
        if isinstance(fill, Real):
            fills = [fill]
        else:
            fills = list(fill) if isinstance(fill, Sequence) else []
        if not fills or not all(
                isinstance(v, Real) and not isinstance(v, bool)
                for v in fills):
            raise ValueError('fill must be a number or a sequence of numbers, '
                             f'got {fill!r}')
        if subset_seed is not None and (not isinstance(subset_seed, int)
                                        or isinstance(subset_seed, bool)
                                        or subset_seed < 0):
            raise ValueError('subset_seed must be None or an int >= 0, got '
                             f'{subset_seed!r}')
        self.prob = prob
        self.fill = fill
        self.num_fill = len(fills)
        self.subset_seed = subset_seed

    def in_subset(self, ref_id: Union[int, str]) -> bool:
        """Whether ``ref_id`` belongs to the fixed subset of ``subset_seed``.

        Args:
            ref_id (int | str): The ref (its ``str()`` is hashed).

        Returns:
            bool: True for about a ``prob`` share of the refs.
        """
        key = zlib.crc32(str(ref_id).encode('utf-8'))
        return bool(
            np.random.default_rng([self.subset_seed, key]).random() <
            self.prob)

    def _erase(self, results: dict) -> bool:
        """Decide whether this sample is erased now."""
        if self.subset_seed is None:
            return np.random.rand() < self.prob
        if 'ref_id' not in results:
            raise KeyError(
                f'RandomBoxErase(subset_seed={self.subset_seed}): the sample '
                f'{results.get("img_path")} has no "ref_id"')
        return self.in_subset(results['ref_id'])

    def transform(self, results: dict) -> dict:
        """Paint the boxes with probability ``prob``.

        Args:
            results (dict): The sample, with ``img`` of shape (H, W, C) or
                (H, W).

        Returns:
            dict: ``results`` with the erased image.
        """
        if not self._erase(results):
            return results
        img = results['img'].copy()
        height, width = img.shape[:2]
        channels = img.shape[2] if img.ndim == 3 else 1
        if self.num_fill not in (1, channels):
            raise ValueError(f'fill {self.fill!r} has {self.num_fill} values '
                             f'but the image {results.get("img_path")} has '
                             f'{channels} channels')
        box_h = min(self.box_size[0], height)
        box_w = min(self.box_size[1], width)
        num = np.random.randint(self.num_boxes[0], self.num_boxes[1] + 1)
        tops = np.random.randint(0, height - box_h + 1, size=num)
        lefts = np.random.randint(0, width - box_w + 1, size=num)
        for top, left in zip(tops, lefts):
            img[top:top + box_h, left:left + box_w] = self.fill
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'num_boxes={self.num_boxes}, box_size={self.box_size}, '
                f'fill={self.fill}, subset_seed={self.subset_seed})')
