"""PackReferSegInputs: the sentence and ids reach the metainfo."""
import numpy as np
import pytest
import torch

from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS
from rs2sam2_mmseg.datasets import PackReferSegInputs

REFER_KEYS = ('text', 'ref_id', 'sent_id', 'ann_id', 'image_id', 'category')


def _results():
    return dict(
        img=np.zeros((4, 5, 3), np.uint8),
        gt_seg_map=np.eye(4, 5, dtype=np.uint8),
        img_path='a/b.jpg',
        ori_shape=(4, 5),
        img_shape=(4, 5),
        text='the car on the left',
        ref_id=1,
        sent_id=7,
        ann_id=3,
        image_id=2,
        category='vehicle',
        segmentation=[[0, 0, 1, 0, 1, 1]])


def test_default_meta_keys_extend_mmseg():
    keys = PackReferSegInputs().meta_keys
    assert keys == PackSegInputs().meta_keys + REFER_KEYS


def test_packs_text_ids_and_gt():
    transform = TRANSFORMS.build(dict(type='PackReferSegInputs'))
    packed = transform(_results())
    sample = packed['data_samples']
    assert packed['inputs'].shape == (3, 4, 5)
    assert sample.metainfo['text'] == 'the car on the left'
    assert {
        k: sample.metainfo[k]
        for k in REFER_KEYS[1:]
    } == dict(
        ref_id=1, sent_id=7, ann_id=3, image_id=2, category='vehicle')
    assert sample.metainfo['img_path'] == 'a/b.jpg'
    assert 'segmentation' not in sample.metainfo
    assert sample.gt_sem_seg.data.shape == (1, 4, 5)
    assert sample.gt_sem_seg.data.dtype == torch.int64


def test_packs_the_union_image_channels_first():
    results = _results()
    union_img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    results['union_img'] = union_img
    sample = PackReferSegInputs()(results)['data_samples']
    assert sample.union_img.data.dtype == torch.uint8
    np.testing.assert_array_equal(sample.union_img.data.numpy(),
                                  union_img.transpose(2, 0, 1))
    assert 'union_img' not in PackReferSegInputs()(_results())['data_samples']


def test_optional_ids_may_be_absent():
    results = _results()
    del results['ann_id'], results['category']
    sample = PackReferSegInputs()(results)['data_samples']
    assert 'ann_id' not in sample.metainfo
    assert sample.metainfo['sent_id'] == 7


def test_missing_text_names_the_sample():
    results = _results()
    del results['text']
    with pytest.raises(KeyError, match='a/b.jpg has no "text"'):
        PackReferSegInputs()(results)


def test_repr():
    transform = PackReferSegInputs(meta_keys=('img_path', 'text'))
    assert repr(transform) == (
        "PackReferSegInputs(meta_keys=('img_path', 'text'))")
