"""SAM2MaskPromptHead: shapes, official weights, trainable switches."""
import torch

from .utils import build_tiny, demo_batch, official_tiny_sam2


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
