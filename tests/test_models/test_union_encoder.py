"""UnionEncoder: shapes, tokenisation errors/warnings, freezing."""
import open_clip
import pytest
import torch

from rs2sam2_mmseg.models.necks.union_encoder import MultiwayLayer
from .utils import build_tiny, tiny_cfg

TEXTS = ['the red car on the left', 'the largest storage tank']


def test_output_shapes_and_mask():
    encoder = build_tiny('union_encoder')
    out = encoder(torch.randn(2, 3, 96, 96), TEXTS)
    ids, real = encoder.tokenize(TEXTS)
    length = int(real.sum(1).max())
    assert out['vis'].shape == (2, 64, 64)  # 64 px / patch 8 = 8 x 8
    assert out['txt'].shape == (2, length, 64)
    assert out['cls'].shape == (2, 64)
    assert out['txt_mask'].dtype == torch.bool
    assert out['txt_mask'].sum(1).tolist() == real.sum(1).tolist()


def test_image_is_resized_to_its_own_size():
    encoder = build_tiny('union_encoder')
    small = encoder(torch.randn(1, 3, 96, 96), TEXTS[:1])
    large = encoder(torch.randn(1, 3, 160, 160), TEXTS[:1])
    assert small['vis'].shape == large['vis'].shape


def test_different_sentences_give_different_outputs():
    encoder = build_tiny('union_encoder').eval()
    image = torch.randn(1, 3, 96, 96).expand(2, -1, -1, -1)
    out = encoder(image, TEXTS)
    assert not torch.allclose(out['vis'][0], out['vis'][1])
    assert not torch.allclose(out['cls'][0], out['cls'][1])


def test_empty_sentence_is_an_error_naming_the_sample():
    encoder = build_tiny('union_encoder')
    with pytest.raises(ValueError, match='sent_7'):
        encoder(torch.randn(2, 3, 96, 96), ['a car', '  '],
                ['sent_6', 'sent_7'])


def test_long_sentence_is_truncated_with_a_warning():
    encoder = build_tiny('union_encoder')
    long = ' '.join(['the red car left of the white building'] * 6)
    with pytest.warns(UserWarning, match='sample sent_3 .*truncated to'):
        out = encoder(torch.randn(1, 3, 96, 96), [long], ['sent_3'])
    assert out['txt'].shape[1] == encoder.text.context_length


@pytest.mark.parametrize('frozen', ['vision', 'text'])
def test_frozen_towers(frozen):
    encoder = build_tiny('union_encoder', **{f'freeze_{frozen}': True})
    encoder.train()
    tower = encoder.visual if frozen == 'vision' else encoder.text
    other = encoder.text if frozen == 'vision' else encoder.visual
    assert not tower.training and other.training
    out = encoder(torch.randn(2, 3, 96, 96), TEXTS)
    # squares: a plain sum of LayerNorm outputs has no gradient (the last
    # layer's text FFN would pass on float noise alone)
    sum((out[key]**2).sum() for key in ('cls', 'vis', 'txt')).backward()
    assert all(p.grad is None for p in tower.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in other.parameters())
    assert all(p.grad.abs().sum() > 0 for p in encoder.layers.parameters())


def test_towers_from_a_local_open_clip_file(tmp_path):
    cfg = tiny_cfg().model.union_encoder
    clip = open_clip.create_model(
        cfg.model_name, force_custom_text=True, **cfg.model_kwargs)
    path = tmp_path / 'clip.pt'
    torch.save(clip.state_dict(), path)
    loaded = build_tiny('union_encoder', pretrained=str(path))
    torch.testing.assert_close(loaded.visual.conv1.weight,
                               clip.visual.conv1.weight)
    torch.testing.assert_close(loaded.text.token_embedding.weight,
                               clip.text.token_embedding.weight)
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        build_tiny('union_encoder', pretrained=str(tmp_path / 'missing.pt'))


