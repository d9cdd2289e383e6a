"""Key mapping, inspection and merging of SAM2 / open_clip / our weights."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from rs2sam2_mmseg.utils import (OPEN_CLIP_LAYOUT, RS2SAM2_LAYOUT, SAM2_LAYOUT,
                                 format_checkpoint_report, inspect_checkpoints,
                                 match_checkpoint, model_state_for_config,
                                 read_checkpoint, save_init_checkpoint)
from ..test_models.utils import TINY_CFG, build_tiny, official_tiny_sam2
from .utils import save_open_clip


@pytest.fixture(scope='module')
def model_state() -> dict:
    """The tiny model's state dict (the model ``build_tiny`` builds)."""
    return model_state_for_config(Config.fromfile(TINY_CFG))


@pytest.fixture(scope='module')
def sam2_file(tmp_path_factory) -> str:
    """An official-format tiny SAM2 checkpoint built by sam2's builder."""
    path = str(tmp_path_factory.mktemp('sam2') / 'sam2_tiny.pt')
    official_tiny_sam2(path)
    return path


def keys_under(state: dict, *prefixes: str) -> set:
    return {k for k in state if k.startswith(prefixes)}


def test_layout_rules():
    assert SAM2_LAYOUT.target('image_encoder.trunk.x') == \
        'backbone.image_encoder.trunk.x'
    assert SAM2_LAYOUT.target('no_mem_embed') == 'decode_head.no_mem_embed'
    # exact keys are not prefixes
    assert SAM2_LAYOUT.target('no_mem_embed_x') is None
    assert SAM2_LAYOUT.is_ignored('memory_encoder.fuser.w')
    assert SAM2_LAYOUT.is_ignored('maskmem_tpos_enc')
    assert OPEN_CLIP_LAYOUT.target('text.ln_final.weight') == \
        'union_encoder.text.ln_final.weight'
    assert OPEN_CLIP_LAYOUT.is_ignored('logit_scale')
    assert RS2SAM2_LAYOUT.target('backbone.gate.w') == 'backbone.gate.w'
    assert RS2SAM2_LAYOUT.target('data_preprocessor.mean') is None


def test_sam2_official(sam2_file, model_state):
    sam2 = torch.load(sam2_file)['model']
    report = match_checkpoint(sam2_file, model_state)
    assert report.layout is SAM2_LAYOUT
    assert report.num_tensors == len(sam2)
    backbone = report.components['backbone']
    encoder = keys_under(model_state, 'backbone.image_encoder.')
    assert set(backbone.matched) == encoder
    assert set(backbone.missing) == set(keys_under(model_state,
                                                   'backbone.')) - encoder
    head = report.components['decode_head']
    # the tiny config's decoder MLPs are narrower than SAM2's defaults
    assert head.shape_mismatch and all(
        'mlp' in key or 'iou_prediction_head' in key
        for key in head.shape_mismatch)
    assert 'decode_head.no_mem_embed' in head.matched
    assert set(head.matched) | {k.split(':')[0]
                                for k in head.shape_mismatch} == keys_under(
                                    model_state, 'decode_head.prompt_encoder.',
                                    'decode_head.mask_decoder.',
                                    'decode_head.no_mem_embed')
    assert not report.components['union_encoder'].matched
    assert report.ignored and all(
        SAM2_LAYOUT.is_ignored(k) for k in report.ignored)
    assert not report.unmapped
    for key in backbone.matched:
        assert torch.equal(report.state_dict[key],
                           sam2[key[len('backbone.'):]])


@pytest.mark.parametrize('name, custom_text',
                         [('clip.pt', True), ('clip_classic.bin', False),
                          ('clip.safetensors', True),
                          ('clip_classic.safetensors', False)])
