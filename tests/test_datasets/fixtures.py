"""Tiny RRSIS-D and RefSegRS trees in their published on-disk formats.

RRSIS-D (:func:`make_rrsisd`): 4 .jpg images of different sizes, 6 refs over
the three splits with 1-3 sentences each, and every segmentation encoding:
polygons (one and two parts), an uncompressed RLE dict, the released
RRSIS-D's list holding one compressed RLE dict (str counts), a plain
compressed RLE dict, and an all-zero (empty) mask. :data:`RRSISD_MASKS`
holds the expected mask of each ann_id, drawn here with numpy slicing.

RefSegRS (:func:`make_refsegrs`): 4 .tif images and masks whose background
is :data:`REFSEGRS_FAINT` (non-zero but below the threshold 50) and whose
object is 60 or 255; phrase files with a repeated id, sentences with
spaces and a blank line.
"""
import copy
import json
import os
import os.path as osp
import pickle
from typing import Dict, List, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

#: image_id -> (file_name, height, width)
RRSISD_IMAGES = {
    1: ('00001.jpg', 40, 48),
    2: ('00002.jpg', 32, 32),
    3: ('00003.jpg', 48, 40),
    4: ('00004.jpg', 36, 36),
}


def box_mask(shape: Tuple[int, int], *boxes: Tuple[int, int, int,
                                                   int]) -> np.ndarray:
    """A 0/1 uint8 mask with ones in each ``(top, bottom, left, right)``."""
    mask = np.zeros(shape, np.uint8)
    for top, bottom, left, right in boxes:
        mask[top:bottom, left:right] = 1
    return mask


def _image_shape(image_id: int) -> Tuple[int, int]:
    return RRSISD_IMAGES[image_id][1:]


#: ann_id -> (image_id, expected mask). A polygon rectangle
#: ``[x0, y0, x1, y0, x1, y1, x0, y1]`` covers rows y0..y1-1, cols x0..x1-1.
RRSISD_MASKS = {
    10: (1, box_mask(_image_shape(1), (4, 14, 4, 20))),
    11: (2, box_mask(_image_shape(2), (5, 16, 8, 21))),
    12: (3, box_mask(_image_shape(3), (10, 30, 6, 18))),
    13: (4, box_mask(_image_shape(4), (0, 36, 30, 36))),
    14: (1, box_mask(_image_shape(1))),
    15: (3, box_mask(_image_shape(3), (2, 10, 2, 12), (30, 40, 20, 36))),
}


def compressed_rle(mask: np.ndarray) -> dict:
    """Compressed RLE with str counts, as stored in JSON."""
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=list(rle['size']), counts=rle['counts'].decode())


