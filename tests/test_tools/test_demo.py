"""tools/demo.py: how it launches training on one or several processes."""
import argparse
import os.path as osp
import sys

import pytest
import torch

from rs2sam2_mmseg.utils import load_config
from .utils import TINY_CONFIG, TOOLS, tool_module


def _train_command(nproc):
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    args = argparse.Namespace(
        config=TINY_CONFIG, work_dir='work_dirs/x', nproc=nproc)
    return (*demo['train_command'](cfg, args), cfg)


def test_one_process_runs_train_py_with_the_config_batch():
    cmd, env, cfg = _train_command(1)
    assert cmd == [
        sys.executable,
        osp.join(TOOLS, 'train.py'), TINY_CONFIG, '--work-dir', 'work_dirs/x',
        '--resume', '--cfg-options', 'train_dataloader.batch_size=32',
        f'custom_hooks.1.minutes={cfg.train_minutes}'
    ]
    assert env == {} and cfg.train_dataloader.batch_size == 32


def test_two_processes_split_the_batch_through_torchrun():
    cmd, env, cfg = _train_command(2)
    assert cmd[:4] == [
        'bash', osp.join(TOOLS, 'dist_train.sh'), TINY_CONFIG, '2'
    ]
    assert cmd[-3:-1] == ['--cfg-options', 'train_dataloader.batch_size=16']
    assert '--resume' in cmd
    # the recipe check compares the batch each process really trains with
    assert cfg.train_dataloader.batch_size == 16
    assert env['PYTHON'] == sys.executable
    assert int(env['OMP_NUM_THREADS']) >= 1 and int(env['PORT']) > 0


def test_a_process_count_that_does_not_divide_the_batch_is_refused():
    with pytest.raises(ValueError, match='must divide the batch size 32'):
        _train_command(3)
    with pytest.raises(ValueError, match='--nproc must be at least 1'):
        _train_command(0)


def test_summary_names_the_time_budget_and_the_iterations(tmp_path):
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    minutes = cfg.train_minutes
    assert demo['budget_note'](cfg) == (
        f'as many as fit {minutes:g} min, at most {cfg.max_iters} iterations')
    cfg.custom_hooks = []
    assert demo['budget_note'](cfg) == f'at most {cfg.max_iters} iterations'
    checkpoint = str(tmp_path / 'iter_7.pth')
    torch.save(dict(meta=dict(iter=7), state_dict={}), checkpoint)
    assert demo['trained_iterations'](checkpoint) == 7


def test_time_after_training_follows_the_measured_speed():
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    assert demo['tta_views'](cfg) == 3  # as is, flipped both ways
    speed = demo['Speed'](startup_s=10., expression_s=0.1)
    sentences = dict(train=2000, val=100, test=200)
    # val once, test 2 + 3 passes, 12 overlays; 5 start-ups; slack 1.3
    minutes = demo['after_training_minutes'](cfg, speed, sentences, 12)
    assert minutes == pytest.approx(1.3 * (5 * 10. + 1112 * 0.1) / 60)
    # a machine half as fast reserves twice the time
    slow = demo['Speed'](startup_s=20., expression_s=0.2)
    assert demo['after_training_minutes'](cfg, slow, sentences,
                                          12) == pytest.approx(2 * minutes)


def test_training_gets_the_time_the_demo_has_left():
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    fit = demo['fit_time_budget']
    after = 1.5
    budget = cfg.train_minutes
    # time enough: the config's budget stays
    assert fit(cfg, 10., 10. - after - budget, after) is None
    assert fit(cfg, 0., 9., after) is None  # no limit on the whole demo
    assert cfg.custom_hooks[1].minutes == budget
    # a set-up of 3 minutes (a fresh .venv) comes out of training ...
    note = fit(cfg, 10., 3., after)
    assert cfg.custom_hooks[1].minutes == pytest.approx(7. - after)
    assert note == (f'3.0 of the demo\'s 10 minutes spent before training '
                    f'and {after:.1f} needed after it: training gets '
                    f'{7. - after:.1f} instead of {budget:g} min')
    # ... and the command passes the shortened budget on
    cmd, _ = demo['train_command'](cfg,
                                   argparse.Namespace(
                                       config=TINY_CONFIG,
                                       work_dir='x',
                                       nproc=1))
    assert cmd[-1] == f'custom_hooks.1.minutes={7. - after}'
    # past the limit, training still gets its least time, and says so
    note = fit(cfg, 10., 9.8, after)
    assert cfg.custom_hooks[1].minutes == demo['MIN_TRAIN_MINUTES']
    assert 'will take longer than 10 minutes' in note
    cfg.custom_hooks = []
    assert fit(cfg, 10., 9., after) is None  # no budget to shorten
    with pytest.raises(ValueError, match='--total-minutes must be >= 0'):
        fit(cfg, -1., 0., after)
