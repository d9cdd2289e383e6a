"""Helpers shared by the referring datasets and their transforms.

* :func:`load_restricted_pickle`: reads a pickle (RRSIS-D ``refs(unc).p`` is
  one, downloaded from the internet) with :class:`RestrictedUnpickler`, which
  admits builtin containers and scalars only, never code.
* :func:`check_coco_segmentation` / :func:`decode_coco_segmentation`: the
  three COCO encodings (polygons, RLE dict with list or string counts, and
  the released RRSIS-D's list of RLE dicts) validated and decoded with
  ``pycocotools``. pycocotools does not validate: an RLE whose run lengths
  do not add up to ``height * width`` decodes to garbage or crashes, so the
  run lengths are checked here first.
"""
import builtins
import io
import math
import pickle
from numbers import Real
from typing import Any, List, Optional, Sequence, Tuple, Union

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import Resize
from pycocotools import mask as mask_utils

from ..utils.errors import UserInputError

#: The builtins a referring-annotation pickle may reference.
SAFE_BUILTINS = frozenset(('dict', 'list', 'tuple', 'set', 'frozenset', 'str',
                           'bytes', 'int', 'float', 'bool', 'complex'))
#: ``builtins`` and its Python 2 name (py2 pickles of sets use it).
BUILTIN_MODULES = frozenset(('builtins', '__builtin__'))

Segmentation = Union[List[List[float]], dict, List[dict]]


class RefusedGlobalError(pickle.UnpicklingError):
    """A pickle names a global :class:`RestrictedUnpickler` refuses."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only admits builtin containers and scalars.

    Plain ``pickle.load`` executes whatever callable the file names; a
    tampered annotation file could run arbitrary code. Here any global other
    than the types in :data:`SAFE_BUILTINS` (under ``builtins`` or Python 2's
    ``__builtin__``) raises :class:`RefusedGlobalError`. Containers and
    scalars pickled with opcodes (dict, list, tuple, str, int, float, bool,
    None) need no global at all. Note that protocols < 3 pickle ``bytes``
    through ``_codecs.encode``, which is refused like any other global.

    Args:
        file (io.BufferedIOBase): The binary stream to read.
        filename (str): Name reported in errors.
    """

    def __init__(self, file: io.BufferedIOBase, filename: str) -> None:
        # UTF-8 decodes the byte strings of Python 2 pickles; ASCII (the
        # default) would refuse non-English sentences.
        super().__init__(file, encoding='utf-8')
        self.filename = filename

    def find_class(self, module: str, name: str) -> type:
        """Return an allowed builtin type, refuse everything else.

        Args:
            module (str): Module of the global in the pickle.
            name (str): Name of the global.

        Returns:
            type: The builtin type.
        """
        if module in BUILTIN_MODULES and name in SAFE_BUILTINS:
            return getattr(builtins, name)
        raise RefusedGlobalError(
            f'{self.filename}: refusing to load global {module}.{name}; only '
            f'builtin containers and scalars {sorted(SAFE_BUILTINS)} are '
            'allowed in an annotation pickle')


def load_restricted_pickle(filename: str,
                           backend_args: Optional[dict] = None) -> Any:
    """Load a pickle file with :class:`RestrictedUnpickler`.

    Args:
        filename (str): Path or URI of the pickle.
        backend_args (dict, optional): Arguments of the ``mmengine.fileio``
            backend. Defaults to None.

    Returns:
        Any: The unpickled object (builtin containers and scalars only).
    """
    data = fileio.get(filename, backend_args=backend_args)
    try:
        return RestrictedUnpickler(io.BytesIO(data), filename).load()
    except RefusedGlobalError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, IndexError,
            KeyError) as err:
        reason = 'it ends too early' if isinstance(err, EOFError) \
            else f'{type(err).__name__}: {err}'
        raise UserInputError(
            f'{filename} is not a complete pickle ({reason}); regenerate '
            'or download it again') from err


