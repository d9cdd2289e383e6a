"""Read remote-sensing rasters as 8-bit RGB for the model and for people.

Aerial images come as 8-bit PNG / JPEG and as GeoTIFFs of 8, 16 or 32
bits with one, three or more bands. :func:`read_raster` turns any of them
into the 8-bit 3-channel image the model takes and says, in notes for
people, what it did:

.. code-block:: none

    8-bit                 kept as it is
    16-bit, float, ...    each band stretched from its 2nd to its 98th
                          percentile onto 0-255
    1 band                shown as grey (the band three times)
    2 bands               band 1 as grey
    4+ bands              bands 1, 2, 3 as red, green, blue (or ``bands``)
    alpha channel         dropped
    longest side > max    resized (area interpolation) to ``max_side``

PNG, JPEG and the formats OpenCV reads go through OpenCV (16 bits kept,
EXIF orientation applied) after Pillow has checked that the file is a
whole image; TIFFs through ``tifffile`` (+ ``imagecodecs`` for LZW and
other compressions), installed by the ``web`` extra.
"""
import os.path as osp
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError
from ..utils.errors import UserInputError

#: File suffixes read with tifffile.
TIFF_SUFFIXES = ('.tif', '.tiff')
#: Percentiles of each band mapped to 0 and 255 when it is not 8-bit.
STRETCH_PERCENTILES = (2., 98.)
#: Default longest side; larger images are resized to it.
MAX_SIDE = 2048


class RasterImage(NamedTuple):
    """An image ready for the model, and what was done to get it.

    Args:
        image (np.ndarray): BGR, (H, W, 3) uint8 (the channel order of
            ``mmcv.imread`` and of the inference API).
        notes (list[str]): One sentence per change (scaling, bands,
            resizing), for people; empty when the file was used as is.
    """
    image: np.ndarray
    notes: List[str]


