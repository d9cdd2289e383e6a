"""tools/model_converters/rs2sam2_official_to_mmseg.py: official -> ours.

The official checkpoints are made from the official model's full key list
(tests/test_utils/data/rs2sam2_official_keys.json, the header of a
save_pretrained model.safetensors of the official EvfSamModel) with tiny
random tensors shaped as the tiny paper model wants them.
"""
import os.path as osp
import re
import runpy
import shutil
import sys
from typing import Set

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

from rs2sam2_mmseg.utils import OFFICIAL_LAYOUT
from ..test_utils.test_official_layout import SPM_FILE, official_keys
from ..test_utils.utils import (save_hf_directory, save_open_clip,
                                save_zero_to_fp32)
from .test_convert_weights import report_rows
from .utils import REPO, TOOLS, assert_cli_error, assert_documented

TOOL = 'model_converters/rs2sam2_official_to_mmseg.py'
#: A block / layer index in a key: (head, index, tail).
INDEXED = re.compile(r'^(.*?\.(?:blocks|layers)\.)(\d+)(\..*)$')
TINY_PAPER_CONFIG = osp.join(REPO, 'configs',
                             'rs2sam2_beit3_tiny_synthetic.py')


def build_tiny_paper() -> torch.nn.Module:
    """The tiny paper model (random init), with the test tokenizer."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(TINY_PAPER_CONFIG).model
    cfg.union_encoder.spm_file = SPM_FILE
    return MODELS.build(cfg)


def official_names(depth: int = 64) -> Set[str]:
    """The official key names, blocks / layers numbered 0 to depth - 1.

    The key list of the large model, its per-block / per-layer names
    repeated for any depth (a tiny Hiera has its stage ends elsewhere).
    """
    names = set()
    for key in official_keys():
        found = INDEXED.match(key)
        names.update([key] if not found else (f'{found[1]}{i}{found[3]}'
                                              for i in range(depth)))
    return names


@pytest.fixture(scope='module')
def official() -> dict:
    """Official keys -> tiny random tensors (those the tiny model has).

    Each official name whose target the tiny model has gets a tensor of
    the tiny shape; each ignored key of the official list a small tensor.
    """
    torch.manual_seed(0)
    state = build_tiny_paper().state_dict()
    tensors = {
        key: torch.randn(2)
        for key in official_keys() if OFFICIAL_LAYOUT.is_ignored(key)
    }
    for key in sorted(official_names()):
        target = OFFICIAL_LAYOUT.target(key)
        if target in state and not OFFICIAL_LAYOUT.is_ignored(key):
            tensors[key] = torch.randn(state[target].shape)
    return tensors


def run_converter(monkeypatch, capsys, *args: str) -> str:
    """Run the tool in this process; return its stdout."""
    monkeypatch.setattr(sys, 'argv', [TOOL, *args])
    runpy.run_path(osp.join(TOOLS, TOOL), run_name='__main__')
    return capsys.readouterr().out


def save_official(path: str, tensors: dict, kind: str) -> str:
    """Save as the official code would; return SRC for the tool."""
    if kind == 'zero_to_fp32':
        save_zero_to_fp32(path + '.bin', tensors)
        shutil.copy(SPM_FILE, osp.join(osp.dirname(path), 'beit3.spm'))
        return path + '.bin'
    weights, shards = kind.split('_')
    save_hf_directory(path, tensors, weights, int(shards))
    shutil.copy(SPM_FILE, osp.join(path, 'sentencepiece.bpe.model'))
    return path


@pytest.mark.parametrize(
    'kind', ['safetensors_1', 'bin_1', 'safetensors_3', 'zero_to_fp32'])
def test_convert_and_load(monkeypatch, capsys, tmp_path, official, kind):
    src = save_official(str(tmp_path / 'official'), official, kind)
    dst = str(tmp_path / 'out' / 'converted.pth')
    out = run_converter(monkeypatch, capsys, src, dst, '--config',
                        TINY_PAPER_CONFIG)
    # (matched, missing, unexpected, shape_mismatch) per component
    rows = report_rows(out, src)
    assert set(rows) == {'union_encoder', 'backbone', 'decode_head'}
    assert all(row[1:] == (0, 0, 0) for row in rows.values()), out
    ignored = sum(OFFICIAL_LAYOUT.is_ignored(k) for k in official)
    assert f'ignored: {ignored} (SAM2 memory' in out
    spm = 'beit3.spm' if kind == 'zero_to_fp32' else \
        'sentencepiece.bpe.model'
    assert f'tokenizer: {osp.join(osp.dirname(dst), spm)}' in out
    with open(osp.join(osp.dirname(dst), spm), 'rb') as f, \
            open(SPM_FILE, 'rb') as g:
        assert f.read() == g.read()
    model = build_tiny_paper()
    load_checkpoint(model, dst, strict=True)
    state = model.state_dict()
    for key, value in official.items():
        if not OFFICIAL_LAYOUT.is_ignored(key):
            assert torch.equal(state[OFFICIAL_LAYOUT.target(key)], value), key
    assert sum(row[0] for row in rows.values()) == len(state)


def test_converter_errors(monkeypatch, capsys, tmp_path, official):
    hf = str(tmp_path / 'hf')
    save_official(hf, official, 'safetensors_1')
    weights = osp.join(hf, 'model.safetensors')
    config = ['--config', TINY_PAPER_CONFIG]
    # a model key the checkpoint lacks: named, nothing written
    gone = 'visual_model.image_encoder.trunk.blocks.1.MLP_Adapter.D_fc2.bias'
    partial = {k: v for k, v in official.items() if k != gone}
    save_hf_directory(str(tmp_path / 'partial'), partial, 'safetensors')
    dst = str(tmp_path / 'partial.pth')
    assert_cli_error(monkeypatch, capsys, TOOL,
                     [str(tmp_path / 'partial'), dst, *config],
                     'needs backbone.adapters.1.mlp_adapter.2.bias but')
    assert not osp.exists(dst)
    truncated = str(tmp_path / 'truncated.safetensors')
    with open(weights, 'rb') as f, open(truncated, 'wb') as g:
        g.write(f.read()[:1000])
    empty = str(tmp_path / 'empty')
    save_hf_directory(empty, {}, weights=None)
    clip = str(tmp_path / 'open_clip.bin')
    save_open_clip(clip, custom_text=True)
    out = str(tmp_path / 'x.pth')
    for src, dst, match in [
        (truncated, out, f'{truncated} is not a complete checkpoint'),
        (empty, out, f'{empty} holds no weights'),
        (clip, out, f'{clip} holds open_clip keys'),
        (hf, weights, 'is the checkpoint being converted'),
        (hf, hf, 'is the checkpoint being converted'),
    ]:
        assert_cli_error(monkeypatch, capsys, TOOL, [src, dst, *config], match)


def test_converter_help():
    assert_documented(TOOL)
