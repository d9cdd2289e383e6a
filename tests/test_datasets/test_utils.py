"""Restricted unpickler and COCO segmentation helpers."""
import collections
import pickle

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from rs2sam2_mmseg.datasets.utils import (check_coco_segmentation,
                                          decode_coco_segmentation,
                                          load_restricted_pickle,
                                          rle_string_to_counts)
from .fixtures import box_mask, compressed_rle, uncompressed_rle


@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_restricted_pickle_loads_builtins(tmp_path, protocol):
    data = [
        dict(
            a={1, 2},
            b=frozenset('x'),
            c=1 + 2j,
            d=(1.5, None, True),
            e='réservoir')
    ]
    if protocol > 2:  # protocol 2 pickles bytes through _codecs.encode
        data[0]['f'] = b'raw'
    path = tmp_path / 'ok.p'
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    assert load_restricted_pickle(str(path)) == data


def test_restricted_pickle_reads_python2_builtin_module(tmp_path):
    # Python 2 protocol 2 for set([1]): GLOBAL '__builtin__ set'
    payload = b'\x80\x02c__builtin__\nset\nq\x00]q\x01K\x01a\x85q\x02Rq\x03.'
    path = tmp_path / 'py2.p'
    path.write_bytes(payload)
    assert load_restricted_pickle(str(path)) == {1}


@pytest.mark.parametrize('obj,refused', [
    (collections.OrderedDict(a=1), 'collections.OrderedDict'),
    (np.zeros(2), 'numpy'),
    (getattr, '__builtin__.getattr'),
])
def test_restricted_pickle_refuses_other_globals(tmp_path, obj, refused):
    path = tmp_path / 'bad.p'
    path.write_bytes(pickle.dumps([obj], protocol=2))
    with pytest.raises(
            pickle.UnpicklingError,
            match=rf'bad.p: refusing to load global {refused}'):
        load_restricted_pickle(str(path))


def test_rle_string_counts_match_pycocotools():
    rng = np.random.default_rng(0)
    for _ in range(50):
        height, width = (int(v) for v in rng.integers(1, 30, 2))
        mask = (rng.random((height, width)) < rng.random()).astype(np.uint8)
        rle = compressed_rle(mask)
        assert rle_string_to_counts(
            rle['counts']) == uncompressed_rle(mask)['counts']
        np.testing.assert_array_equal(
            decode_coco_segmentation(rle, height, width), mask)


def test_decode_merges_parts_and_matches_pycocotools_area():
    polygons = [[1, 1, 5, 1, 5, 4, 1, 4], [6, 5, 9, 5, 9, 9, 6, 9]]
    mask = decode_coco_segmentation(polygons, 10, 12)
    expected = box_mask((10, 12), (1, 4, 1, 5), (5, 9, 6, 9))
    np.testing.assert_array_equal(mask, expected)
    rles = mask_utils.frPyObjects(polygons, 10, 12)
    assert mask.sum() == mask_utils.area(mask_utils.merge(rles))
    # a list mixing an uncompressed and a compressed RLE
    parts = [
        uncompressed_rle(box_mask((10, 12), (0, 2, 0, 2))),
        compressed_rle(box_mask((10, 12), (8, 10, 10, 12)))
    ]
    assert decode_coco_segmentation(parts, 10, 12).sum() == 8


@pytest.mark.parametrize('segmentation,match', [
    ([], 'non-empty list'),
    ('abc', 'non-empty list'),
    ([[1, 2, 3, 4, 5]], 'a polygon'),
    ([[1, 2, 3, 4, 5, float('nan')]], 'a polygon'),
    ([[1, 2, 3, 4, 5, True]], 'a polygon'),
    ([dict(size=[10, 12], counts=[120]), [1, 2, 3, 4, 5, 6]], 'a polygon'),
    (dict(size=[10, 12]), 'with "size" and "counts"'),
    (dict(size=[9, 12], counts=[108]), r'RLE size \[9, 12\] differs'),
    (dict(size=10, counts=[120]), 'RLE size 10 differs'),
    (dict(size=[10, 12], counts=[100, 10]), 'adding up to 110'),
    (dict(size=[10, 12], counts=[130, -10]), 'non-negative'),
    (dict(size=[10, 12], counts=[1.5]), 'list of ints'),
    (dict(size=[10, 12], counts='zz'), "invalid character 'z'"),
    (dict(size=[10, 12], counts='P13'), 'adding up to 35'),
    (dict(size=[10, 12], counts='`'), 'end inside a run'),
])
def test_malformed_segmentation(segmentation, match):
    with pytest.raises(ValueError, match=match):
        decode_coco_segmentation(segmentation, 10, 12)


def test_structure_check_leaves_strings_to_decoding():
    check_coco_segmentation(dict(size=[10, 12], counts='P13'), 10, 12)
    with pytest.raises(ValueError, match='adding up to 35'):
        check_coco_segmentation(
            dict(size=[10, 12], counts='P13'), 10, 12, check_string=True)
