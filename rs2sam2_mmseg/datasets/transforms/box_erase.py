"""Random black boxes painted over the image (RRSIS-D augmentation)."""
from numbers import Real
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ...utils.errors import UserInputError


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
        raise UserInputError(
            f'{name} must be an int or a pair of ints, each >= '
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

    Required Keys:

    - img

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
    """

    def __init__(self,
                 prob: float = 0.2,
                 num_boxes: Union[int, Tuple[int, int]] = (20, 60),
                 box_size: Union[int, Tuple[int, int]] = (32, 32),
                 fill: Union[float, Sequence[float]] = 0) -> None:
        if not isinstance(prob, Real) or isinstance(prob, bool) or \
                not 0 <= prob <= 1:
            raise UserInputError(
                f'prob must be a number in [0, 1], got {prob!r}')
        self.num_boxes = _int_pair(num_boxes, 'num_boxes', 0)
        if self.num_boxes[0] > self.num_boxes[1]:
            raise UserInputError(
                f'num_boxes must be (min, max) with min <= max, '
                f'got {num_boxes!r}')
        self.box_size = _int_pair(box_size, 'box_size', 1)
        if isinstance(fill, Real):
            fills = [fill]
        else:
            fills = list(fill) if isinstance(fill, Sequence) else []
        if not fills or not all(
                isinstance(v, Real) and not isinstance(v, bool)
                for v in fills):
            raise UserInputError(
                'fill must be a number or a sequence of numbers, '
                f'got {fill!r}')
        self.prob = prob
        self.fill = fill
        self.num_fill = len(fills)

    def transform(self, results: dict) -> dict:
        """Paint the boxes with probability ``prob``.

        Args:
            results (dict): The sample, with ``img`` of shape (H, W, C) or
                (H, W).

        Returns:
            dict: ``results`` with the erased image.
        """
        if np.random.rand() >= self.prob:
            return results
        img = results['img'].copy()
        height, width = img.shape[:2]
        channels = img.shape[2] if img.ndim == 3 else 1
        if self.num_fill not in (1, channels):
            raise UserInputError(
                f'fill {self.fill!r} has {self.num_fill} values '
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
                f'fill={self.fill})')
