"""RandomBoxErase: black boxes on the image, GT untouched."""
import numpy as np
import pytest

from mmseg.registry import TRANSFORMS
from rs2sam2_mmseg.datasets import RandomBoxErase
from rs2sam2_mmseg.utils import UserInputError


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
        'fill=0, subset_seed=None)')


def test_subset_seed_erases_a_fixed_subset_of_refs_every_time():
    transform = RandomBoxErase(
        prob=0.2, num_boxes=(20, 60), box_size=32, subset_seed=0)
    subset = [ref_id for ref_id in range(1000) if transform.in_subset(ref_id)]
    # pinned: the subset of seed 0 (about 20% of the refs)
    assert len(subset) == 200
    assert subset[:5] == [3, 4, 12, 16, 19]
    other = RandomBoxErase(prob=0.2, subset_seed=1)
    assert subset != [r for r in range(1000) if other.in_subset(r)]
    np.random.seed(0)
    for ref_id, erased in ((subset[0], True), (0, False)):
        boxes = set()
        for _ in range(3):
            sample = dict(_sample(800, 800), ref_id=ref_id)
            black = (transform(sample)['img'] == 0).all(axis=2)
            assert black.any() == erased
            boxes.add(black.tobytes())
        # new boxes on every load of an erased ref
        assert len(boxes) == (3 if erased else 1)


def test_subset_seed_needs_the_ref_id():
    with pytest.raises(UserInputError, match='ref_id'):
        RandomBoxErase(subset_seed=0)(_sample())


def test_subset_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match='subset_seed'):
        RandomBoxErase(subset_seed=-1)
