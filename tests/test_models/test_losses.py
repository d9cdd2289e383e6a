"""Mask losses: ours and the official two-class ones."""
import math

import pytest
import torch

from rs2sam2_mmseg.models.losses import (BinaryDiceLoss,
                                         TextGuidedBoundaryLoss,
                                         TwoClassCrossEntropyLoss,
                                         TwoClassDiceLoss)
from rs2sam2_mmseg.models.losses.text_boundary_loss import gradient_magnitude
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


# Hand-computed examples. Probabilities 0.25, 0.5 and 0.75 come from the
# logits log(1/3), 0 and log(3).
LOGIT = {p: torch.logit(torch.tensor(p)).item() for p in (0.25, 0.5, 0.75)}


def test_dice_weight_eps_and_mean_over_samples_by_hand():
    # sample A: p = (.5, .75), t = (1, 0): I = .5, sum p + sum t = 2.25
    #   dice = (2 * .5 + .5) / (2.25 + .5) = 1.5 / 2.75, loss 5 / 11
    # sample B: p = (.25, ignored), t = (1, 255): I = .25, sums = 1.25
    #   dice = (2 * .25 + .5) / (1.25 + .5) = 1 / 1.75, loss 3 / 7
    # mean over samples (not pixels) = 34 / 77, times loss_weight 2
    pred = torch.tensor([[[[LOGIT[0.5], LOGIT[0.75]]]],
                         [[[LOGIT[0.25], LOGIT[0.5]]]]], requires_grad=True)
    target = torch.tensor([[[1, 0]], [[1, 255]]])
    loss = BinaryDiceLoss(eps=0.5, loss_weight=2.0)(pred, target)
    torch.testing.assert_close(loss, torch.tensor(2 * 34 / 77))
    loss.backward()
    assert pred.grad[1, 0, 0, 1] == 0  # the ignored pixel
    assert (pred.grad.flatten()[:3] != 0).all()


def test_gradient_magnitude_sums_both_differences_by_hand():
    u = torch.tensor([[[1., 2., 4.], [8., 16., 32.], [64., 128., 256.]]])
    valid = torch.ones(1, 3, 3, dtype=torch.bool)
    valid[0, 0, 2] = valid[0, 2, 0] = False
    grad, ok = gradient_magnitude(u, valid)
    # |U - U(i-1, j)| + |U - U(i, j-1)|, a tap outside the image reads 0
    # (the official zero-padded form): row 0 has only its left term,
    # column 0 only its upper one
    # row 0: 0, |2-1| = 1, |4-2| = 2
    # row 1: |8-1| = 7, |16-2| + |16-8| = 22, |32-4| + |32-16| = 44
    # row 2: |64-8| = 56, |128-16| + |128-64| = 176, |256-32| + |256-128|
    torch.testing.assert_close(
        grad,
        torch.tensor([[[0., 1., 2.], [7., 22., 44.], [56., 176., 352.]]]))
    # a pixel counts when it and the taps it reads are valid: (1, 2) reads
    # (0, 2) above it, (2, 1) reads (2, 0) left of it
    assert ok.tolist() == [[[True, True, False], [True, True, False],
                            [False, False, True]]]


def _boundary_example():
    """3 x 3 probabilities and target with one ignored pixel.

    .. code:: text

        p = .5  .5   .5      t = 0 0 0      y = (t == 1)
            .5  .75  .25         0 1 1
            .5  .5   .5          0 1 255

    G on the centres (1,1) (1,2) (2,1) ((2,2) is ignored):
    G(p) = .25+.25 = .5, .25+.5 = .75, .25+0 = .25
    G(y) = 1+1 = 2,      1+0 = 1,      0+1 = 1
    d = G(p) - G(y) = -1.5, -.25, -.75
    """
    probs = torch.tensor([[.5, .5, .5], [.5, .75, .25], [.5, .5, .5]])
    logits = torch.logit(probs)[None, None].clone().requires_grad_(True)
    target = torch.tensor([[[0, 0, 0], [0, 1, 1], [0, 1, 255]]])
    return logits, target


