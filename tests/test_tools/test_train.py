"""tools/train.py: train, resume, a config from outside the repo, errors."""
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.runner import Runner

from .utils import (REPO, TINY_CONFIG, assert_cli_error, assert_documented,
                    data_options, run_tool, tool_env, tool_module)

#: An MMSeg config that inherits nothing from this repository: our
#: components come in by registry name through ``custom_imports``.
STANDALONE_CONFIG = '''
custom_imports = dict(imports=['rs2sam2_mmseg'], allow_failed_imports=False)
default_scope = 'mmseg'
size = 96
sam2_overrides = dict(
    image_size=size,
    image_encoder=dict(
        trunk=dict(embed_dim=24, num_heads=1, stages=[1, 2, 2, 1],
                   global_att_blocks=[], window_spec=[8, 4, 6, 3]),
        neck=dict(d_model=32, backbone_channel_list=[192, 96, 48, 24],
                  position_encoding=dict(num_pos_feats=32))))
model = dict(
    type='RS2SAM2',
    data_preprocessor=dict(type='ReferSegDataPreProcessor',
                           size=(size, size)),
    union_encoder=dict(
        type='UnionEncoder', model_name='ViT-B-32', image_size=64,
        context_length=16, embed_dims=32, num_fusion_layers=1, num_heads=2,
        model_kwargs=dict(
            embed_dim=32,
            vision_cfg=dict(image_size=64, layers=1, width=32,
                            patch_size=16, head_width=16),
            text_cfg=dict(context_length=16, vocab_size=49408, width=32,
                          heads=2, layers=1))),
    backbone=dict(type='SAM2HieraBHF', sam2_cfg='sam2.1_hiera_t',
                  sam2_overrides=sam2_overrides, text_dims=32,
                  adapter_heads=2, gate_heads=2),
    decode_head=dict(
        type='SAM2MaskPromptHead', sam2_cfg='sam2.1_hiera_t',
        sam2_overrides=sam2_overrides, text_dims=32, mpg_heads=2,
        decoder_cfg=dict(depth=1, mlp_dim=64, num_heads=2,
                         iou_head_hidden_dim=16),
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True)))
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='RRSISDDataset', data_root=DATA_ROOT, split='train',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadReferringAnnotations'),
            dict(type='Resize', scale=(size, size), keep_ratio=True),
            dict(type='PackReferSegInputs')]))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1))
'''


def test_train_then_resume(trained, synthetic):
    """2 iterations, then ``--resume`` continues from iteration 2 to 4."""
    val_line = f'num_expressions: {synthetic.sentences["val"]}'
    assert 'Iter(train) [2/2]' in trained.first
    assert val_line in trained.first
    assert osp.isfile(osp.join(trained.work_dir, 'iter_2.pth'))
    assert 'Auto resumed from the latest checkpoint' in trained.resumed
    assert 'resumed epoch: 0, iter: 2' in trained.resumed
    assert 'Iter(train) [3/4]' in trained.resumed
    assert 'Iter(train) [1/4]' not in trained.resumed
    assert val_line in trained.resumed
    assert osp.isfile(trained.checkpoint)


def test_train_standalone_config(tmp_path, synthetic):
    """Any MMSeg config listing ``custom_imports=['rs2sam2_mmseg']``."""
    config = tmp_path / 'my_referring_config.py'
    config.write_text(f'DATA_ROOT = {synthetic.root!r}\n' + STANDALONE_CONFIG)
    work_dir = str(tmp_path / 'work_dir')
    result = run_tool('train.py', str(config), '--work-dir', work_dir)
    assert 'Saving checkpoint at 1 iterations' in result.stdout + \
        result.stderr
    assert osp.isfile(osp.join(work_dir, 'iter_1.pth'))


@pytest.mark.parametrize(
    'config',
    ['rs2sam2_rrsisd.py', 'rs2sam2_refsegrs.py', 'rs2sam2_openclip_rrsisd.py',
     'rs2sam2_tiny_synthetic.py'])
def test_train_configs_wiring(monkeypatch, tmp_path, config):
    """The options reach the Runner's config (the Runner is a stub)."""
    seen = []

    def from_cfg(cfg):
        seen.append(cfg)
        return SimpleNamespace(train=lambda: None)

    monkeypatch.setattr(Runner, 'from_cfg', from_cfg)
    monkeypatch.setattr(sys, 'argv', [
        'train.py',
        osp.join(REPO, 'configs', config), '--work-dir',
        str(tmp_path), '--resume', '--cfg-options',
        'model.sam2_checkpoint=sam2.pt',
        'train_dataloader.num_workers=0'
    ])
    tool_module('train.py')['main']()
    cfg, = seen
    assert cfg.work_dir == str(tmp_path) and cfg.launcher == 'none'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.model.sam2_checkpoint == 'sam2.pt'
    assert cfg.train_dataloader.persistent_workers is False
    if not torch.cuda.is_available():  # bf16 autocast falls back to fp32
        assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_train_never_overwrites_or_mixes_runs(monkeypatch, capsys,
                                              synthetic, trained):
    """A fresh run into a work dir holding a run is refused; so is a
    --resume from a checkpoint of another recipe, before any step."""
    before = sorted(os.listdir(trained.work_dir))
    common = [TINY_CONFIG, '--work-dir', trained.work_dir]
    assert_cli_error(monkeypatch, capsys, 'train.py',
                     [*common, *data_options(synthetic.root, 4)],
                     f'{trained.work_dir} holds a training run already')
    other = [*data_options(synthetic.root, 4), 'model.union_grad_scale=0.5']
    for resume in (['--resume'], ['--resume', trained.checkpoint]):
        assert_cli_error(monkeypatch, capsys, 'train.py',
                         [*common, *resume, *other],
                         'was trained with another model than')
    assert sorted(os.listdir(trained.work_dir)) == before


def test_train_help():
    assert_documented('train.py')


def test_train_error_subprocess(tmp_path):
    """A real process: one ``error:`` line, exit status 1, no traceback."""
    result = subprocess.run(
        [sys.executable, 'tools/train.py',
         str(tmp_path / 'missing.py')],
        cwd=REPO,
        env=tool_env(),
        capture_output=True,
        text=True)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: Config file '{tmp_path / 'missing.py'}' does not exist")
    assert 'Traceback' not in result.stderr


def test_train_errors(monkeypatch, capsys, tmp_path):
    assert_cli_error(monkeypatch, capsys, 'train.py',
                     [str(tmp_path / 'missing.py')], 'does not exist')
    assert_cli_error(monkeypatch, capsys, 'train.py',
                     [TINY_CONFIG, '--resume',
                      str(tmp_path / 'missing.pth')], '--resume checkpoint')
    if not torch.cuda.is_available():
        assert_cli_error(monkeypatch, capsys, 'train.py',
                         [TINY_CONFIG, '--amp'], '--amp needs CUDA')
