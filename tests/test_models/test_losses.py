"""Mask losses: ours and the official two-class ones."""
import math

import pytest
import torch

from rs2sam2_mmseg.models.losses import (BinaryDiceLoss,
                                         TextGuidedBoundaryLoss,
                                         TwoClassCrossEntropyLoss,
                                         TwoClassDiceLoss)
from .official_fixtures import load


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


def _official_loss_inputs():
    fx = load('loss')
    boundary = TextGuidedBoundaryLoss(mode='official', text_dims=256)
    boundary.text_weight.load_state_dict(fx['text2one_linear'])
    return fx, boundary


def test_two_class_ce_and_dice_match_the_official_loss():
    fx = load('loss')
    z = fx['z'].clone().requires_grad_(True)
    for loss_fn, key in ((TwoClassCrossEntropyLoss(), 'ce'),
                         (TwoClassDiceLoss(), 'dice')):
        loss = loss_fn(z, fx['target'])
        torch.testing.assert_close(loss, fx[key], atol=1e-5, rtol=0)
        grad, = torch.autograd.grad(loss, z)
        torch.testing.assert_close(
            grad, fx[f'{key}_grad'], atol=1e-7, rtol=1e-5)


def test_official_boundary_loss_matches_the_official_per_sample():
    fx, boundary = _official_loss_inputs()
    ce, dice = TwoClassCrossEntropyLoss(), TwoClassDiceLoss()
    for i in range(2):
        z = fx['z'][i:i + 1].clone().requires_grad_(True)
        target, token = fx['target'][i:i + 1], fx['text_feat'][i:i + 1, 0]
        loss = boundary(z, target, text_token=token)
        torch.testing.assert_close(
            loss, fx['boundary'][i], atol=1e-5, rtol=1e-5)
        boundary.zero_grad()
        loss.backward()
        # the hard mask: no gradient to the logits, only to the weight
        assert z.grad is None or not z.grad.any()
        torch.testing.assert_close(
            boundary.text_weight.weight.grad,
            fx['boundary_weight_grad'][i],
            atol=1e-5,
            rtol=1e-5)
        total = 0.9 * ce(z, target) + 0.1 * dice(z, target) + \
            0.2 * boundary(z, target, text_token=token)
        torch.testing.assert_close(total, fx['total'][i], atol=1e-5, rtol=1e-5)
    # a batch: the mean over its pixels, i.e. over its samples here
    batch = boundary(fx['z'], fx['target'], text_token=fx['text_feat'][:, 0])
    torch.testing.assert_close(
        batch, fx['boundary'].mean(), atol=1e-5, rtol=1e-5)


def _hand_logits():
    # p_fg = sigmoid(2z - 1): 0.5, sigmoid(3), sigmoid(-3); last ignored
    return torch.tensor([[[[0.5, 2.], [-1., 7.]]]]), torch.tensor([[[1, 0],
                                                                    [0, 255]]])


def test_two_class_ce_hand_computed():
    z, target = _hand_logits()
    softplus = torch.nn.functional.softplus
    expected = (1.1 * math.log(2) + 0.9 * softplus(torch.tensor(3.)) +
                0.9 * softplus(torch.tensor(-3.))) / (1.1 + 0.9 + 0.9)
    loss = TwoClassCrossEntropyLoss(loss_weight=2.)(z, target)
    torch.testing.assert_close(loss, 2 * expected)
    assert TwoClassCrossEntropyLoss()(z, torch.full_like(target, 255)) == 0
    with pytest.raises(ValueError, match='2 class weights'):
        TwoClassCrossEntropyLoss(class_weight=(1., ))


def test_two_class_dice_hand_computed():
    z, target = _hand_logits()
    # background: inter 1, sum(p) + sum(t) = 1.5 + 2; foreground: inter
    # 0.5, 1.5 + 1 (the ignored pixel left out)
    expected = torch.tensor((1 - 2 / 3.5) + (1 - 1 / 2.5))
    torch.testing.assert_close(TwoClassDiceLoss()(z, target), expected)
    batch = z.expand(2, -1, -1, -1), target.expand(2, -1, -1)
    torch.testing.assert_close(TwoClassDiceLoss()(*batch), 2 * expected)
    torch.testing.assert_close(
        TwoClassDiceLoss(reduction='mean', loss_weight=0.1)(*batch),
        0.1 * expected)
    with pytest.raises(ValueError, match='reduction'):
        TwoClassDiceLoss(reduction='none')


def test_official_boundary_loss_hand_computed():
    # M = 1[sigmoid(z) > .5]: 1 0 0 / 1 1 0 / 0 0 0, G(M) = 0 1 0 / 0 1 1 /
    # 1 1 0; y: 1 1 0 / 1 1 0 / 0 0 0, G(y) = 0 0 1 / 0 0 1 / 1 1 0
    z = torch.tensor([[[[1., -1., -1.], [1., 1., -1.], [-1., -1., -1.]]]])
    target = torch.tensor([[[1, 1, 0], [1, 1, 0], [0, 0, 0]]])
    loss_fn = TextGuidedBoundaryLoss(mode='official', text_dims=4)
    with torch.no_grad():
        loss_fn.text_weight.weight.zero_()
        loss_fn.text_weight.bias.fill_(2.)  # w = 2
    token = torch.randn(1, 4)
    loss = loss_fn(z, target, text_token=token)
    torch.testing.assert_close(loss, torch.tensor(4 * 3 / 9))
    loss.backward()  # d(b^2 / 3) / db
    torch.testing.assert_close(loss_fn.text_weight.bias.grad,
                               torch.tensor([4 / 3]))
    # an ignored pixel drops out with the pixels whose differences read it
    corner, side = target.clone(), target.clone()
    corner[0, 2, 2] = 255
    side[0, 1, 0] = 255  # drops (1, 0), (2, 0) and (1, 1)
    torch.testing.assert_close(
        loss_fn(z, corner, text_token=token), torch.tensor(4 * 3 / 8))
    torch.testing.assert_close(
        loss_fn(z, side, text_token=token), torch.tensor(4 * 2 / 6))
