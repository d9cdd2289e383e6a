"""LoadReferringAnnotations: COCO segmentations and mask files."""
import os.path as osp

import cv2
import numpy as np
import pytest

from mmseg.registry import TRANSFORMS
from rs2sam2_mmseg.datasets import LoadReferringAnnotations
from rs2sam2_mmseg.utils import UserInputError
from ..fixtures import (RRSISD_MASKS, RRSISD_SEGMENTATIONS, box_mask,
                        compressed_rle)


@pytest.mark.parametrize('ann_id', sorted(RRSISD_SEGMENTATIONS))
def test_decodes_every_coco_encoding(ann_id):
    expected = RRSISD_MASKS[ann_id][1]
    results = dict(
        segmentation=RRSISD_SEGMENTATIONS[ann_id],
        height=expected.shape[0],
        width=expected.shape[1],
        seg_fields=[])
    results = LoadReferringAnnotations()(results)
    np.testing.assert_array_equal(results['gt_seg_map'], expected)
    assert results['gt_seg_map'].dtype == np.uint8
    assert results['seg_fields'] == ['gt_seg_map']


def test_empty_mask_is_kept():
    results = LoadReferringAnnotations()(
        dict(
            segmentation=compressed_rle(np.zeros((6, 7), np.uint8)),
            height=6,
            width=7))
    assert results['gt_seg_map'].shape == (6, 7)
    assert not results['gt_seg_map'].any()
    assert results['seg_fields'] == ['gt_seg_map']


def test_reads_and_thresholds_mask_file(tmp_path):
    path = str(tmp_path / 'mask.png')
    mask = np.array([[0, 10, 50], [51, 200, 255]], np.uint8)
    cv2.imwrite(path, mask)
    transform = TRANSFORMS.build(dict(type='LoadReferringAnnotations'))
    results = transform(dict(seg_map_path=path, mask_threshold=50))
    np.testing.assert_array_equal(results['gt_seg_map'],
                                  [[0, 0, 0], [1, 1, 1]])
    # without a threshold any non-zero pixel is foreground
    results = transform(dict(seg_map_path=path))
    np.testing.assert_array_equal(results['gt_seg_map'],
                                  [[0, 1, 1], [1, 1, 1]])


def test_mask_must_match_original_image_size():
    transform = LoadReferringAnnotations()
    results = dict(
        img_path='a.jpg',
        sent_id=3,
        ref_id=1,
        segmentation=[[0, 0, 4, 0, 4, 4]],
        height=8,
        width=6,
        img_shape=(16, 12),  # resized: the original size counts
        ori_shape=(8, 6))
    assert transform(results)['gt_seg_map'].shape == (8, 6)
    results['ori_shape'] = (6, 8)
    with pytest.raises(
            ValueError,
            match=r'segmentation of a.jpg \(ref_id 1, sent_id 3\) '
            r'has size \(8, 6\).*a.jpg has size \(6, 8\)'):
        transform(results)


def test_malformed_segmentation_names_the_sample():
    with pytest.raises(
            ValueError,
            match=r'malformed segmentation of x.jpg \(ref_id 4, '
            r'ann_id 9\): a polygon'):
        LoadReferringAnnotations()(
            dict(
                img_path='x.jpg',
                ref_id=4,
                ann_id=9,
                segmentation=[[1, 2, 3]],
                height=4,
                width=4))


def test_missing_source_and_missing_file(tmp_path):
    with pytest.raises(UserInputError, match='"segmentation" or "seg_map_path"'):
        LoadReferringAnnotations()(dict(img_path='x.jpg'))
    missing = osp.join(str(tmp_path), 'none.png')
    with pytest.raises(FileNotFoundError):
        LoadReferringAnnotations()(dict(seg_map_path=missing))


def test_repr():
    assert repr(LoadReferringAnnotations()) == (
        "LoadReferringAnnotations(imdecode_backend='cv2', backend_args=None)")


def test_box_mask_helper_is_exact():
    assert box_mask((3, 3), (0, 1, 0, 2)).sum() == 2
