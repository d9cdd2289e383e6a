"""Random flip that keeps the referring sentence true to the image."""
import re
from typing import Dict, Pattern, Tuple

import mmcv
from mmcv.transforms import RandomFlip

from mmseg.registry import TRANSFORMS

WordPairs = Tuple[Tuple[str, str], ...]
#: Words swapped by a horizontal flip (each pair both ways).
HORIZONTAL_SWAPS: WordPairs = (('left', 'right'), ('leftmost', 'rightmost'))
#: Words swapped by a vertical flip (each pair both ways).
VERTICAL_SWAPS: WordPairs = (('top', 'bottom'), ('upper', 'lower'),
                             ('topmost', 'bottommost'),
                             ('uppermost', 'lowermost'), ('above', 'below'))
DIRECTION_SWAPS: Dict[str, WordPairs] = dict(
    horizontal=HORIZONTAL_SWAPS,
    vertical=VERTICAL_SWAPS,
    diagonal=HORIZONTAL_SWAPS + VERTICAL_SWAPS)


def _compile(pairs: WordPairs) -> Tuple[Pattern, Dict[str, str]]:
    """A whole-word, case-insensitive pattern and its lower-case swaps."""
    table = {a: b for pair in pairs for a, b in (pair, pair[::-1])}
    words = '|'.join(sorted(table, key=len, reverse=True))
    return re.compile(rf'\b({words})\b', re.IGNORECASE), table


SWAP_PATTERNS = {
    direction: _compile(pairs)
    for direction, pairs in DIRECTION_SWAPS.items()
}


def _match_case(word: str, template: str) -> str:
    """Spell ``word`` in the case of ``template`` (UPPER, Title, lower)."""
    if template.isupper():
        return word.upper()
    if template[0].isupper():
        return word.capitalize()
    return word


def flip_text(text: str, direction: str) -> str:
    """Swap the direction words of a sentence for an image flip.

    Whole words only ('cleft', 'bright', 'toppings' stay), case preserved
    ('Left' -> 'Right', 'LEFT' -> 'RIGHT'); hyphenated words count as
    separate words ('left-hand' -> 'right-hand'). All swaps of one direction
    happen in one pass, so 'upper left' -> 'lower right' for 'diagonal'.

    Args:
        text (str): The sentence.
        direction (str): 'horizontal', 'vertical' or 'diagonal'.

    Returns:
        str: The sentence describing the flipped image.
    """
    pattern, table = SWAP_PATTERNS[direction]
    return pattern.sub(
        lambda m: _match_case(table[m.group(0).lower()], m.group(0)), text)


@TRANSFORMS.register_module()
class ReferringRandomFlip(RandomFlip):
    """:class:`mmcv.transforms.RandomFlip` that also flips the sentence.

    Image and ``gt_seg_map`` are flipped exactly as by ``RandomFlip``, the
    union encoder's image ``union_img`` (:class:`UnionImageResize`) with them;
    when a flip happens, ``results['text']`` is rewritten by :func:`flip_text`
    (horizontal: left/right, leftmost/rightmost; vertical: top/bottom,
    upper/lower, topmost/bottommost, uppermost/lowermost, above/below;
    diagonal: both).
    Whether the sentence changed is not recorded separately: ``flip`` and
    ``flip_direction`` say what happened, and the original sentence is not
    kept.

    Required Keys:

    - img
    - gt_seg_map (optional)
    - union_img (optional)
    - text (optional)

    Modified Keys:

    - img, gt_seg_map, union_img, text

    Added Keys:

    - flip, flip_direction, swap_seg_labels (optional)

    Args:
        prob (float | list[float], optional): Flip probability, see
            ``RandomFlip``. Defaults to None.
        direction (str | list[str]): 'horizontal', 'vertical', 'diagonal'
            or a list of them. Defaults to 'horizontal'.
        swap_seg_labels (list, optional): Label pairs swapped in the GT, see
            ``RandomFlip``. Defaults to None.
    """

    def _flip(self, results: dict) -> None:
        """Flip image and GT (``RandomFlip``), union image and sentence.

        Args:
            results (dict): The sample; ``flip_direction`` is set.
        """
        super()._flip(results)
        if 'union_img' in results:
            results['union_img'] = mmcv.imflip(
                results['union_img'], direction=results['flip_direction'])
        if 'text' in results:
            results['text'] = flip_text(results['text'],
                                        results['flip_direction'])
