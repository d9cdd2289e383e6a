"""BinaryDiceLoss and TextGuidedBoundaryLoss."""
import pytest
import torch

from rs2sam2_mmseg.models import BinaryDiceLoss, TextGuidedBoundaryLoss


def _square_target(size=16, ignore_border=False):
    target = torch.zeros(2, size, size, dtype=torch.long)
    target[:, 4:10, 5:12] = 1
    if ignore_border:
        target[:, -2:] = 255
    return target


def test_dice_matches_hand_computation():
    pred = torch.tensor([[[[0., 0.], [10., -10.]]]])  # sigmoid .5 .5 ~1 ~0
    target = torch.tensor([[[1, 255], [1, 0]]])
    p = torch.sigmoid(pred)[0, 0]
    inter = p[0, 0] * 1 + p[1, 0] * 1
    total = p[0, 0] + p[1, 0] + p[1, 1] + 2  # ignored pixel left out
    expected = 1 - (2 * inter + 1) / (total + 1)
    loss = BinaryDiceLoss(eps=1.0)(pred, target)
    torch.testing.assert_close(loss, expected)


def test_boundary_loss_is_zero_when_prediction_equals_gt():
    target = _square_target(ignore_border=True)
    logits = torch.where(target == 1, 100., -100.)[:, None].float()
    loss = TextGuidedBoundaryLoss()(
        logits, target, vis=torch.randn(2, 16, 8), cls=torch.randn(2, 8))
    assert loss.item() < 1e-10


def test_boundary_loss_gradient_reaches_the_mask_logits():
    target = _square_target()
    logits = torch.randn(2, 1, 16, 16, requires_grad=True)
    loss = TextGuidedBoundaryLoss()(
        logits, target, vis=torch.randn(2, 16, 8), cls=torch.randn(2, 8))
    loss.backward()
    assert loss > 0 and logits.grad.abs().sum() > 0
    # the official thresholded version would give no gradient at all
    assert logits.grad[:, :, 4:10, 5:12].abs().sum() > 0


def test_boundary_loss_grows_with_text_relevance():
    target = _square_target()
    logits = torch.zeros(2, 1, 16, 16)
    cls = torch.tensor([[1., 0.], [1., 0.]])
    relevant = cls[:, None].expand(2, 16, 2)  # cos = 1 everywhere
    irrelevant = -relevant  # cos = -1 everywhere
    loss_fn = TextGuidedBoundaryLoss(alpha=1.0)
    high = loss_fn(logits, target, vis=relevant, cls=cls)
    low = loss_fn(logits, target, vis=irrelevant, cls=cls)
    torch.testing.assert_close(high, 4 * low)  # w = 2 vs 1, squared
    relevance = TextGuidedBoundaryLoss.relevance(cls, relevant, (16, 16))
    assert relevance.shape == (2, 16, 16)
    torch.testing.assert_close(relevance, torch.ones(2, 16, 16))


def test_boundary_loss_ignores_padding():
    target = _square_target(ignore_border=True)
    logits = torch.randn(2, 1, 16, 16, requires_grad=True)
    loss_fn = TextGuidedBoundaryLoss()
    vis, cls = torch.randn(2, 16, 8), torch.randn(2, 8)
    loss_fn(logits, target, vis=vis, cls=cls).backward()
    assert logits.grad[:, :, -1:].abs().sum() == 0


def test_boundary_loss_official_per_sample_mode():
    with pytest.raises(ValueError, match='text_dims'):
        TextGuidedBoundaryLoss(mode='sample')
    with pytest.raises(ValueError, match='mode'):
        TextGuidedBoundaryLoss(mode='thresholded')
    loss_fn = TextGuidedBoundaryLoss(mode='sample', text_dims=8)
    logits = torch.randn(2, 1, 16, 16, requires_grad=True)
    loss = loss_fn(logits, _square_target(), text_token=torch.randn(2, 8))
    loss.backward()
    assert logits.grad.abs().sum() > 0
    assert loss_fn.text_weight.weight.grad.abs().sum() > 0
