"""ReferringRandomFlip: image, GT and sentence flip together."""
import numpy as np
import pytest

from mmseg.registry import TRANSFORMS
from rs2sam2_mmseg.datasets import ReferringRandomFlip, flip_text


@pytest.mark.parametrize('text,flipped', [
    ('left of the road', 'right of the road'),
    ('the Leftmost car', 'the Rightmost car'),
    ('LEFT and RIGHT', 'RIGHT and LEFT'),
    ('a left-hand turn', 'a right-hand turn'),
    ('rightmost, then left.', 'leftmost, then right.'),
    ('cleft bright leftover', 'cleft bright leftover'),
    ('the top car', 'the top car'),
])
def test_horizontal_words(text, flipped):
    assert flip_text(text, 'horizontal') == flipped


@pytest.mark.parametrize('text,flipped', [
    ('the top building', 'the bottom building'),
    ('Upper lot, lower lot', 'Lower lot, upper lot'),
    ('TOPMOST and bottommost', 'BOTTOMMOST and topmost'),
    ('uppermost tank', 'lowermost tank'),
    ('the ship above the bridge', 'the ship below the bridge'),
    ('toppings on the left', 'toppings on the left'),
])
def test_vertical_words(text, flipped):
    assert flip_text(text, 'vertical') == flipped


def test_diagonal_swaps_both_in_one_pass():
    assert flip_text('upper left and lower right',
                     'diagonal') == ('lower right and upper left')


def _sample():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    gt = np.array([[1, 0, 0], [1, 1, 0]], np.uint8)
    union_img = img[:, :2] + 100  # a resized copy of its own size
    return dict(
        img=img,
        gt_seg_map=gt,
        union_img=union_img,
        text='the car at the top left')


@pytest.mark.parametrize('direction,axis,text', [
    ('horizontal', 1, 'the car at the top right'),
    ('vertical', 0, 'the car at the bottom left'),
    ('diagonal', (0, 1), 'the car at the bottom right'),
])
def test_flips_image_gt_and_text(direction, axis, text):
    sample = _sample()
    transform = TRANSFORMS.build(
        dict(type='ReferringRandomFlip', prob=1.0, direction=direction))
    results = transform(_sample())
    np.testing.assert_array_equal(results['img'], np.flip(sample['img'], axis))
    np.testing.assert_array_equal(results['gt_seg_map'],
                                  np.flip(sample['gt_seg_map'], axis))
    np.testing.assert_array_equal(results['union_img'],
                                  np.flip(sample['union_img'], axis))
    assert results['text'] == text
    assert results['flip'] is True
    assert results['flip_direction'] == direction


def test_no_flip_keeps_everything():
    sample = _sample()
    results = ReferringRandomFlip(prob=0.0)(_sample())
    assert results['flip'] is False
    assert results['text'] == sample['text']
    np.testing.assert_array_equal(results['img'], sample['img'])


def test_sample_without_text_flips_image():
    results = ReferringRandomFlip(prob=1.0)(dict(img=np.eye(2)))
    np.testing.assert_array_equal(results['img'], [[0, 1], [1, 0]])


def test_repr():
    assert repr(ReferringRandomFlip(
        prob=0.5)) == ('ReferringRandomFlip(prob=0.5, direction=horizontal)')