def test_token_vocab_gives_its_words_rows_of_their_own():
    words = ['the', 'red', 'car', 'on', 'left']
    encoder = build_tiny('union_encoder', token_vocab=words)
    embedding = encoder.text.token_embedding
    # the words, start, end and padding, and one row for every other token
    assert embedding.num_embeddings == len(words) + 3 + 1
    assert 0.01 < embedding.weight.std().item() < 0.03  # open_clip's 0.02
    ids, real = encoder.tokenize(['the red car on the left'])
    assert real.sum().item() == 8
    assert ids[real].unique().numel() == 7  # 'the' twice
    assert ids.max() < embedding.num_embeddings - 1
    assert (ids[~real] == 0).all()
    with pytest.warns(UserWarning, match="sent_2: 1 token.* 'the blue car'"):
        ids, _ = encoder.tokenize(['the blue car'], ['sent_2'])
    assert ids[0, 2] == embedding.num_embeddings - 1
    out = encoder(torch.randn(1, 3, 96, 96), ['the red car on the left'])
    (out['cls']**2).sum().backward()
    assert embedding.weight.grad.abs().sum() > 0


def test_token_vocab_errors(tmp_path):
    with pytest.raises(ValueError, match='non-empty list of words'):
        build_tiny('union_encoder', token_vocab='the red car')
    path = tmp_path / 'clip.pt'
    path.touch()
    with pytest.raises(ValueError, match='pretrained checkpoint'):
        build_tiny('union_encoder', pretrained=str(path), token_vocab=['a'])


def test_a_sentence_encodes_the_same_padded_in_a_batch():
    # 'the red car' padded to the length of a longer sentence of its batch:
    # the fusion layers must not attend to the padding tokens
    torch.manual_seed(0)
    encoder = build_tiny('union_encoder').eval()
    short, long = 'the red car', 'the small white ship left of the big tank'
    images = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        alone = encoder(images[:1], [short])
        batch = encoder(images, [short, long])
    length = alone['txt'].shape[1]
    assert length == 5  # sot + 3 words + eot
    assert batch['txt'].shape[1] > length
    assert batch['txt_mask'][0].tolist() == [True] * length + [False] * (
        batch['txt'].shape[1] - length)
    for key in ('cls', 'vis'):
        torch.testing.assert_close(batch[key][:1], alone[key], msg=key)
    torch.testing.assert_close(batch['txt'][:1, :length], alone['txt'])


def test_image_tower_gets_the_clip_normalisation_of_the_raw_pixels():
    # the input arrives normalised for SAM2 (ImageNet mean / std, 0-255);
    # the CLIP tower must see OpenAI CLIP's normalisation of the same
    # pixels: (raw / 255 - mean) / std, mean (0.48145466, 0.4578275,
    # 0.40821073), std (0.26862954, 0.26130258, 0.27577711)
    encoder = build_tiny('union_encoder').eval()
    raw = torch.tensor([200., 100., 30.]).view(1, 3, 1, 1)  # R, G, B
    sam2_mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    sam2_std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    inputs = ((raw - sam2_mean) / sam2_std).expand(1, 3, 64, 64)
    seen = []
    encoder.visual.register_forward_pre_hook(
        lambda module, args: seen.append(args[0]))
    with torch.no_grad():
        encoder(inputs, TEXTS[:1])
    clip_mean = torch.tensor([0.48145466, 0.4578275, 0.40821073])
    clip_std = torch.tensor([0.26862954, 0.26130258, 0.27577711])
    expected = (raw.view(3) / 255 - clip_mean) / clip_std
    assert seen[0].shape == (1, 3, 64, 64)  # image_size 64: no resizing
    torch.testing.assert_close(seen[0][0, :, 5, 7], expected)


def test_multiway_layer_routes_each_modality_to_its_expert():
    # attention output zeroed: each token gets only its expert's FFN,
    # x + FFN(LN(x)), the class token and the vision tokens the vision one
    torch.manual_seed(0)
    layer = MultiwayLayer(8, 2, mlp_ratio=2., dropout=0.)
    torch.nn.init.zeros_(layer.attn.out_proj.weight)
    torch.nn.init.zeros_(layer.attn.out_proj.bias)
    tokens = torch.randn(2, 7, 8)  # class token, 4 vision, 2 text
    padding = torch.zeros(2, 7, dtype=torch.bool)
    out = layer(tokens, padding, num_vision=5)
    vis, txt = tokens[:, :5], tokens[:, 5:]
    torch.testing.assert_close(out[:, :5],
                               vis + layer.ffn_vis(layer.norm_vis(vis)))
    torch.testing.assert_close(out[:, 5:],
                               txt + layer.ffn_txt(layer.norm_txt(txt)))
