"""Strategy configs (ZeRO-2, FSDP through FlexibleRunner) and the checks
the tools run before building their runner."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import FlexibleRunner
from mmseg.registry import RUNNERS
from rs2sam2_mmseg.utils import (build_runner, configure_resume,
                                 configure_strategy, load_config)
from ..test_tools.utils import assert_cli_error

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER = osp.join(REPO, 'configs', 'rs2sam2_rrsisd.py')
ZERO2 = osp.join(REPO, 'configs', 'rs2sam2_rrsisd_zero2.py')
FSDP = osp.join(REPO, 'configs', 'rs2sam2_rrsisd_fsdp.py')
TINY_FSDP = osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic_fsdp.py')
HAS_DEEPSPEED = importlib.util.find_spec('deepspeed') is not None


def with_launcher(path: str, launcher: str) -> Config:
    """A config as the tools hand it to :func:`configure_strategy`."""
    cfg = load_config(path)
    cfg.launcher = launcher
    return cfg


def test_zero2_config():
    """ZeRO-2, bf16 and the paper's optimizer, batch 1 per GPU."""
    cfg, paper = Config.fromfile(ZERO2), Config.fromfile(PAPER)
    assert cfg.runner_type == 'FlexibleRunner'
    assert RUNNERS.get(cfg.runner_type) is FlexibleRunner  # MMSeg's tool
    strategy = cfg.strategy
    assert strategy.type == 'DeepSpeedStrategy'
    assert strategy.zero_optimization.stage == 2
    assert strategy.bf16 == dict(enabled=True)
    # the official recipe clips nothing
    assert 'clip_grad' not in paper.optim_wrapper
    assert 'gradient_clipping' not in strategy
    assert cfg.train_dataloader.batch_size == 1
    assert cfg.optim_wrapper == dict(
        type='DeepSpeedOptimWrapper',
        optimizer=paper.optim_wrapper.optimizer,
        paramwise_cfg=paper.optim_wrapper.paramwise_cfg)
    assert 'flush_denormal' not in cfg.env_cfg
    assert cfg.env_cfg.dist_cfg == paper.env_cfg.dist_cfg


@pytest.mark.parametrize('path', [FSDP, TINY_FSDP])
def test_fsdp_configs(path):
    """FSDP keeps the DDP recipe; clipping over all shards; full
    checkpoints."""
    cfg = Config.fromfile(path)
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.strategy.type == 'FSDPStrategy'
    assert cfg.strategy.state_dict_cfg == 'full'
    wrapper = cfg.strategy.model_wrapper
    assert wrapper.use_orig_params
    assert wrapper.auto_wrap_policy.type == 'class_name_wrap_policy'
    assert cfg.optim_wrapper.constructor == 'FSDPOptimWrapperConstructor'
    assert 'flush_denormal' not in cfg.env_cfg


def test_fsdp_paper_config_checkpoints_activations():
    cfg, paper = Config.fromfile(FSDP), Config.fromfile(PAPER)
    assert cfg.model.backbone.with_cp and not paper.model.backbone.with_cp
    assert {
        k: v
        for k, v in cfg.optim_wrapper.items() if k != 'constructor'
    } == paper.optim_wrapper


@pytest.mark.skipif(HAS_DEEPSPEED, reason='deepspeed installed')
def test_zero2_without_deepspeed_one_line(monkeypatch, capsys, tmp_path):
    """tools/train.py: one line naming the extra to install."""
    assert_cli_error(monkeypatch, capsys, 'train.py',
                     [ZERO2, '--work-dir', str(tmp_path)],
                     'pip install -e .[deepspeed]')
    assert not (tmp_path / 'rs2sam2_rrsisd_zero2.py').exists()


def test_zero2_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name: name == 'deepspeed' or pytest
        .fail(f'unexpected find_spec({name!r})'))
    with pytest.raises(ValueError, match='needs CUDA'):
        configure_strategy(with_launcher(ZERO2, 'pytorch'))


def test_sharded_strategies_need_a_distributed_launch():
    for path in (FSDP, TINY_FSDP):
        with pytest.raises(ValueError, match='tools/dist_train.sh'):
            build_runner(with_launcher(path, 'none'))


def test_fsdp_on_the_cpu(monkeypatch):
    """Without CUDA FSDP's wrapper runs on the CPU; the rest is kept."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = configure_strategy(with_launcher(TINY_FSDP, 'pytorch'))
    wrapper = cfg.strategy.model_wrapper
    assert wrapper.device_id == 'cpu'
    assert wrapper.auto_wrap_policy == Config.fromfile(
        TINY_FSDP).strategy.model_wrapper.auto_wrap_policy


def test_strategy_without_runner_type():
    cfg = with_launcher(TINY_FSDP, 'pytorch')
    cfg.pop('runner_type')
    with pytest.raises(ValueError, match="runner_type='FlexibleRunner'"):
        configure_strategy(cfg)


def test_resume_from_a_zero_checkpoint_folder(tmp_path):
    """DeepSpeed saves iter_N.pth as a folder: --resume takes it."""
    folder = tmp_path / 'iter_4.pth'
    folder.mkdir()
    cfg = configure_resume(Config(), str(folder))
    assert cfg.resume and cfg.load_from == str(folder)
