"""SAM2MaskPromptHead: shapes, official weights, trainable switches."""
import math

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rs2sam2_mmseg.models.utils.param_summary import count_parameters
from .utils import (build_tiny, demo_batch, official_tiny_sam2,
                    sam2_mask_decoder_size)


def _inputs(batch=2):
    fpn = [torch.randn(batch, 32, s, s) for s in (24, 12, 6)]
    union = dict(cls=torch.randn(batch, 64), vis=torch.randn(batch, 64, 64),
                 txt=torch.randn(batch, 5, 64),
                 txt_mask=torch.ones(batch, 5, dtype=torch.bool))
    return dict(backbone_fpn=fpn), union


def test_output_shapes():
    head = build_tiny('decode_head')
    out = head(*_inputs())
    assert out['seg_logits'].shape == (2, 1, 24, 24)  # S / 4
    assert out['pseudo_logits'].shape == (2, 1, 8, 8)  # union grid
    assert head.prompt_encoder.mask_input_size == (24, 24)


def test_loss_terms_are_logged_separately():
    head = build_tiny('decode_head')
    feats, union = _inputs()
    losses = head.loss(feats, union, demo_batch(2)['data_samples'])
    assert set(losses) == {'loss_ce', 'loss_dice', 'loss_boundary',
                           'loss_pseudo', 'acc_seg'}
    assert all(torch.isfinite(v) for v in losses.values())
    ablated = build_tiny('decode_head', loss_pseudo=None, loss_boundary=None)
    assert set(ablated.loss(feats, union, demo_batch(2)['data_samples'])) \
        == {'loss_ce', 'loss_dice', 'acc_seg'}


def test_official_checkpoint_fills_prompt_encoder_and_decoder(tmp_path):
    ckpt = str(tmp_path / 'sam2_tiny.pt')
    sam2 = official_tiny_sam2(ckpt)
    # SAM2's own decoder sizes (mlp 2048, 8 heads) for a key-exact match
    head = build_tiny('decode_head', decoder_cfg=None)
    report = head.load_sam2_weights(
        torch.load(ckpt, weights_only=True)['model'], ckpt)
    state = sam2.state_dict()
    for part, prefix in (('prompt_encoder', 'sam_prompt_encoder.'),
                         ('mask_decoder', 'sam_mask_decoder.')):
        expected = {k[len(prefix):] for k in state if k.startswith(prefix)}
        assert set(report[part]['matched']) == expected
        assert not report[part]['missing'], report[part]['missing']
    torch.testing.assert_close(head.no_mem_embed, sam2.no_mem_embed)


def test_trainable_switches():
    head = build_tiny('decode_head', train_prompt_encoder=False)
    assert not any(p.requires_grad for p in head.prompt_encoder.parameters())
    decoder = head.mask_decoder
    for part in (decoder.transformer, decoder.output_upscaling,
                 decoder.output_hypernetworks_mlps, decoder.mask_tokens):
        assert all(p.requires_grad for p in part.parameters())
    # unused by a single text-prompted mask: frozen (DDP needs every
    # trainable parameter in the loss)
    assert not any(p.requires_grad
                   for p in decoder.iou_prediction_head.parameters())
    head = build_tiny('decode_head', train_mask_decoder=False)
    assert not any(p.requires_grad for p in head.mask_decoder.parameters())
    assert any(p.requires_grad for p in head.prompt_encoder.parameters())


def test_prompt_residual_adds_the_pseudo_mask_without_gradient():
    head = build_tiny('decode_head', prompt_residual=True)
    feats, union = _inputs()
    union = {k: v.requires_grad_(v.is_floating_point())
             for k, v in union.items()}
    out = head(feats, union)
    head.prompt_residual = False
    plain = head(feats, union)
    prior = torch.nn.functional.interpolate(
        out['pseudo_logits'], (24, 24), mode='bilinear', align_corners=False)
    torch.testing.assert_close(out['seg_logits'] - plain['seg_logits'],
                               prior)
    # the residual sends nothing back: the union encoder's gradient from
    # the mask is the one through the dense prompt alone
    grads = [
        torch.autograd.grad(o['seg_logits'].sum(), union['vis'])[0]
        for o in (out, plain)
    ]
    torch.testing.assert_close(grads[0], grads[1])