def rle_string_to_counts(counts: Union[str, bytes]) -> List[int]:
    """Decode the run lengths of a compressed COCO RLE string.

    The inverse of ``rleToString`` in the COCO API (``maskApi.c``): each run
    is a signed base-32 varint of characters ``'0'..'o'``, and from the third
    run on it is stored as the difference to the run two places back.

    Args:
        counts (str | bytes): The compressed counts.

    Returns:
        list[int]: The run lengths.
    """
    if isinstance(counts, bytes):
        counts = counts.decode('ascii', errors='replace')
    runs: List[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(counts):
                raise ValueError('compressed RLE counts end inside a run')
            code = ord(counts[pos]) - 48
            if not 0 <= code < 64:
                raise ValueError('compressed RLE counts hold the invalid '
                                 f'character {counts[pos]!r}')
            value |= (code & 0x1f) << shift
            more = bool(code & 0x20)
            pos += 1
            shift += 5
            if not more and code & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def _check_rle(rle: Any, height: int, width: int, check_string: bool) -> None:
    """Check one RLE dict; raise ValueError describing what is wrong."""
    if not isinstance(rle, dict) or not {'size', 'counts'} <= set(rle):
        raise ValueError(f'an RLE must be a dict with "size" and "counts", '
                         f'got {_brief(rle)}')
    size = rle['size']
    if not isinstance(size, (list, tuple)) or list(size) != [height, width]:
        raise ValueError(
            f'RLE size {_brief(size)} differs from the image size '
            f'[{height}, {width}] (height, width)')
    counts = rle['counts']
    if isinstance(counts, (str, bytes)):
        if not check_string:
            return
        runs = rle_string_to_counts(counts)
    elif isinstance(counts, (list, tuple)) and all(
            isinstance(c, int) and not isinstance(c, bool) for c in counts):
        runs = list(counts)
    else:
        raise ValueError('RLE counts must be a str/bytes (compressed) or a '
                         f'list of ints (uncompressed), got {_brief(counts)}')
    if any(run < 0 for run in runs) or sum(runs) != height * width:
        raise ValueError(
            f'RLE run lengths must be non-negative and add up to height * '
            f'width = {height * width}, got {len(runs)} runs adding up to '
            f'{sum(runs)}')


def _check_polygon(polygon: Any) -> None:
    """Check one polygon ``[x1, y1, x2, y2, ...]``."""
    if (not isinstance(polygon, (list, tuple)) or len(polygon) < 6
            or len(polygon) % 2 or not all(
                isinstance(v, Real) and not isinstance(v, bool)
                and math.isfinite(v) for v in polygon)):
        raise ValueError('a polygon must be a flat list of at least 3 '
                         f'finite (x, y) pairs, got {_brief(polygon)}')


def _brief(value: Any, limit: int = 80) -> str:
    """A short repr of ``value`` for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def check_coco_segmentation(segmentation: Segmentation,
                            height: int,
                            width: int,
                            check_string: bool = False) -> None:
    """Check the structure of a COCO segmentation without decoding it.

    Accepted: a list of polygons ``[[x1, y1, ...], ...]``; one RLE dict
    ``{'size': [h, w], 'counts': ...}`` with a list of ints (uncompressed) or
    a str/bytes (compressed); a non-empty list of such RLE dicts (the
    released RRSIS-D holds one). RLE sizes must equal ``(height, width)``
    and run lengths must add up to ``height * width``.

    Args:
        segmentation (list | dict): The COCO ``segmentation`` field.
        height (int): Image height.
        width (int): Image width.
        check_string (bool): Also decode compressed string counts to check
            their run lengths (costs a Python loop over the string).
            Defaults to False.

    Raises:
        ValueError: Describing the first problem found.
    """
    if isinstance(segmentation, dict):
        _check_rle(segmentation, height, width, check_string)
        return
    if not isinstance(segmentation, (list, tuple)) or not segmentation:
        raise ValueError('segmentation must be a non-empty list of polygons '
                         'or RLE dicts, or one RLE dict, got '
                         f'{_brief(segmentation)}')
    if all(isinstance(part, dict) for part in segmentation):
        for part in segmentation:
            _check_rle(part, height, width, check_string)
    else:
        for part in segmentation:
            _check_polygon(part)


def polygons_outside(segmentation: Segmentation, height: int,
                     width: int) -> bool:
    """Whether every polygon of a checked segmentation lies outside the
    image (its mask decodes empty); False for RLEs.

    Args:
        segmentation (list | dict): A COCO segmentation that passed
            :func:`check_coco_segmentation`.
        height (int): Image height.
        width (int): Image width.

    Returns:
        bool: True when no polygon's bounding box meets the image.
    """
    if isinstance(segmentation, dict) or isinstance(segmentation[0], dict):
        return False
    return all(
        max(p[0::2]) <= 0 or min(p[0::2]) >= width or max(p[1::2]) <= 0
        or min(p[1::2]) >= height for p in segmentation)


def resize_to_nothing(pipeline: Any,
                      shape: Tuple[int, int]) -> Optional[Sequence[int]]:
    """The scale of a keep-ratio ``Resize`` of a pipeline that makes a side
    of an image of ``shape`` 0 px (OpenCV then fails naming no file).

    Args:
        pipeline (Compose): A pipeline; its steps are looked at, and the
            steps of every branch of a ``TestTimeAug`` in it.
        shape (tuple[int, int]): The image's (height, width).

    Returns:
        Sequence[int], optional: That ``Resize``'s scale, or None.
    """
    for step in getattr(pipeline, 'transforms', []):
        if isinstance(step, Resize) and step.keep_ratio and step.scale:
            if min(mmcv.rescale_size(shape[::-1], step.scale)) == 0:
                return step.scale
        for branch in getattr(step, 'subroutines', []):  # TestTimeAug
            scale = resize_to_nothing(branch, shape)
            if scale is not None:
                return scale
    return None


def decode_coco_segmentation(segmentation: Segmentation, height: int,
                             width: int) -> np.ndarray:
    """Decode a COCO segmentation into one binary mask.

    Every encoding accepted by :func:`check_coco_segmentation` (which is run
    first, string counts included); several parts (polygons or RLEs) are
    merged (union).

    Args:
        segmentation (list | dict): The COCO ``segmentation`` field.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: The mask, uint8 0/1 of shape (height, width).
    """
    check_coco_segmentation(segmentation, height, width, check_string=True)
    parts: Sequence = ([segmentation]
                       if isinstance(segmentation, dict) else segmentation)
    if isinstance(parts[0], dict):
        # uncompressed counts (lists) are compressed; strings decode as-is
        rles = [
            dict(rle) if isinstance(rle['counts'],
                                    (str, bytes)) else mask_utils.frPyObjects(
                                        rle, height, width) for rle in parts
        ]
    else:
        rles = mask_utils.frPyObjects([list(p) for p in parts], height, width)
    rle = mask_utils.merge(rles) if len(rles) > 1 else rles[0]
    return mask_utils.decode(rle).astype(np.uint8)