def _tokens(relevance):
    """cls (1, 2) and a square grid of tokens (1, Nv, 2) of the given
    relevance: r = (1 + cos) / 2, so cos 1, 0, -1 give r = 1, .5, 0."""
    direction = {1.: [1., 0.], .5: [0., 1.], 0.: [-1., 0.]}
    vis = torch.tensor([direction[r] for row in relevance for r in row])
    return torch.tensor([[1., 0.]]), vis[None]


def test_boundary_loss_pixel_mode_by_hand():
    logits, target = _boundary_example()
    # the 3 x 3 relevance grid is at the mask's size (no resizing); the
    # weight of a centre is its own pixel's: w = 1 + alpha * r
    cls, vis = _tokens([[.5, .5, .5], [.5, 1., 0.], [.5, .5, .5]])
    cls.requires_grad_(True)
    vis.requires_grad_(True)
    loss_fn = TextGuidedBoundaryLoss(alpha=2.0, loss_weight=0.5)
    loss = loss_fn(logits, target, vis=vis, cls=cls)
    # w = 3, 1, 2 at (1,1) (1,2) (2,1): (3*1.5)^2 + (1*.25)^2 + (2*.75)^2
    # = 20.25 + .0625 + 2.25 = 22.5625, mean over 3 valid centres, x .5
    torch.testing.assert_close(loss, torch.tensor(0.5 * 22.5625 / 3))
    loss.backward()
    # the relevance is detached: the loss cannot lower it
    assert cls.grad is None and vis.grad is None
    # the mask learns, the ignored pixel does not
    assert logits.grad[0, 0, 1, 1] != 0 and logits.grad[0, 0, 2, 2] == 0
    # alpha = 0: w = 1, (2.25 + .0625 + .5625) / 3 = 2.875 / 3
    loss = TextGuidedBoundaryLoss(alpha=0.)(logits, target, vis=vis, cls=cls)
    torch.testing.assert_close(loss, torch.tensor(2.875 / 3))


def test_boundary_relevance_is_resized_bilinearly():
    # one token: r is constant whatever the size; cos 0 -> r = .5
    cls, vis = torch.tensor([[1., 0.]]), torch.tensor([[[0., 1.]]])
    r = TextGuidedBoundaryLoss.relevance(cls, vis, (3, 3))
    torch.testing.assert_close(r, torch.full((1, 3, 3), 0.5))
    # 2 x 2 grid to 4 x 4: the corners keep their token's r (1 and 0 on
    # the first row, .5 on the second), an inner pixel (1, 1) is 3/4 of
    # the way to its own token: .75 * .75 * 1 + .25 * .75 * 0 + .25 * .5
    cls, vis = _tokens([[1., 0.], [.5, .5]])
    r = TextGuidedBoundaryLoss.relevance(cls, vis, (4, 4))[0]
    assert r[0, 0] == 1 and r[0, 3] == 0 and r[3, 0] == r[3, 3] == 0.5
    torch.testing.assert_close(r[1, 1], torch.tensor(
        .75 * .75 * 1 + .75 * .25 * 0 + .25 * .5))


def test_boundary_loss_sample_mode_by_hand():
    # two samples: the second also ignores (1, 2), leaving the centres
    # (1,1) and (2,1) with d = -1.5 and -.75 (G(y) = 2 and 1 as before)
    logits, target = _boundary_example()
    logits = logits.detach().expand(2, -1, -1, -1).clone()
    target = target.expand(2, -1, -1).clone()
    target[1, 1, 2] = 255
    loss_fn = TextGuidedBoundaryLoss(
        mode='sample', text_dims=2, loss_weight=0.5)
    with torch.no_grad():  # w = first text value + .5
        loss_fn.text_weight.weight.copy_(torch.tensor([[1., 0.]]))
        loss_fn.text_weight.bias.fill_(0.5)
    text = torch.tensor([[1.5, 7.], [0.5, -3.]])  # w = 2 and 1
    loss = loss_fn(logits, target, text_token=text)
    # sample 1 (w = 2): 9 + .25 + 2.25;  sample 2 (w = 1): 2.25 + .5625
    # mean over all 5 valid centres of the batch, x .5
    torch.testing.assert_close(loss, torch.tensor(0.5 * 14.3125 / 5))
