"""RS2SAM2 end to end on the tiny config."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData

from rs2sam2_mmseg.evaluation import ReferSegMetric
from .utils import build_tiny, demo_batch, official_tiny_sam2, tiny_cfg


def _loss(model, batch):
    data = model.data_preprocessor(batch, True)
    return model(**data, mode='loss')


def test_loss_predict_tensor_modes():
    model = build_tiny()
    losses = _loss(model, demo_batch(2))
    assert {
        'decode.loss_ce', 'decode.loss_dice', 'decode.loss_boundary',
        'decode.loss_pseudo', 'decode.acc_seg'
    } <= set(losses)
    model.eval()
    batch = demo_batch(2, ori_shape=(150, 120), size=96)
    batch['inputs'][1] = batch['inputs'][1][:, :, :77]  # keep-ratio resize
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        assert data['inputs'].shape == (2, 3, 96, 96)
        assert data['data_samples'][1].img_padding_size == (0, 19, 0, 0)
        results = model(**data, mode='predict')
        logits = model(**data, mode='tensor')
    assert logits.shape == (2, 1, 24, 24)
    for result, text in zip(results, [b.text for b in batch['data_samples']]):
        assert result.pred_sem_seg.shape == (150, 120)
        assert result.seg_logits.shape == (150, 120)
        assert set(result.pred_sem_seg.data.unique().tolist()) <= {0, 1}
        assert result.text == text


@pytest.mark.parametrize('direction, dims', [('horizontal', (-1, )),
                                             ('vertical', (-2, )),
                                             ('diagonal', (-2, -1))])
def test_predict_undoes_the_flip_of_the_input(direction, dims):
    torch.manual_seed(0)
    model = build_tiny().eval()
    batch = demo_batch(2, ori_shape=(150, 120), size=96)
    batch['inputs'][1] = batch['inputs'][1][:, :, :77]  # padded on the right
    batch['inputs'] = [img.flip(dims) for img in batch['inputs']]
    with torch.no_grad():
        as_is = model(**model.data_preprocessor(batch, False), mode='predict')
        for sample in batch['data_samples']:
            sample.set_metainfo(dict(flip=True, flip_direction=direction))
        undone = model(**model.data_preprocessor(batch, False), mode='predict')
    for result, reference in zip(undone, as_is):
        torch.testing.assert_close(result.seg_logits.data,
                                   reference.seg_logits.data.flip(dims))
        assert torch.equal(result.pred_sem_seg.data,
                           reference.pred_sem_seg.data.flip(dims))
        assert result.flip_direction == direction


def test_gradients_frozen_sam2_trainable_rest():
    model = build_tiny()
    model.train()
    losses = _loss(model, demo_batch(2))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    frozen = model.backbone.image_encoder
    assert all(p.grad is None for p in frozen.parameters())
    for name, module in [('adapters', model.backbone.adapters),
                         ('union fusion', model.union_encoder.layers),
                         ('mask prompt generator', model.decode_head.mpg),
                         ('mask decoder', model.decode_head.mask_decoder)]:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads and sum(g.abs().sum() for g in grads) > 0, name


def test_every_trainable_parameter_is_in_the_loss_graph():
    # DDP runs without find_unused_parameters: no trainable parameter may
    # be left out of the loss
    model = build_tiny()
    losses = _loss(model, demo_batch(2))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    unused = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not unused


def test_language_changes_the_prediction():
    model = build_tiny().eval()
    batch = demo_batch(
        2,
        texts=[
            'the red car on the left', 'the large white building at the bottom'
        ])
    batch['inputs'][1] = batch['inputs'][0].clone()
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        logits = model(**data, mode='tensor')
    assert not torch.allclose(logits[0], logits[1])


def test_missing_text_is_a_clear_error():
    model = build_tiny()
    batch = demo_batch(1)
    del batch['data_samples'][0].text
    data = model.data_preprocessor(batch, True)
    with pytest.raises(KeyError, match="metainfo\\['text'\\]"):
        model(**data, mode='loss')


def test_oversized_image_is_a_clear_error():
    model = build_tiny()
    batch = demo_batch(1)
    batch['inputs'][0] = torch.zeros(3, 100, 96, dtype=torch.uint8)
    batch['data_samples'][0].set_metainfo(dict(img_path='big.jpg'))
    with pytest.raises(ValueError, match='big.jpg.*larger than'):
        model.data_preprocessor(batch, False)


def test_a_few_iterations_reduce_the_loss():
    torch.manual_seed(0)
    model = build_tiny()
    optim = OptimWrapper(
        torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                          lr=2e-3))
    batch = demo_batch(4)
    history = []
    for _ in range(12):
        log = model.train_step(batch, optim)
        history.append(sum(v.item() for k, v in log.items() if 'loss' in k))
    assert history[-1] < 0.7 * history[0], history


def test_union_grad_scale_scales_only_the_sam2_side_gradient():
    # the union encoder gradient is g_mpg + s * g_sam2: linear in s, the
    # forward pass (the losses) does not depend on s
    model = build_tiny()
    batch = demo_batch(2)
    grads, totals = {}, {}
    for scale in (0., 0.5, 1.):
        model.union_grad_scale = scale
        model.zero_grad()
        losses = _loss(model, batch)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
        totals[scale] = total.detach()
        grads[scale] = torch.cat([
            p.grad.flatten() for p in model.union_encoder.parameters()
            if p.grad is not None
        ])
    assert torch.allclose(totals[0.], totals[1.])
    assert not torch.allclose(grads[0.], grads[1.])
    torch.testing.assert_close(
        grads[0.5], (grads[0.] + grads[1.]) / 2, rtol=1e-4, atol=1e-7)


def test_union_grad_scale_outside_unit_interval_is_an_error():
    with pytest.raises(ValueError, match='union_grad_scale'):
        build_tiny(union_grad_scale=1.5)


def test_single_region_keeps_one_region_per_prediction():
    model = build_tiny(test_cfg=dict(mode='whole', single_region=True))
    model.eval()
    logits = torch.full((2, 1, 24, 24), -10.)
    logits[:, :, 2:5, 2:5] = 3.  # strong
    logits[:, :, 15:18, 15:18] = 1.  # weaker, same size
    model._forward = lambda inputs, data_samples: logits
    data = model.data_preprocessor(demo_batch(2), False)
    with torch.no_grad():
        results = model(**data, mode='predict')
    for result in results:
        pred = result.pred_sem_seg.data[0]
        assert pred[10:18, 10:18].all()
        assert not pred[40:, 40:].any()
        # the probabilities are untouched: both regions are > 0.5 there
        assert (result.seg_logits.data[0][62:70, 62:70] > 0.5).all()


@pytest.mark.parametrize('test_cfg, error, match', [
    (dict(single_regoin=True), KeyError, 'single_regoin'),
    (dict(mode='slide'), ValueError, "'whole'"),
    (dict(pred_scale=1024), ValueError, 'pred_scale'),
])
def test_bad_test_cfg_is_a_clear_error(test_cfg, error, match):
    with pytest.raises(error, match=match):
        build_tiny(test_cfg=test_cfg)


def _with_union_img(batch, size=64, seed=1):
    gen = torch.Generator().manual_seed(seed)
    for sample in batch['data_samples']:
        sample.union_img = PixelData(
            data=torch.randint(0, 256, (3, size, size), generator=gen,
                               dtype=torch.uint8))
    return batch


def test_preprocessor_normalises_union_img_like_the_image():
    model = build_tiny()
    batch = _with_union_img(demo_batch(2))
    raw = [s.union_img.data.clone() for s in batch['data_samples']]
    data = model.data_preprocessor(batch, True)
    for sample, img in zip(data['data_samples'], raw):
        # BGR -> RGB, then SAM2's (ImageNet) mean / std
        pixel = img[[2, 1, 0], 5, 7].float()
        expected = (pixel - torch.tensor([123.675, 116.28, 103.53])) / \
            torch.tensor([58.395, 57.12, 57.375])
        torch.testing.assert_close(sample.union_img.data[:, 5, 7], expected)
        assert sample.union_img.shape == (64, 64)


def test_union_img_reaches_the_union_encoder():
    torch.manual_seed(0)
    model = build_tiny().eval()
    seen = []
    forward = model.union_encoder.forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get('union_inputs'))
        return forward(*args, **kwargs)

    model.union_encoder.forward = spy
    with torch.no_grad():
        plain = model(**model.data_preprocessor(demo_batch(2), False),
                      mode='tensor')
        data = model.data_preprocessor(_with_union_img(demo_batch(2)), False)
        union = model(**data, mode='tensor')
    assert seen[0] is None
    assert torch.equal(
        seen[1],
        torch.stack([s.union_img.data for s in data['data_samples']]))
    assert not torch.allclose(plain, union)
    batch = _with_union_img(demo_batch(2))
    del batch['data_samples'][1].union_img
    with pytest.raises(ValueError, match=r"\['1'\] have no union_img"):
        model(**model.data_preprocessor(batch, False), mode='tensor')


def test_pred_scale_input_thresholds_at_the_input_once():
    # the official protocol: logits -> S x S, threshold there, no resize
    model = build_tiny(test_cfg=dict(mode='whole', pred_scale='input'))
    model.eval()
    logits = torch.randn(
        2, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    model._forward = lambda inputs, data_samples: logits
    batch = demo_batch(2, ori_shape=(150, 120), size=96)
    with torch.no_grad():
        results = model(**model.data_preprocessor(batch, False),
                        mode='predict')
    upsampled = torch.nn.functional.interpolate(
        logits, (96, 96), mode='bilinear', align_corners=False)
    threshold = model.decode_head.threshold
    for result, up in zip(results, upsampled):
        assert result.pred_sem_seg.shape == (96, 96)
        assert result.ori_shape == (150, 120)  # the metainfo is untouched
        assert torch.equal(result.pred_sem_seg.data,
                           (up.sigmoid() > threshold).to(up))
        # the metric at eval_scale=96 scores this very mask (the GT alone
        # is resized)
        metric = ReferSegMetric(eval_scale=96)
        metric.process({}, [result.to_dict()])
        pred = result.pred_sem_seg.data
        gt = result.gt_sem_seg.data
        assert (metric.results[0]['I'], metric.results[0]['U']) == (
            int((pred.bool() & gt.bool()).sum()),
            int((pred.bool() | gt.bool()).sum()))
    padded = demo_batch(1, ori_shape=(150, 120), size=96)
    padded['inputs'][0] = padded['inputs'][0][:, :, :77]
    with pytest.raises(ValueError, match='Resize\\(keep_ratio=False\\)'):
        model(**model.data_preprocessor(padded, False), mode='predict')


def test_sam2_checkpoint_reaches_backbone_and_head(tmp_path):
    """model.sam2_checkpoint: one official SAM2 file for both SAM2 sides,
    loaded by init_weights (MMEngine's init path)."""
    ckpt = str(tmp_path / 'sam2_tiny.pt')
    sam2 = official_tiny_sam2(ckpt)
    head = tiny_cfg().model.decode_head
    head.decoder_cfg = None  # SAM2's own decoder widths, as in the file
    model = build_tiny(sam2_checkpoint=ckpt, decode_head=head)
    assert model.backbone.sam2_checkpoint == ckpt
    assert model.decode_head.sam2_checkpoint == ckpt
    torch.testing.assert_close(model.backbone.image_encoder.trunk.pos_embed,
                               sam2.image_encoder.trunk.pos_embed)
    torch.testing.assert_close(
        model.decode_head.mask_decoder.output_upscaling[0].weight,
        sam2.sam_mask_decoder.output_upscaling[0].weight)
    torch.testing.assert_close(model.decode_head.no_mem_embed,
                               sam2.no_mem_embed)
