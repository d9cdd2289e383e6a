"""SAM2HieraBHF: shapes, identity with SAM2, frozen weights, adapters."""
import pytest
import torch
from sam2.modeling.backbones.hieradet import MultiScaleBlock

from rs2sam2_mmseg.models.backbones.bhf_adapter import (BHFAdapter,
                                                        TextVisualGate)
from rs2sam2_mmseg.models.utils.param_summary import count_parameters
from rs2sam2_mmseg.utils import UserInputError
from .official_fixtures import load, split_block
from .utils import build_tiny, official_tiny_sam2, tiny_cfg


def _union(batch=2, length=5, dims=64, grid=64):
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[0, -2:] = False  # padding in the first sentence
    return dict(
        txt=torch.randn(batch, length, dims),
        txt_mask=mask,
        vis=torch.randn(batch, grid, dims))


def test_output_shapes():
    backbone = build_tiny('backbone')
    out = backbone(torch.randn(2, 3, 96, 96), _union())
    assert [f.shape for f in out['backbone_fpn']] == [(2, 32, 24, 24),
                                                      (2, 32, 12, 12),
                                                      (2, 32, 6, 6)]
    assert [p.shape for p in out['vision_pos_enc']
            ] == [f.shape for f in out['backbone_fpn']]
    assert out['txt'].shape == (2, 5, 64)


def test_official_checkpoint_loads_and_starts_as_exact_sam2(tmp_path):
    ckpt = str(tmp_path / 'sam2_tiny.pt')
    sam2 = official_tiny_sam2(ckpt)
    backbone = build_tiny('backbone')
    report = backbone.load_sam2_weights(
        torch.load(ckpt, weights_only=True)['model'], ckpt)
    expected = {
        k[len('image_encoder.'):]
        for k in sam2.state_dict() if k.startswith('image_encoder.')
    }
    assert set(report['matched']) == expected
    assert not report['missing'] and not report['unexpected']
    images = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        ref = sam2.image_encoder(images)
        out = backbone(images, _union())
    for got, want in zip(out['backbone_fpn'], ref['backbone_fpn']):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    for got, want in zip(out['vision_pos_enc'], ref['vision_pos_enc']):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_init_weights_reads_checkpoint_file(tmp_path):
    ckpt = str(tmp_path / 'sam2_tiny.pt')
    sam2 = official_tiny_sam2(ckpt)
    backbone = build_tiny('backbone', sam2_checkpoint=ckpt)
    torch.testing.assert_close(backbone.image_encoder.trunk.pos_embed,
                               sam2.image_encoder.trunk.pos_embed)


def test_bad_checkpoints_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        build_tiny('backbone', sam2_checkpoint=str(tmp_path / 'missing.pt'))
    other = tmp_path / 'other.pt'
    torch.save({'model': {'memory_encoder.x': torch.zeros(1)}}, other)
    with pytest.raises(UserInputError, match='other.pt'):
        build_tiny('backbone', sam2_checkpoint=str(other))
    flat = tmp_path / 'flat.pt'
    torch.save({'image_encoder.x': torch.zeros(1)}, flat)
    with pytest.raises(UserInputError, match='not an official SAM2'):
        build_tiny('backbone', sam2_checkpoint=str(flat))
    # a user's file: one line (UserInputError), never torch's traceback
    cut = tmp_path / 'cut.pt'
    cut.write_bytes(other.read_bytes()[:200])
    with pytest.raises(UserInputError, match='cut.pt is not a complete'):
        build_tiny('backbone', sam2_checkpoint=str(cut))


