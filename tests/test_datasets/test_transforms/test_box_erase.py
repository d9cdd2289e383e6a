"""RandomBoxErase: black boxes on the image, GT untouched."""
import numpy as np
import pytest

from mmseg.registry import TRANSFORMS
from rs2sam2_mmseg.datasets import RandomBoxErase


def _sample(height=64, width=48):
    return dict(
        img=np.full((height, width, 3), 200, np.uint8),
        gt_seg_map=np.ones((height, width), np.uint8))


def test_prob_one_paints_black_boxes():
    np.random.seed(0)
    transform = TRANSFORMS.build(
        dict(type='RandomBoxErase', prob=1.0, num_boxes=(3, 5), box_size=4))
    sample = _sample()
    results = transform(sample)
    black = (results['img'] == 0).all(axis=2)
    assert 16 <= black.sum() <= 5 * 16
    assert ((results['img'] == 0) | (results['img'] == 200)).all()
    np.testing.assert_array_equal(results['gt_seg_map'], 1)  # GT untouched


def test_box_positions_are_random():
    np.random.seed(0)
    transform = RandomBoxErase(prob=1.0, num_boxes=1, box_size=(2, 3))
    seen = set()
    for _ in range(20):
        black = (transform(_sample())['img'] == 0).all(axis=2)
        rows, cols = np.nonzero(black)
        assert black.sum() == 6
        assert (rows.max() - rows.min(), cols.max() - cols.min()) == (1, 2)
        seen.add((rows.min(), cols.min()))
    assert len(seen) > 10


def test_prob_zero_is_identity():
    sample = _sample()
    results = RandomBoxErase(prob=0.0)(dict(sample))
    assert results['img'] is sample['img']
    assert (results['img'] == 200).all()


def test_box_larger_than_image_and_fill_per_channel():
    transform = RandomBoxErase(
        prob=1, num_boxes=1, box_size=100, fill=(1, 2, 3))
    results = transform(_sample(8, 6))
    np.testing.assert_array_equal(results['img'][..., 0], 1)
    np.testing.assert_array_equal(results['img'][..., 2], 3)


def test_fill_must_match_channels():
    transform = RandomBoxErase(prob=1, num_boxes=1, box_size=2, fill=(1, 2))
    with pytest.raises(ValueError, match='2 values.*3 channels'):
        transform(_sample())


@pytest.mark.parametrize('kwargs,match', [
    (dict(prob=1.5), 'prob'),
    (dict(prob='0.2'), 'prob'),
    (dict(num_boxes=(60, 20)), 'min <= max'),
    (dict(num_boxes=(1, 2, 3)), 'num_boxes'),
    (dict(num_boxes=-1), 'num_boxes'),
    (dict(num_boxes=2.5), 'num_boxes'),
    (dict(box_size=0), 'box_size'),
    (dict(box_size=(32, 0)), 'box_size'),
    (dict(fill='black'), 'fill'),
    (dict(fill=()), 'fill'),
])
def test_arguments_validated(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        RandomBoxErase(**kwargs)


def test_repr():
    assert repr(RandomBoxErase()) == (
        'RandomBoxErase(prob=0.2, num_boxes=(20, 60), box_size=(32, 32), '
        'fill=0)')
