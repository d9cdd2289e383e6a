"""RS2SAM2 end to end on the tiny config."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from .utils import build_tiny, demo_batch


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
])
def test_bad_test_cfg_is_a_clear_error(test_cfg, error, match):
    with pytest.raises(error, match=match):
        build_tiny(test_cfg=test_cfg)