def test_frozen_sam2_and_trainable_adapters():
    backbone = build_tiny('backbone')
    backbone.train()
    assert not backbone.image_encoder.training
    assert not any(p.requires_grad
                   for p in backbone.image_encoder.parameters())
    out = backbone(torch.randn(2, 3, 96, 96), _union())
    loss = sum(f.square().mean() for f in out['backbone_fpn'])
    loss = loss + out['txt'].square().mean()
    loss.backward()
    assert all(p.grad is None for p in backbone.image_encoder.parameters())
    for name, adapter in backbone.adapters.items():
        # zero-initialised output layers get gradient at the first step
        assert adapter.up.weight.grad.abs().sum() > 0, name
        assert adapter.mlp_adapter[-1].weight.grad.abs().sum() > 0, name
        assert adapter.text_out.weight.grad.abs().sum() > 0, name
    assert backbone.gate.gate.grad.abs().sum() > 0


def test_all_adapter_parameters_learn_after_one_step():
    backbone = build_tiny('backbone')
    optim = torch.optim.SGD(
        [p for p in backbone.parameters() if p.requires_grad], lr=0.1)
    images, union = torch.randn(2, 3, 96, 96), _union()
    for _ in range(2):
        optim.zero_grad()
        out = backbone(images, union)
        sum(f.square().mean() for f in out['backbone_fpn']).backward()
        optim.step()
    for name, param in backbone.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and param.grad.abs().sum() > 0, \
                name


