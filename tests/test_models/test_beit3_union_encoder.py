"""BEiT3UnionEncoder: official slicing, tokenization, checkpoint loading."""
import warnings

import pytest
import torch
from mmseg.registry import MODELS

from rs2sam2_mmseg.models.necks import BEiT3UnionEncoder, beit3_union_encoder
from rs2sam2_mmseg.models.utils import resize_square
from rs2sam2_mmseg.utils import UserInputError
from .beit3_fixtures import SPM_FILE

TEXTS = ['the red car on the left', 'ships near 12 cranes (3 are yellow)']
TINY = dict(
    type='BEiT3UnionEncoder',
    spm_file=SPM_FILE,
    arch=dict(embed_dims=32, num_layers=2, num_heads=4, ffn_dims=48),
    vocab_size=96,
    image_size=32,
    patch_size=16,
    max_text_positions=32,
    text_out_dims=8)


def build_tiny(**kwargs) -> BEiT3UnionEncoder:
    torch.manual_seed(0)
    return MODELS.build({**TINY, **kwargs}).eval()


def test_outputs_are_the_official_slices():
    encoder = build_tiny()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = encoder(torch.randn(2, 3, 64, 64), TEXTS, union_inputs=images)
        ids, mask = encoder.tokenizer(TEXTS)
        ref = encoder.beit3(images, ids, ~mask)
    length = ids.shape[1]
    # 28 ids, 3 of them unknown pieces, which the official mask drops too
    assert length == 28 and mask.sum(1).tolist() == [12, 25]
    assert out['vis'].shape == (2, 4, 32)
    assert out['cls'].shape == (2, 32)
    assert out['txt'].shape == (2, length, 8)
    # evf_sam.py: visual_len = len_all - text_len - 1
    torch.testing.assert_close(out['cls'], ref[:, 0])
    torch.testing.assert_close(out['vis'], ref[:, 1:ref.shape[1] - length])
    torch.testing.assert_close(out['txt'], encoder.text_proj(ref[:, -length:]))
    assert out['txt_mask'].tolist() == mask.tolist()


def test_inputs_are_resized_without_union_inputs():
    encoder = build_tiny(text_out_dims=None)
    inputs = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = encoder(inputs, TEXTS[:1])
        ref = encoder(
            torch.zeros(1, 3, 8, 8),
            TEXTS[:1],
            union_inputs=resize_square(inputs, 32))
    for key in ('vis', 'cls', 'txt'):
        torch.testing.assert_close(out[key], ref[key])
    assert out['txt'].shape == (1, 12, 32)  # no projection


def test_missing_spm_file_names_the_config_key():
    with pytest.raises(FileNotFoundError,
                       match='model.union_encoder.spm_file=PATH'):
        build_tiny(spm_file=None)


def test_empty_sentence_is_an_error_naming_the_sample():
    with pytest.raises(ValueError, match='sample sent_7'):
        build_tiny()(torch.randn(2, 3, 32, 32), ['a car', ' '],
                     ['sent_6', 'sent_7'])


def test_long_sentence_is_truncated_with_a_warning():
    encoder = build_tiny()
    long = ' '.join(['the red car on the left'] * 4)
    with pytest.warns(
            UserWarning,
            match='sample sent_3 has 42 tokens; '
            'truncated to the 30'):
        out = encoder(torch.randn(1, 3, 32, 32), [long], ['sent_3'])
    assert out['txt'].shape[1] == 30 and out['txt_mask'].all()
    with pytest.warns(UserWarning, match='truncated'):
        ids, _ = encoder.tokenize([long])
    assert ids[0].tolist() == encoder.tokenizer.encode(long)[:30]


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown BEiT-3 arch 'huge'"):
        build_tiny(arch='huge')
    with pytest.raises(
            ValueError, match='ids up to 80 but BEiT-3 has '
            'vocab_size 64'):
        build_tiny(vocab_size=64)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build_tiny(pretrained='/nonexistent/nope.pth')
    with pytest.raises(
            ValueError, match='1 referring expressions for 2 '
            'images'):
        build_tiny()(torch.randn(2, 3, 32, 32), TEXTS[:1])


def test_pretrained_is_loaded_in_init_weights(tmp_path, monkeypatch):
    source = build_tiny()
    state = {f'beit3.{k}': v for k, v in source.beit3.state_dict().items()}
    del state['beit3.encoder.layer_norm.B.bias']
    state['vision_head.weight'] = torch.zeros(3)
    path = str(tmp_path / 'beit3.pth')
    torch.save(dict(model=state), path)
    encoder = build_tiny(pretrained=path)
    logged = []
    monkeypatch.setattr(beit3_union_encoder, 'print_log',
                        lambda msg, logger: logged.append(msg))
    encoder.init_weights()
    loaded, ref = encoder.beit3.state_dict(), source.beit3.state_dict()
    for key in ('text_embed.weight', 'encoder.layers.1.ffn.A.fc2.weight',
                'vision_embed.cls_token'):
        torch.testing.assert_close(loaded[key], ref[key])
    log, = logged
    assert f'{len(ref) - 1} of {len(ref)} tensors loaded, 1 missing' in log
    assert "1 keys outside 'beit3.' ignored" in log
    assert "e.g. ['vision_head.weight']" in log


@pytest.mark.parametrize('content, message', [
    (dict(model=dict(head=torch.zeros(1))), 'No key of .* is a BEiT-3 key'),
    (dict(state_dict={}), 'expected a dict with a "model"'),
    (b'PK\x03\x04 cut short', 'other.pth is not a complete checkpoint'),
])
def test_unrelated_checkpoint_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / 'other.pth'
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    encoder = build_tiny(pretrained=str(path))
    with pytest.raises(UserInputError, match=message):
        encoder.init_weights()


def test_truncation_starts_one_token_past_the_positions():
    # TEXTS[0] has 12 tokens; a table of P rows holds P - 2 tokens
    image = torch.randn(1, 3, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = build_tiny(max_text_positions=14)(image, TEXTS[:1])
    assert out['txt'].shape[1] == 12
    with pytest.warns(UserWarning, match='has 12 tokens; truncated to the 11'):
        build_tiny(max_text_positions=13)(image, TEXTS[:1])


def test_every_trainable_parameter_gets_a_gradient():
    # DDP without find_unused_parameters; the unused MIM token is frozen
    encoder = build_tiny().train()
    out = encoder(torch.randn(2, 3, 32, 32), TEXTS)
    sum(out[key].sum() for key in ('vis', 'cls', 'txt')).backward()
    unused = [
        name for name, param in encoder.named_parameters()
        if param.requires_grad and param.grad is None
    ]
    assert unused == []
    assert not encoder.beit3.vision_embed.mask_token.requires_grad
