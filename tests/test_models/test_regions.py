import pytest
import torch

from rs2sam2_mmseg.models.utils import keep_strongest_region


def _two_blobs():
    """A small sure blob and a large unsure one, (12, 12) each."""
    prob = torch.zeros(12, 12)
    prob[1:3, 1:3] = 0.95  # 4 px, squared mass 3.61
    prob[6:11, 5:11] = 0.55  # 30 px, squared mass 9.08
    return prob


def test_keeps_the_region_of_largest_summed_squared_probability():
    prob = _two_blobs()
    prob[6:11, 5:11] = 0.1  # the large blob now weighs 0.3 < 3.61
    mask = (prob > 0.05).long()
    kept = keep_strongest_region(prob, mask)
    assert kept.dtype == mask.dtype
    assert kept[1:3, 1:3].all() and kept.sum() == 4


def test_mass_beats_peak():
    prob = _two_blobs()  # squared: 9.08 > 3.61
    kept = keep_strongest_region(prob, prob > 0.5)
    assert kept.dtype == torch.bool
    assert kept[6:11, 5:11].all() and kept.sum() == 30


def test_sure_pixels_weigh_more_than_unsure_ones():
    prob = _two_blobs()
    prob[6:11, 5:11] = 0.
    prob[6:8, 5:11] = 0.35  # 12 px: summed 4.2 > 3.8, squared 1.47 < 3.61
    kept = keep_strongest_region(prob, prob > 0.3)
    assert kept[1:3, 1:3].all() and kept.sum() == 4


@pytest.mark.parametrize('fill', [None, (slice(2, 5), slice(2, 5))])
def test_empty_or_single_region_is_unchanged(fill):
    mask = torch.zeros(8, 8, dtype=torch.uint8)
    if fill:
        mask[fill] = 1
    assert torch.equal(keep_strongest_region(mask.float(), mask), mask)


def test_diagonal_neighbours_are_one_region():
    mask = torch.eye(6, dtype=torch.long)
    assert torch.equal(keep_strongest_region(mask.float(), mask), mask)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        keep_strongest_region(torch.zeros(4, 4), torch.zeros(1, 4, 4))