def test_activation_checkpointing_is_identical_and_keeps_less():
    plain = build_tiny('backbone')
    ckpt = build_tiny('backbone', with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    for model in (plain, ckpt):
        with torch.no_grad():  # make the adapters non-identity
            for p in model.adapters.parameters():
                p.copy_(0.05 *
                        torch.sin(torch.arange(p.numel()).view_as(p) * 1.))
        model.train()
    images, union = torch.randn(2, 3, 96, 96), _union()
    outs, saved = [], []
    for model in (plain, ckpt):
        # bytes autograd keeps for backward (checkpointed blocks keep
        # only their inputs; their own saves go to the checkpoint's hooks)
        sizes = []

        def pack(tensor):
            sizes.append(tensor.numel() * tensor.element_size())
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = model(images, union)
        saved.append(sum(sizes))
        sum(f.square().mean() for f in out['backbone_fpn']).backward()
        outs.append(out['backbone_fpn'][-1])
    torch.testing.assert_close(outs[0], outs[1])
    assert saved[1] < 0.3 * saved[0], saved
    for (name, p), q in zip(plain.adapters.named_parameters(),
                            ckpt.adapters.parameters()):
        assert torch.isfinite(p.grad).all(), name
        torch.testing.assert_close(p.grad, q.grad)


def test_adapter_block_selection():
    backbone = build_tiny('backbone', adapter_blocks=[2, 4])
    assert sorted(backbone.adapters) == ['2', '4']
    assert backbone.first_adapted == 2
    out = backbone(torch.randn(1, 3, 96, 96), _union(batch=1))
    assert out['backbone_fpn'][-1].shape == (1, 32, 6, 6)
    with pytest.raises(ValueError, match='adapter_blocks'):
        build_tiny('backbone', adapter_blocks=[99])


def test_unfrozen_encoder_trains_for_models_without_sam2_weights():
    backbone = build_tiny('backbone', freeze_image_encoder=False)
    backbone.train()
    assert backbone.image_encoder.training
    out = backbone(torch.randn(2, 3, 96, 96), _union())
    sum(f.square().mean() for f in out['backbone_fpn']).backward()
    trunk = backbone.image_encoder.trunk
    assert trunk.patch_embed.proj.weight.grad.abs().sum() > 0
    assert trunk.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


def test_adapter_reads_the_running_text_normalised():
    # each adapter normalises the text it reads: a text stream that grew
    # large over the blocks cannot blow up the cross-attention (it did:
    # gradients of 1e6 at iteration 63, then NaN)
    torch.manual_seed(0)
    adapter = BHFAdapter(dims=24, text_dims=16, ratio=1.0, num_heads=2)
    torch.nn.init.normal_(adapter.up.weight)
    x, text = torch.randn(2, 4, 4, 24), torch.randn(2, 5, 16)
    mask = torch.ones(2, 5, dtype=torch.bool)
    x_small, _ = adapter.fuse(x, text, mask)
    x_large, _ = adapter.fuse(x, 1e4 * text, mask)
    torch.testing.assert_close(x_large, x_small, rtol=1e-4, atol=1e-4)


def test_inputs_are_resized_to_the_sam2_image_size():
    overrides = tiny_cfg().model.backbone.sam2_overrides
    backbone = build_tiny(
        'backbone', sam2_overrides=dict(overrides, image_size=64))
    images, union = torch.randn(2, 3, 96, 96), _union()
    with torch.no_grad():
        out = backbone(images, union)
        small = torch.nn.functional.interpolate(
            images, (64, 64), mode='bilinear', antialias=True)
        ref = backbone(small, union)
    assert [f.shape[-1] for f in out['backbone_fpn']] == [16, 8, 4]
    for got, want in zip(out['backbone_fpn'], ref['backbone_fpn']):
        torch.testing.assert_close(got, want)


OFFICIAL_LAYOUT = dict(
    adapter_layout='official',
    text_norm=False,
    zero_init=False,
    with_gate=False)


def _official_block(name):
    """Our SAM2 block + official-layout adapter with the fixture weights."""
    fx = load(f'block_{name}')
    block = MultiScaleBlock(**fx['config']).eval()
    block_state, adapter_state = split_block(fx['state_dict'])
    block.load_state_dict(block_state)
    adapter = BHFAdapter(
        fx['config']['dim_out'],
        256,
        layout='official',
        text_norm=False,
        zero_init=False)
    adapter.load_state_dict(adapter_state)  # strict: every key renamed
    return fx, block, adapter


@pytest.mark.parametrize('name', ['window', 'pool', 'global'])
def test_official_layout_matches_the_official_block(name):
    fx, block, adapter = _official_block(name)
    mask = torch.ones(fx['text'].shape[:2], dtype=torch.bool)
    with torch.no_grad():
        out, text = adapter(block, fx['x'], fx['text'], mask)
    torch.testing.assert_close(out, fx['out'], atol=1e-5, rtol=0)
    torch.testing.assert_close(text, fx['text_out'], atol=1e-5, rtol=0)


def test_official_layout_masks_padded_text():
    # the official code has no mask (one sentence per batch): a padded
    # sentence gives what the sentence alone gives
    fx, block, adapter = _official_block('window')
    x, text = fx['x'], fx['text']
    mask = torch.ones(text.shape[:2], dtype=torch.bool)
    mask[0, 3:] = False
    padded = text.clone()
    padded[0, 3:] = 1e3
    with torch.no_grad():
        out, new_text = adapter(block, x, padded, mask)
        alone, alone_text = adapter(block, x[:1], text[:1, :3], mask[:1, :3])
    torch.testing.assert_close(out[:1], alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(new_text[:1, :3], alone_text, atol=1e-5, rtol=0)


def test_official_layout_options():
    backbone = build_tiny('backbone', **OFFICIAL_LAYOUT)
    assert backbone.gate is None
    adapter = backbone.adapters['0']
    assert adapter.layout == 'official' and adapter.text_norm is None
    assert {k.rsplit('.', 1)[0]
            for k in adapter.state_dict()} == {
                'down', 'up', 'text_in', 'text_out', 'vision_to_text',
                'text_to_vision', 'vision_to_text.out_proj',
                'text_to_vision.out_proj', 'mlp_adapter.0', 'mlp_adapter.2'
            }
    # PyTorch's default init: the adapters change SAM2 from the start
    assert adapter.up.weight.abs().sum() > 0
    assert adapter.mlp_adapter[-1].weight.abs().sum() > 0
    union = _union()
    del union['vis']  # only the gate reads it
    out = backbone(torch.randn(2, 3, 96, 96), union)
    assert [f.shape for f in out['backbone_fpn']] == [(2, 32, 24, 24),
                                                      (2, 32, 12, 12),
                                                      (2, 32, 6, 6)]
    with pytest.raises(ValueError, match='layout'):
        BHFAdapter(8, 8, layout='parallel')


def _nonzero_(module, std=0.3):
    """Give every parameter a non-zero value: a zero-initialised output
    layer would hide whatever reaches it (a dropped padding mask)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for param in module.parameters():
            param.normal_(std=std)
    return module


def _pad_text(text, mask, extra=3):
    """The text with ``extra`` padding tokens of random values appended."""
    padded = torch.cat([text, 5 * torch.randn(len(text), extra,
                                              text.shape[-1])], 1)
    return padded, torch.cat([mask, mask.new_zeros(len(text), extra)], 1)


def test_adapter_ignores_text_padding():
    adapter = _nonzero_(BHFAdapter(dims=24, text_dims=16, num_heads=2))
    x, text = torch.randn(2, 4, 4, 24), torch.randn(2, 5, 16)
    mask = torch.ones(2, 5, dtype=torch.bool)
    x_ref, text_ref = adapter.fuse(x, text, mask)
    x_pad, text_pad = adapter.fuse(x, *_pad_text(text, mask))
    torch.testing.assert_close(x_pad, x_ref)
    torch.testing.assert_close(text_pad[:, :5], text_ref)


def test_gate_ignores_text_padding():
    gate = _nonzero_(TextVisualGate(dims=32, text_dims=16, num_heads=4))
    embed, pos = torch.randn(2, 32, 6, 6), torch.randn(2, 32, 6, 6)
    text, vis = torch.randn(2, 5, 16), torch.randn(2, 16, 16)
    mask = torch.ones(2, 5, dtype=torch.bool)
    ref = gate(embed, pos, text, mask, vis)
    padded = gate(embed, pos, *_pad_text(text, mask), vis)
    torch.testing.assert_close(padded, ref)
    assert not torch.allclose(ref, embed)  # the gate is not identity here


def test_backbone_output_does_not_depend_on_text_padding():
    # padding tokens travel through every block: neither an adapter nor
    # the gate may read them
    backbone = build_tiny('backbone').eval()
    _nonzero_(backbone.adapters, std=0.1)
    _nonzero_(backbone.gate, std=0.1)
    images, union = torch.randn(2, 3, 96, 96), _union()
    padded = dict(union)
    padded['txt'], padded['txt_mask'] = _pad_text(union['txt'],
                                                  union['txt_mask'])
    with torch.no_grad():
        ref, out = backbone(images, union), backbone(images, padded)
    for got, want in zip(out['backbone_fpn'], ref['backbone_fpn']):
        torch.testing.assert_close(got, want)
    real = union['txt_mask']
    torch.testing.assert_close(out['txt'][:, :5][real], ref['txt'][real])


def _linear(n_in, n_out):
    return n_in * n_out + n_out


@pytest.mark.parametrize('ratio, heads, hidden', [(0.25, 2, 6), (0.3, 4, 8)])
def test_adapter_parameter_count_from_its_parts(ratio, heads, hidden):
    # d = C * ratio rounded up to a multiple of the heads: 24 * .25 = 6;
    # 24 * .3 = 7.2 -> 7 -> 8. Parts as in the class docstring
    adapter = BHFAdapter(dims=24, text_dims=16, ratio=ratio, num_heads=heads)
    d = hidden
    attention = _linear(d, 3 * d) + _linear(d, d)  # in / out projections
    expected = (
        _linear(24, d)  # W_down
        + 2 * 16  # LN of the text
        + _linear(16, d)  # W_in
        + 2 * attention  # vision -> text, text -> vision
        + _linear(d, 16)  # W_out
        + _linear(d, 24)  # W_up
        + _linear(24, d) + _linear(d, 24))  # MLP adapter
    assert count_parameters(adapter) == (expected, expected)


def test_gate_parameter_count_from_its_parts():
    gate = TextVisualGate(dims=32, text_dims=16, num_heads=4)
    # W_t, W_v, attention (in / out projections), per-channel g
    expected = 2 * _linear(16, 32) + _linear(32, 96) + _linear(32, 32) + 32
    assert count_parameters(gate) == (expected, expected)
