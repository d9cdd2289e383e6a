"""Memory/speed levers change nothing numerically (tiny config).

Activation checkpointing (backbone ``with_cp``) is covered next to the
backbone, in test_sam2_hiera_bhf.py; the speed and memory the levers buy
are measured by tools/benchmark.py, never asserted here.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from rs2sam2_mmseg.benchmark import set_sam2_input_size
from .utils import REPO, build_tiny, demo_batch, tiny_cfg


def _perturbed_tiny():
    """The tiny model with its zero-initialised layers made non-zero."""
    torch.manual_seed(0)
    model = build_tiny()
    with torch.no_grad():
        for param in model.parameters():
            if not param.abs().sum():
                param.normal_(std=0.02)
    return model


def _loss(model, data):
    losses = model(**data, mode='loss')
    return losses, model.parse_losses(losses)[0]


def test_bf16_autocast_matches_fp32():
    model = _perturbed_tiny()
    data = model.data_preprocessor(demo_batch(2), True)
    model.eval()
    with torch.no_grad():
        ref = model(**data, mode='tensor')
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(**data, mode='tensor')
    assert low.dtype == torch.float32  # the head returns fp32 logits
    # bf16 keeps 8 bits of mantissa: agree to a few percent of the range
    torch.testing.assert_close(
        low, ref, rtol=0, atol=0.05 * ref.abs().max().item())
    model.train()
    runs = []
    for enabled in (False, True):
        model.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=enabled):
            losses, loss = _loss(model, data)
        loss.backward()
        grad = torch.cat([
            p.grad.flatten() for p in model.parameters() if p.grad is not None
        ])
        runs.append((losses, grad))
    (ref_losses, ref_grad), (losses, grad) = runs
    for key, value in losses.items():
        assert value.dtype == torch.float32, key
        torch.testing.assert_close(
            value, ref_losses[key], rtol=0.05, atol=1e-3, msg=key)
    assert torch.cosine_similarity(grad, ref_grad, dim=0) > 0.99


def test_paper_config_trains_with_bf16_autocast():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'rs2sam2_rrsisd.py'))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'


def test_frozen_sam2_blocks_build_no_graph():
    model = build_tiny(
        backbone=dict(
            tiny_cfg().model.backbone,
            adapter_blocks=[2, 4],
            freeze_image_encoder=True))
    model.train()
    blocks = model.backbone.image_encoder.trunk.blocks
    tracks_grad = {}
    for index, block in enumerate(blocks):
        # block.mlp runs in adapted and plain blocks alike
        block.mlp.register_forward_hook(
            lambda module, args, out, index=index: tracks_grad.update(
                {index: out.requires_grad}))
    _, loss = _loss(model, model.data_preprocessor(demo_batch(2), True))
    loss.backward()
    first = model.backbone.first_adapted
    assert first == 2
    # before the first adapter: no graph at all; from it on only the graph
    # the adapters need (input gradients through frozen weights)
    assert tracks_grad == {i: i >= first for i in range(len(blocks))}
    encoder = model.backbone.image_encoder
    assert not any(p.requires_grad or p.grad is not None
                   for p in encoder.parameters())
    assert model.backbone.adapters['2'].down.weight.grad is not None


@pytest.mark.parametrize('size', [64, 128])
def test_union_encoder_size_is_independent_of_sam2_input_size(size):
    cfg = set_sam2_input_size(tiny_cfg(), size)
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(demo_batch(1, size=size), True)
    assert data['inputs'].shape == (1, 3, size, size)
    union = model.union_encoder(data['inputs'], ['the red car'])
    grid = model.union_encoder.grid_size
    assert grid == (8, 8)  # 64 px tower, patch 8, whatever the SAM2 size
    assert union['vis'].shape == (1, grid[0] * grid[1], 64)
    head = model.decode_head
    assert head.prompt_encoder.image_embedding_size == (size // 16, ) * 2
    assert head.prompt_encoder.mask_input_size == (size // 4, ) * 2
    logits = model(**data, mode='tensor')
    assert logits.shape == (1, 1, size // 4, size // 4)


def test_sam2_input_size_must_tile_hiera():
    with pytest.raises(ValueError, match='multiple of 32'):
        set_sam2_input_size(tiny_cfg(), 100)
