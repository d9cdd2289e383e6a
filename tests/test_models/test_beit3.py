"""BEiT3: equal to torchscale's (fixtures), padding, large layout."""
import pytest
import torch
from torch.utils.checkpoint import checkpoint

from rs2sam2_mmseg.models.necks import BEiT3, beit3
from .beit3_fixtures import load_json, load_tiny_beit3, tiny_beit3_kwargs


def build_tiny(**kwargs) -> BEiT3:
    """Our BEiT3 holding the fixture's torchscale weights, in eval mode."""
    fixture = load_tiny_beit3()
    model = BEiT3(**tiny_beit3_kwargs(fixture), **kwargs)
    model.load_state_dict(fixture['state_dict'], strict=True)
    return model.eval()


def test_equals_torchscale():
    fixture = load_tiny_beit3()
    with torch.no_grad():
        out = build_tiny()(fixture['images'], fixture['text_ids'],
                           fixture['text_padding'])
    torch.testing.assert_close(out, fixture['encoder_out'], atol=1e-5, rtol=0)


def test_padding_changes_nothing_on_real_tokens():
    fixture = load_tiny_beit3()
    model = build_tiny()
    image = fixture['images'][1:]
    ids = fixture['text_ids'][1:]  # 4 real tokens, then 2 of padding
    real = int((~fixture['text_padding'][1]).sum())
    with torch.no_grad():
        alone = model(image, ids[:, :real])
        longer = torch.nn.functional.pad(ids, (0, 3), value=3)
        padded = model(image, longer, longer == 3)
    tokens = alone.shape[1]  # CLS + patches + real text
    torch.testing.assert_close(padded[:, :tokens], alone, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        padded[:, :tokens],
        fixture['encoder_out'][1:, :tokens],
        atol=1e-5,
        rtol=0)


def test_large_layout_equals_torchscale():
    with torch.device('meta'):
        model = BEiT3()  # the defaults are BEiT-3 large
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert shapes == load_json('beit3_large_keys.json')
    assert len(shapes) == 971
    # per layer and expert: q/k/v/out (C^2 + C) each, 3 LayerNorms of C
    # (attention pre-norm, sub-LN, FFN pre-norm), fc1 (CF + F), FFN sub-LN
    # (2F), fc2 (FC + C); outside the layers: tokens VC, patch conv
    # 3P^2C + C, cls and mask tokens 2C, positions (197 + 2)C and 1024C,
    # the output LayerNorm of each expert 2 x 2C
    c, f, vocab = 1024, 4096, 64010
    expert = 4 * (c * c + c) + 3 * 2 * c + (c * f + f) + 2 * f + (f * c + c)
    rest = (
        vocab * c + 3 * 16**2 * c + c + 2 * c + (197 + 2) * c + 1024 * c +
        2 * 2 * c)
    assert 24 * 2 * expert + rest == 672_702_464
    assert sum(v.numel() for v in model.state_dict().values()) == 672_702_464


def test_drop_path_only_in_training():
    fixture = load_tiny_beit3()
    model = build_tiny(drop_path_rate=0.5)
    inputs = (fixture['images'], fixture['text_ids'], fixture['text_padding'])
    with torch.no_grad():
        torch.testing.assert_close(
            model(*inputs), fixture['encoder_out'], atol=1e-5, rtol=0)
        torch.manual_seed(0)
        trained = model.train()(*inputs)
    assert not torch.allclose(trained, fixture['encoder_out'], atol=1e-3)
    # linear from 0 at the first layer to the rate at the last
    assert [layer.drop_path.drop_prob
            for layer in model.encoder.layers[1:]] == [0.5]


def test_activation_checkpointing_gives_the_same_gradients(monkeypatch):
    fixture = load_tiny_beit3()
    inputs = (fixture['images'], fixture['text_ids'], fixture['text_padding'])
    calls = []
    monkeypatch.setattr(
        beit3, 'checkpoint',
        lambda *args, **kwargs: calls.append(1) or checkpoint(*args, **kwargs))
    grads = []
    for with_cp in (False, True):
        model = build_tiny(with_cp=with_cp).train()
        model(*inputs).square().sum().backward()
        grads.append(model.encoder.layers[0].ffn.B.fc1.weight.grad)
        with torch.no_grad():
            model(*inputs)  # no checkpointing without gradients
    assert len(calls) == 2  # each layer, only with_cp in training
    torch.testing.assert_close(grads[0], grads[1])


def test_mask_token_is_frozen_and_image_size_checked():
    model = build_tiny()
    assert not model.vision_embed.mask_token.requires_grad
    ids = load_tiny_beit3()['text_ids'][:1]
    with pytest.raises(ValueError, match=r'takes 16x16 images, got \(32, 32'):
        model(torch.zeros(1, 3, 32, 32), ids)
    with pytest.raises(ValueError, match='11 text tokens exceed the 10'):
        model(torch.zeros(1, 3, 16, 16), ids[:, :1].expand(1, 11))