def test_each_loss_term_by_hand():
    """head.loss: each term on the right logits, weights, ignored pixels.

    .. code:: text

        mask p = .5  .5   .5     pseudo p = .75 everywhere (1 x 1 logits,
                 .5  .75  .25                 resized to 3 x 3)
                 .5  .5   .5
        target = 0 0 0
                 0 1 1
                 0 1 255 (ignored)
    """
    losses = [
        dict(type='CrossEntropyLoss', use_sigmoid=True, avg_non_ignore=True,
             loss_weight=0.9),
        dict(type='BinaryDiceLoss', loss_weight=0.1)
    ]
    head = build_tiny(
        'decode_head',
        loss_decode=losses,
        loss_boundary=dict(type='TextGuidedBoundaryLoss', loss_weight=0.2),
        loss_pseudo=dict(type='CrossEntropyLoss', use_sigmoid=True,
                         avg_non_ignore=True, loss_weight=0.3,
                         loss_name='loss_pseudo'))
    probs = torch.tensor([[.5, .5, .5], [.5, .75, .25], [.5, .5, .5]])
    out = dict(seg_logits=torch.logit(probs)[None, None].requires_grad_(),
               pseudo_logits=torch.full((1, 1, 1, 1), math.log(3),
                                        requires_grad=True))
    head.forward = lambda feats, union_out, inputs=None: out
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(
        data=torch.tensor([[[0, 0, 0], [0, 1, 1], [0, 1, 255]]]))
    # one visual token orthogonal to cls: relevance .5, w = 1.5
    union = dict(cls=torch.tensor([[1., 0.]]), vis=torch.tensor([[[0., 1.]]]),
                 txt=torch.zeros(1, 2, 2))
    got = head.loss({}, union, [sample])
    ln2, ln3 = math.log(2), math.log(3)
    # BCE over the 8 valid pixels: five t=0 at p=.5 (ln 2 each), t=1 at
    # p=.75 (ln 4/3), .25 (ln 4), .5 (ln 2): 10 ln2 - ln3
    expected = dict(
        loss_ce=0.9 * (10 * ln2 - ln3) / 8,
        # sum p = 4, sum t = 3, I = .75 + .25 + .5: 1 - (3 + 1) / (7 + 1)
        loss_dice=0.1 * 0.5,
        # d = -1.5, -.25, -.75 (see test_losses): 1.5^2 * 2.875 / 3
        loss_boundary=0.2 * 2.25 * 2.875 / 3,
        # five t=0 at p=.75 (ln 4), three t=1 (ln 4/3): 16 ln2 - 3 ln3
        loss_pseudo=0.3 * (16 * ln2 - 3 * ln3) / 8,
        # logits > 0 only at (1, 1): the five zeros and (1, 1) correct
        acc_seg=100 * 6 / 8)
    assert set(got) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(
            got[key].float(), torch.tensor(value), msg=key)
    # each term trains what it supervises: the mask terms the mask logits,
    # the pseudo-mask term the pseudo-mask alone
    for key, learns in (('loss_ce', 'seg_logits'), ('loss_dice', 'seg_logits'),
                        ('loss_boundary', 'seg_logits'),
                        ('loss_pseudo', 'pseudo_logits')):
        grads = torch.autograd.grad(
            got[key], list(out.values()), retain_graph=True,
            allow_unused=True)
        for name, grad in zip(out, grads):
            assert (grad is not None and grad.abs().sum() > 0) == (
                name == learns), (key, name)


def test_mask_decoder_size_from_its_architecture():
    head = build_tiny('decode_head')  # dim 32, MLP 128, IoU head 32
    total = sam2_mask_decoder_size(32, 128, 32)
    assert total == 51501  # the sum worked by hand once
    # frozen (unused): the IoU head 32-32-4 and the object-score MLP
    # 32-32-1, three linear layers each
    frozen = (2 * (32 * 32 + 32) + 32 * 4 + 4) + (2 * (32 * 32 + 32) + 33)
    assert count_parameters(head.mask_decoder) == (total, total - frozen)
