"""TrainTimeBudgetHook: max_iters and the schedule fit a time budget."""
import math
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import rs2sam2_mmseg  # noqa: F401  (registers the hook)
from rs2sam2_mmseg.synthetic import (TrainTimeBudgetHook,
                                     train_time_budget_hook)


class FakeClock:
    """``time`` stand-in whose clock moves only when a step runs."""

    def __init__(self):
        self.now = 1000.
        self.step_s = 1.

    def perf_counter(self):
        return self.now


class TimedModel(BaseModel):
    """Regresses zeros; every training step takes ``clock.step_s``."""

    def __init__(self, clock):
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.clock = clock

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.clock.now += self.clock.step_s
        return dict(loss=self.linear(torch.stack(inputs)).square().mean())


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(train_time_budget_hook, 'time', clock)
    return clock


def _runner(tmp_path, clock, minutes, max_iters=100, **kwargs):
    hook = dict(
        type='TrainTimeBudgetHook',
        minutes=minutes,
        calibrate_iters=4,
        skip_iters=1,
        check_interval=10,
        margin=0.,
        round_to=5)
    return Runner(
        model=TimedModel(clock),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.randn(4)) for _ in range(8)],
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=5),
            dict(
                type='CosineAnnealingLR',
                by_epoch=False,
                begin=5,
                end=max_iters,
                eta_min=1e-3)
        ],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', by_epoch=False, interval=20)),
        custom_hooks=[hook],
        default_scope='mmseg',
        experiment_name=tmp_path.name,
        **kwargs)


def _lr(runner):
    return runner.optim_wrapper.optimizer.param_groups[0]['lr']


def test_fits_the_budget_and_anneals_to_the_end(tmp_path, clock):
    # 1 s per iteration, 60 s: 60 iterations instead of 100
    runner = _runner(tmp_path, clock, minutes=1)
    runner.train()
    assert runner.iter == 60
    cosine = runner.param_schedulers[1]
    assert (cosine.end, cosine.T_max) == (60, 55)
    # the last step's lr is the cosine's value one step before its end
    assert _lr(runner) == pytest.approx(1e-3 + (0.1 - 1e-3) *
                                        (1 + math.cos(math.pi * 54 / 55)) / 2)
    assert runner.message_hub.get_info('time_budget_max_iters') == 60


def test_keeps_max_iters_that_fit(tmp_path, clock):
    runner = _runner(tmp_path, clock, minutes=10, max_iters=30)
    runner.train()
    assert runner.iter == 30
    assert runner.param_schedulers[1].end == 30


class SlowDown(train_time_budget_hook.Hook):
    """From iteration ``after + 1`` on, every step takes 3 s."""

    def __init__(self, clock, after):
        self.clock, self.after = clock, after

    def after_train_iter(self, runner, *args, **kwargs):
        if runner.iter + 1 == self.after:
            self.clock.step_s = 3.


def test_shortens_a_slow_stretch(tmp_path, clock):
    runner = _runner(tmp_path, clock, minutes=1)
    runner.register_hook(SlowDown(clock, after=20), 'LOWEST')
    runner.train()
    # calibrated at 4: 60; checked at 14: still 60; at 24 (20 + 4 * 3 = 32
    # s spent, 1.8 s per iteration over the last 10): 24 + 15 -> 35
    assert runner.iter == 35
    assert runner.param_schedulers[1].end == 35
    assert clock.now - 1000 == 20 + 15 * 3


def test_resume_keeps_the_budgeted_iterations(tmp_path, clock):
    _runner(tmp_path, clock, minutes=1).train()
    checkpoint = osp.join(str(tmp_path), 'iter_40.pth')
    assert osp.isfile(checkpoint)
    runner = _runner(
        tmp_path, clock, minutes=1, load_from=checkpoint, resume=True)
    runner.train()
    # 40 iterations (40 s) were done: the resumed run ends at 60 too
    assert runner.iter == 60
    assert runner.param_schedulers[1].end == 60


@pytest.mark.parametrize('kwargs, match', [
    (dict(minutes=0), 'minutes must be > 0'),
    (dict(minutes=1, calibrate_iters=5, skip_iters=5), 'skip_iters'),
    (dict(minutes=1, margin=1.), 'margin'),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainTimeBudgetHook(**kwargs)
