import pytest
import torch

from rs2sam2_mmseg.models.utils import keep_strongest_region


def _two_blobs():
    """A small sure blob and a large unsure one, (12, 12) each."""
    prob = torch.zeros(12, 12)
    prob[1:3, 1:3] = 0.95  # 4 px, mass 3.8
    prob[6:11, 5:11] = 0.55  # 30 px, mass 16.5
    return prob


def test_keeps_the_region_of_largest_summed_probability():
    prob = _two_blobs()
    prob[6:11, 5:11] = 0.1  # the large blob now weighs 3.0 < 3.8
    mask = (prob > 0.05).long()
    kept = keep_strongest_region(prob, mask)
    assert kept.dtype == mask.dtype
    assert kept[1:3, 1:3].all() and kept.sum() == 4


def test_mass_beats_peak():
    prob = _two_blobs()
    kept = keep_strongest_region(prob, prob > 0.5)
    assert kept.dtype == torch.bool
    assert kept[6:11, 5:11].all() and kept.sum() == 30


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
