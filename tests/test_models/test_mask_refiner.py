"""ImageGuidedMaskRefiner: starts as bilinear upsampling, learns, checks."""
import pytest
import torch
import torch.nn.functional as F

from rs2sam2_mmseg.models import ImageGuidedMaskRefiner
from .test_mask_prompt_head import _inputs
from .utils import build_tiny, demo_batch


def _refiner_inputs(batch=2, size=96):
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(batch, 1, size // 4, size // 4, generator=gen),
            torch.randn(batch, 3, size, size, generator=gen),
            torch.randn(batch, 32, size // 4, size // 4, generator=gen))


def test_starts_as_bilinear_upsampling_at_full_resolution():
    refiner = ImageGuidedMaskRefiner(feat_dims=32)
    logits, image, feat = _refiner_inputs()
    out = refiner(logits, image, feat)
    assert out.shape == (2, 1, 96, 96)
    torch.testing.assert_close(
        out,
        F.interpolate(logits, (96, 96), mode='bilinear', align_corners=False))


def test_learns_a_sharper_mask_from_the_image():
    # the object is bright in the image; the coarse logits are a blurred
    # version of its mask: a few steps must bring the refined mask closer
    torch.manual_seed(0)
    target = torch.zeros(4, 1, 96, 96)
    target[..., 30:53, 41:70] = 1
    image = target.expand(-1, 3, -1, -1) * 2 - 1
    # (4, 1, 24, 24)
    logits = torch.logit(F.avg_pool2d(target, 4).clamp(0.05, 0.95))
    feat = torch.zeros(4, 32, 24, 24)
    refiner = ImageGuidedMaskRefiner(feat_dims=32)
    optim = torch.optim.Adam(refiner.parameters(), lr=1e-2)

    def loss():
        return F.binary_cross_entropy_with_logits(
            refiner(logits, image, feat), target)

    before = loss().item()
    for _ in range(30):
        optim.zero_grad()
        value = loss()
        value.backward()
        optim.step()
    assert loss().item() < 0.5 * before


def test_input_size_not_divisible_by_scale_is_a_clear_error():
    refiner = ImageGuidedMaskRefiner(feat_dims=32, scale=8)
    logits, image, feat = _refiner_inputs()
    with pytest.raises(ValueError, match='divisible by its scale 8'):
        refiner(logits, image[..., :92, :92], feat)


def test_head_with_refiner_predicts_at_the_input_resolution():
    head = build_tiny(
        'decode_head', refiner=dict(type='ImageGuidedMaskRefiner'))
    feats, union = _inputs()
    with pytest.raises(ValueError, match='needs the input images'):
        head(feats, union)
    images = torch.randn(2, 3, 96, 96)
    assert head(feats, union, images)['seg_logits'].shape == (2, 1, 96, 96)
    losses = head.loss(feats, union, demo_batch(2)['data_samples'], images)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is not None for p in head.refiner.parameters())


def test_segmentor_with_refiner_predicts_at_ori_shape():
    model = build_tiny()
    model.decode_head = build_tiny(
        'decode_head', refiner=dict(type='ImageGuidedMaskRefiner'))
    model.eval()
    batch = demo_batch(2, ori_shape=(150, 120))
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        assert model(**data, mode='tensor').shape == (2, 1, 96, 96)
        results = model(**data, mode='predict')
    assert [r.pred_sem_seg.shape for r in results] == [(150, 120)] * 2