def uncompressed_rle(mask: np.ndarray) -> dict:
    """Uncompressed RLE: column-major run lengths, starting with zeros."""
    flat = mask.flatten(order='F')
    bounds = np.concatenate([[0],
                             np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    runs = np.diff(bounds).tolist()
    return dict(size=list(mask.shape), counts=[0] + runs if flat[0] else runs)


#: ann_id -> segmentation as written to instances.json
RRSISD_SEGMENTATIONS = {
    10: [[4, 4, 20, 4, 20, 14, 4, 14]],
    11: uncompressed_rle(RRSISD_MASKS[11][1]),
    12: [compressed_rle(RRSISD_MASKS[12][1])],
    13: compressed_rle(RRSISD_MASKS[13][1]),
    14: uncompressed_rle(RRSISD_MASKS[14][1]),
    15: [[2, 2, 12, 2, 12, 10, 2, 10], [20, 30, 36, 30, 36, 40, 20, 40]],
}
#: ann_id -> category name
RRSISD_CATEGORIES = {
    10: 'airplane',
    11: 'vehicle',
    12: 'airplane',
    13: 'vehicle',
    14: 'airplane',
    15: 'vehicle'
}

#: (ref_id, ann_id, split, [(sent_id, sentence), ...])
RRSISD_REFS: List[Tuple[int, int, str, List[Tuple[int, str]]]] = [
    (1, 10, 'train', [(100, 'the airplane on the left'),
                      (101, 'left airplane')]),
    (2, 11, 'train', [(102, 'a vehicle'), (103, 'the small vehicle'),
                      (104, 'vehicle at the top')]),
    (3, 12, 'val', [(105, 'the long airplane'), (106, 'airplane')]),
    (4, 13, 'test', [(107, 'vehicle on the right edge')]),
    (5, 14, 'test', [(108, 'nothing here'), (109, 'an empty target')]),
    (6, 15, 'test', [(110, 'two vehicles')]),
]


def rrsisd_instances() -> dict:
    """A fresh ``instances.json`` content."""
    names = sorted(set(RRSISD_CATEGORIES.values()))
    return dict(
        images=[
            dict(id=i, file_name=name, height=h, width=w)
            for i, (name, h, w) in RRSISD_IMAGES.items()
        ],
        annotations=[
            dict(
                id=ann_id,
                image_id=RRSISD_MASKS[ann_id][0],
                category_id=names.index(RRSISD_CATEGORIES[ann_id]) + 1,
                segmentation=copy.deepcopy(segmentation))
            for ann_id, segmentation in RRSISD_SEGMENTATIONS.items()
        ],
        categories=[dict(id=i + 1, name=name) for i, name in enumerate(names)])


def rrsisd_refs() -> List[dict]:
    """A fresh ``refs(unc).p`` content: refCOCO-style refs."""
    refs = []
    for ref_id, ann_id, split, sentences in RRSISD_REFS:
        image_id = RRSISD_MASKS[ann_id][0]
        refs.append(
            dict(
                ref_id=ref_id,
                ann_id=ann_id,
                image_id=image_id,
                split=split,
                file_name=f'{image_id:05d}_{ref_id}.jpg',
                category_id=1,
                sent_ids=[sent_id for sent_id, _ in sentences],
                sentences=[
                    dict(
                        sent_id=sent_id,
                        sent=sent,
                        raw=sent.capitalize(),
                        tokens=sent.split()) for sent_id, sent in sentences
                ],
                # a set pickles as a global ('__builtin__ set' in protocol 2)
                tags={'rrsisd'}))
    return refs


def write_refs(root: str, refs: object) -> None:
    """Write ``rrsisd/refs(unc).p`` with protocol 2 (as the refer API)."""
    with open(osp.join(root, 'rrsisd', 'refs(unc).p'), 'wb') as file:
        pickle.dump(refs, file, protocol=2)


def write_instances(root: str, instances: dict) -> None:
    """Write ``rrsisd/instances.json``."""
    with open(osp.join(root, 'rrsisd', 'instances.json'), 'w') as file:
        json.dump(instances, file)


def write_image(path: str, height: int, width: int, seed: int = 0) -> None:
    """Write a random colour image; the format follows the suffix."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), np.uint8)
    assert cv2.imwrite(path, pixels), path


def rrsisd_image_path(root: str, image_id: int) -> str:
    """Where image ``image_id`` of :func:`make_rrsisd` lies."""
    return osp.join(root, 'images', 'rrsisd', 'JPEGImages',
                    RRSISD_IMAGES[image_id][0])


def make_rrsisd(root: str) -> str:
    """Create the RRSIS-D tree under ``root``.

    Args:
        root (str): A folder that does not exist yet.

    Returns:
        str: ``root``.
    """
    os.makedirs(osp.join(root, 'images', 'rrsisd', 'JPEGImages'))
    os.makedirs(osp.join(root, 'rrsisd'))
    for image_id, (_, height, width) in RRSISD_IMAGES.items():
        write_image(rrsisd_image_path(root, image_id), height, width, image_id)
    write_refs(root, rrsisd_refs())
    write_instances(root, rrsisd_instances())
    return root


#: RefSegRS image id -> (height, width, mask value of the object, its box)
REFSEGRS_MASKS: Dict[str, Tuple[int, int, int, Tuple[int, int, int, int]]] = {
    '0': (24, 24, 255, (2, 10, 3, 20)),
    '1': (24, 24, 60, (0, 24, 0, 5)),
    '2': (20, 28, 255, (5, 6, 5, 6)),
    '3': (24, 24, 255, (12, 24, 0, 24)),
}
#: Mask background: non-zero but below the default threshold 50.
REFSEGRS_FAINT = 40
REFSEGRS_PHRASES = {
    'train': [
        '0 road on the left side', '1 the building', '',
        '0   vehicle near the road  '
    ],
    'val': ['2 a small pond'],
    'test': ['3 the parking lot at the top', '1 building'],
}


def refsegrs_mask(image_id: str) -> np.ndarray:
    """The expected 0/1 mask of ``image_id`` (threshold 50)."""
    height, width, _, box = REFSEGRS_MASKS[image_id]
    return box_mask((height, width), box)


def make_refsegrs(root: str) -> str:
    """Create the RefSegRS tree under ``root``.

    Args:
        root (str): A folder that does not exist yet.

    Returns:
        str: ``root``.
    """
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'masks'))
    for image_id, (height, width, value, _) in REFSEGRS_MASKS.items():
        write_image(
            osp.join(root, 'images', f'{image_id}.tif'), height, width,
            int(image_id))
        mask = np.where(refsegrs_mask(image_id) == 1, value, REFSEGRS_FAINT)
        assert cv2.imwrite(
            osp.join(root, 'masks', f'{image_id}.tif'), mask.astype(np.uint8))
    for split, lines in REFSEGRS_PHRASES.items():
        with open(osp.join(root, f'output_phrase_{split}.txt'), 'w') as file:
            file.write('\n'.join(lines) + '\n')
    return root