def test_open_clip(tmp_path, model_state, name, custom_text):
    path = str(tmp_path / name)
    source = save_open_clip(path, custom_text)
    report = match_checkpoint(path, model_state)
    assert report.layout is OPEN_CLIP_LAYOUT
    union = report.components['union_encoder']
    towers = keys_under(model_state, 'union_encoder.visual.',
                        'union_encoder.text.')
    assert set(union.matched) == towers
    assert set(
        union.missing) == keys_under(model_state, 'union_encoder.') - towers
    assert not union.unexpected and not union.shape_mismatch
    assert sorted(report.ignored) == sorted(
        ['logit_scale', 'visual.proj', 'text.text_projection'])
    assert not report.components['backbone'].matched
    key = 'token_embedding.weight' if not custom_text else \
        'text.token_embedding.weight'
    assert torch.equal(
        report.state_dict['union_encoder.text.token_embedding.weight'],
        source[key])


def test_ours_and_mismatch(tmp_path, model_state):
    path = str(tmp_path / 'ours.pth')
    model = build_tiny()
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    report = match_checkpoint(path, model_state)
    assert report.layout is RS2SAM2_LAYOUT
    for component in report.components.values():
        assert component.matched and not component.missing
    # a checkpoint of another model: the wrong shapes are reported
    state = model.state_dict()
    state['backbone.gate.extra'] = torch.zeros(1)
    key = next(iter(keys_under(state, 'decode_head.mpg.')))
    state[key] = torch.zeros(3, 3, 3)
    torch.save(dict(state_dict=state), path)
    components = match_checkpoint(path, model_state).components
    head = components['decode_head']
    assert head.shape_mismatch == [
        f'{key}: (3, 3, 3) vs {tuple(model_state[key].shape)}'
    ]
    assert key not in head.missing
    assert components['backbone'].unexpected == ['backbone.gate.extra']


def test_merge_loads_into_model(tmp_path, sam2_file, model_state):
    clip_file = str(tmp_path / 'clip.safetensors')
    save_open_clip(clip_file, custom_text=False)
    reports = inspect_checkpoints([sam2_file, clip_file], model_state)
    out = str(tmp_path / 'init' / 'init.pth')
    written = save_init_checkpoint(reports, out, TINY_CFG)
    assert set(written) == set(reports[0].state_dict) | set(
        reports[1].state_dict)
    checkpoint = torch.load(out, weights_only=True)
    assert checkpoint['meta']['config'] == TINY_CFG
    assert [s['layout'] for s in checkpoint['meta']['sources']
            ] == ['SAM2 official', 'open_clip']
    # loadable as tools/test.py / load_from do (new layers stay missing)
    model = build_tiny()
    load_checkpoint(model, out, strict=False)
    state = model.state_dict()
    for key, value in written.items():
        assert torch.equal(state[key], value), key
    text = format_checkpoint_report(reports[0])
    assert text.splitlines()[0].startswith(f'{sam2_file}: SAM2 official')
    assert 'decode_head shape_mismatch' in text
    assert 'ignored:' in text


def test_merge_needs_matches(tmp_path, model_state):
    path = str(tmp_path / 'clip.pt')
    state = save_open_clip(path, custom_text=True)
    torch.save({k: v[None] for k, v in state.items()}, path)
    reports = inspect_checkpoints([path], model_state)
    with pytest.raises(ValueError, match='fills no tensor'):
        save_init_checkpoint(reports, str(tmp_path / 'out.pth'), 'cfg')


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        read_checkpoint(str(tmp_path / 'missing.pt'))
    for name in ('text.pt', 'text.safetensors'):
        text = tmp_path / name
        text.write_text('not a checkpoint')
        with pytest.raises(ValueError, match='not a complete checkpoint'):
            read_checkpoint(str(text))
    other = str(tmp_path / 'other.pt')
    torch.save({'head.fc.weight': torch.zeros(2)}, other)
    with pytest.raises(ValueError, match='no key is a key of a known'):
        read_checkpoint(other)
    torch.save([1, 2], other)
    with pytest.raises(ValueError, match='holds no state dict'):
        read_checkpoint(other)
