"""SAM2MaskPromptHead: shapes, official weights, trainable switches."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rs2sam2_mmseg.models.decode_heads.language_prompts import (
    DecoderTextFusion, MaskPromptGenerator, mask_prompt)
from rs2sam2_mmseg.models.losses import two_class_logits
from rs2sam2_mmseg.models.utils.param_summary import count_parameters
from .official_fixtures import MPG_RENAMES, load, rename
from .utils import (build_tiny, demo_batch, official_tiny_sam2,
                    sam2_mask_decoder_size, tiny_cfg)

#: The paper head's options at the tiny model's widths (SAM2 D = 32 there,
#: the union cls / vis 64 wide, the projected text D wide).
OFFICIAL_HEAD = dict(
    text_dims=32,
    mpg_dims=64,
    sparse_hidden_dims=64,
    sparse_act=dict(type='ReLU'),
    text_fusion=True,
    logit_threshold=0.5,
    loss_decode=[
        dict(type='TwoClassCrossEntropyLoss', loss_weight=0.9),
        dict(type='TwoClassDiceLoss', loss_weight=0.1)
    ],
    loss_boundary=dict(
        type='TextGuidedBoundaryLoss',
        mode='official',
        text_dims=32,
        loss_weight=0.2),
    loss_pseudo=None)


def _inputs(batch=2):
    fpn = [torch.randn(batch, 32, s, s) for s in (24, 12, 6)]
    union = dict(
        cls=torch.randn(batch, 64),
        vis=torch.randn(batch, 64, 64),
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
    assert set(losses) == {
        'loss_ce', 'loss_dice', 'loss_boundary', 'loss_pseudo', 'acc_seg'
    }
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
    union = {
        k: v.requires_grad_(v.is_floating_point())
        for k, v in union.items()
    }
    out = head(feats, union)
    head.prompt_residual = False
    plain = head(feats, union)
    prior = torch.nn.functional.interpolate(
        out['pseudo_logits'], (24, 24), mode='bilinear', align_corners=False)
    torch.testing.assert_close(out['seg_logits'] - plain['seg_logits'], prior)
    # the residual sends nothing back: the union encoder's gradient from
    # the mask is the one through the dense prompt alone
    grads = [
        torch.autograd.grad(o['seg_logits'].sum(), union['vis'])[0]
        for o in (out, plain)
    ]
    torch.testing.assert_close(grads[0], grads[1])


def _official_inputs(batch=2):
    feats, union = _inputs(batch)
    union['txt'] = torch.randn(batch, 5, 32)
    union['txt_mask'][0, 3:] = False
    return feats, union


def test_decoder_fusion_matches_the_official_module():
    fx = load('decoder_fusion')
    fusion = DecoderTextFusion(32, 8)
    fusion.load_state_dict(
        rename(fx['state_dict'], {'multihead_attn': 'attn'}))
    mask = torch.ones(fx['text'].shape[:2], dtype=torch.bool)
    with torch.no_grad():
        out = fusion(fx['embed'], fx['pe'], fx['text'], mask)
    torch.testing.assert_close(out, fx['out'], atol=1e-5, rtol=0)


def test_mask_prompt_generator_matches_the_official_mpg():
    fx = load('mpg')
    mpg = MaskPromptGenerator(32, 8)
    mpg.load_state_dict(rename(fx['state_dict'], MPG_RENAMES))
    with torch.no_grad():
        pseudo = mpg(fx['cls'], fx['vis'])
    assert pseudo.shape == (2, 1, 14, 14)
    torch.testing.assert_close(
        pseudo.sigmoid(), fx['prompt'], atol=1e-5, rtol=0)
    torch.testing.assert_close(
        mask_prompt(pseudo, (64, 64)), fx['prompt_64'], atol=1e-5, rtol=0)


def test_official_head_options():
    head = build_tiny('decode_head', **OFFICIAL_HEAD)
    assert isinstance(head.sparse_proj[1], torch.nn.ReLU)
    assert [tuple(head.sparse_proj[i].weight.shape)
            for i in (0, 2)] == [(64, 64), (32, 64)]
    assert head.mpg.gate.weight.shape == (64, 64)
    assert head.text_fusion.attn.embed_dim == 32
    assert head.threshold == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert head.logit_threshold == pytest.approx(0.5)
    assert tuple(
        head.state_dict()['loss_boundary.text_weight.weight'].shape) == (1, 32)
    with pytest.raises(ValueError, match='text_dims'):
        build_tiny('decode_head', text_fusion=True)  # text 64, SAM2 32
    with pytest.raises(ValueError, match='threshold'):
        build_tiny('decode_head', threshold=1.0)


def test_official_fusion_feeds_the_decoder():
    # E' = E * MHA(E + PE, T0) with E = fpn[-1] + no_mem_embed, T0 = txt
    head = build_tiny('decode_head', **OFFICIAL_HEAD).eval()
    with torch.no_grad():
        head.no_mem_embed.normal_()
    feats, union = _official_inputs()
    seen = {}
    head.mask_decoder.register_forward_hook(
        lambda module, args, kwargs, out: seen.update(kwargs),
        with_kwargs=True)
    with torch.no_grad():
        head(feats, union)
        embed = feats['backbone_fpn'][-1] + head.no_mem_embed.view(1, -1, 1, 1)
        want = head.text_fusion(embed, head.prompt_encoder.get_dense_pe(),
                                union['txt'], union['txt_mask'])
    torch.testing.assert_close(seen['image_embeddings'], want)


def test_official_losses_on_the_upsampled_logits():
    head = build_tiny('decode_head', **OFFICIAL_HEAD)
    feats, union = _official_inputs()
    samples = demo_batch(2)['data_samples']
    union['txt'].requires_grad_(True)
    losses = head.loss(feats, union, samples)
    assert set(losses) == {'loss_ce', 'loss_dice', 'loss_boundary', 'acc_seg'}
    with torch.no_grad():
        logits = F.interpolate(
            head(feats, union)['seg_logits'], (96, 96),
            mode='bilinear',
            align_corners=False)
    target = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    ce = F.cross_entropy(
        two_class_logits(logits), target, weight=torch.tensor([0.9, 1.1]))
    torch.testing.assert_close(losses['loss_ce'], 0.9 * ce)
    # the boundary term is weighted by text2one_linear(txt[:, 0])
    weight = head.loss_boundary.text_weight
    losses['loss_boundary'].backward()
    assert weight.weight.grad.abs().sum() > 0
    assert union['txt'].grad[:, 0].abs().sum() > 0
    assert not union['txt'].grad[:, 1:].any()
    # accuracy at the official threshold, z > 0.5
    pred = (logits[:, 0] > 0.5).long()
    torch.testing.assert_close(losses['acc_seg'],
                               (pred == target).float().mean() * 100)


def test_paper_layout_trains_end_to_end():
    # the tiny segmentor with the official SAM2 side (union widths 32 = D)
    from .test_sam2_hiera_bhf import OFFICIAL_LAYOUT
    cfg = tiny_cfg().model
    model = build_tiny(
        union_encoder=dict(cfg.union_encoder, embed_dims=32),
        backbone=dict(cfg.backbone, text_dims=32, **OFFICIAL_LAYOUT),
        decode_head=dict(cfg.decode_head, **dict(OFFICIAL_HEAD, mpg_dims=32)))
    last = model.backbone.adapters[max(model.backbone.adapters, key=int)]
    assert not last.text_out.weight.requires_grad
    data = model.data_preprocessor(demo_batch(2), True)
    losses = model(**data, mode='loss')
    assert {k
            for k in losses if k.startswith('decode.loss')} == {
                'decode.loss_ce', 'decode.loss_dice', 'decode.loss_boundary'
            }
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for name, param in model.named_parameters():
        if param.requires_grad:  # DDP needs a gradient for each
            assert param.grad is not None, name


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
    head.forward = lambda *args, **kwargs: out
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