def read_raster(path: str,
                bands: Optional[Sequence[int]] = None,
                max_side: Optional[int] = MAX_SIDE) -> RasterImage:
    """Read an image file of any depth and band count as 8-bit BGR.

    Args:
        path (str): PNG, JPEG, TIFF, or another format OpenCV reads.
        bands (Sequence[int], optional): 1-based bands shown as red, green
            and blue (e.g. ``(4, 3, 2)`` for Sentinel-2 true colour).
            Defaults to None (bands 1, 2, 3).
        max_side (int, optional): Longest side kept; larger images are
            resized to it. None keeps every size. Defaults to
            :data:`MAX_SIDE`.

    Returns:
        RasterImage: The BGR image and the notes.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The file is not an image, is truncated, has more than
            three axes, or ``bands`` does not fit it.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image {path!r} does not exist')
    if path.lower().endswith(TIFF_SUFFIXES):
        array, notes = _read_tiff(path), []
    else:
        array, notes = _read_with_opencv(path)
    rgb, more = to_display_rgb(array, bands)
    notes += more
    height, width = rgb.shape[:2]
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        notes.append(f'resized from {width} x {height} to {size[0]} x '
                     f'{size[1]} pixels (longest side {max_side}); the mask '
                     'has this size')
    return RasterImage(np.ascontiguousarray(rgb[..., ::-1]), notes)


def _read_with_opencv(path: str) -> Tuple[np.ndarray, List[str]]:
    """Check a file with Pillow, decode it with OpenCV.

    Returns:
        tuple[np.ndarray, list[str]]: (H, W) or (H, W, 3) RGB, any depth;
        a note if an alpha channel was dropped.
    """
    try:
        with Image.open(path) as image:
            mode = image.mode
            image.load()  # decodes all: a truncated file fails here
    except UnidentifiedImageError as err:
        raise UserInputError(
            f'Image {osp.basename(path)!r} cannot be read (not an image, or '
            'a format Pillow does not know)') from err
    except (OSError, SyntaxError, Image.DecompressionBombError) as err:
        raise UserInputError(f'Image {osp.basename(path)!r} cannot be read '
                             f'(truncated or corrupt: {err})') from err
    array = cv2.imread(path, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if array is None:
        raise UserInputError(f'Image {osp.basename(path)!r} cannot be read '
                             f'({mode} image that OpenCV does not decode)')
    notes = ['alpha channel ignored'] if 'A' in mode else []
    return (array[..., ::-1] if array.ndim == 3 else array), notes


def _read_tiff(path: str) -> np.ndarray:
    """Read the first image of a TIFF with tifffile.

    Returns:
        np.ndarray: (H, W) or (H, W, bands), any depth.
    """
    import tifffile  # the web extra installs it
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            array, axes = series.asarray(), series.axes
    except (tifffile.TiffFileError, ValueError, KeyError, IndexError,
            OSError) as err:
        raise UserInputError(
            f'Image {osp.basename(path)!r} cannot be read as a TIFF '
            f'(truncated, corrupt or an unknown compression: {err})') from err
    for axis in reversed(range(array.ndim)):  # length-1 axes but Y, X
        if array.shape[axis] == 1 and axes[axis] not in 'YX':
            array = array.squeeze(axis)
            axes = axes[:axis] + axes[axis + 1:]
    bands = axes.replace('Y', '').replace('X', '')
    if len(axes) - len(bands) != 2 or bands not in ('', 'S', 'C'):
        raise UserInputError(
            f'Image {osp.basename(path)!r} has axes {axes} {array.shape} (S, '
            'C: bands; I, Q, Z, T: pages): give one image of (Y, X) or (Y, X, '
            'bands)')
    if axes.startswith(bands + 'Y') and bands:  # planar: bands first
        array = np.moveaxis(array, 0, -1)
    return array


def to_display_rgb(
        array: np.ndarray,
        bands: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, List[str]]:
    """Bands in red-green-blue order, any depth, to 8-bit RGB.

    Args:
        array (np.ndarray): (H, W) or (H, W, C), bands in file order (RGB
            for colour images), any numeric dtype; NaN counts as the
            band's low end.
        bands (Sequence[int], optional): 1-based bands taken as red, green
            and blue. Defaults to None (see the module docstring).

    Returns:
        tuple[np.ndarray, list[str]]: RGB (H, W, 3) uint8 and the notes.
    """
    cube = array[..., None] if array.ndim == 2 else array
    count = cube.shape[2]
    notes = []
    if bands is not None:
        if len(bands) != 3 or not all(1 <= b <= count for b in bands):
            raise UserInputError(f'bands {list(bands)} do not fit an image of '
                                 f'{count} band(s): give three of 1..{count}')
        picked = list(bands)
        notes.append(f'bands {picked[0]}, {picked[1]}, {picked[2]} shown as '
                     'red, green, blue')
    elif count >= 4:
        picked = [1, 2, 3]
        unused = 'band 4' if count == 4 else f'bands 4-{count}'
        notes.append(f'{count} bands: bands 1, 2, 3 shown as red, green, '
                     f'blue ({unused} not used)')
    elif count == 3:
        picked = [1, 2, 3]
    else:
        picked = [1, 1, 1]
        notes.append('one band, shown as grey' if count == 1 else
                     'two bands: band 1 shown as grey (band 2 not used)')
    cube = cube[..., [b - 1 for b in picked]]
    if cube.dtype == np.uint8:
        return np.ascontiguousarray(cube), notes
    low, high = STRETCH_PERCENTILES
    ranges, out = [], np.empty(cube.shape, np.uint8)
    for i in range(3):
        band = cube[..., i].astype(np.float64)
        finite = band[np.isfinite(band)]
        lo, hi = np.percentile(finite, (low, high)) if finite.size \
            else (0., 0.)
        scaled = (np.nan_to_num(band, nan=lo) - lo) / max(hi - lo, 1e-12)
        out[..., i] = np.round(np.clip(scaled, 0, 1) * 255)
        ranges.append(f'{lo:.4g}-{hi:.4g}')
    notes.append(f'{cube.dtype} values stretched to 8 bits, each band from '
                 f'percentile {low:g} to {high:g} onto 0-255 '
                 f'({", ".join(dict.fromkeys(ranges))})')
    return out, notes
