"""NonFiniteLossHook: a NaN loss raises (iteration, sent_ids) or skips."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmseg.structures import SegDataSample
from torch import nn

import rs2sam2_mmseg  # noqa: F401  (registers the hook)
from rs2sam2_mmseg.engine import NonFiniteLossHook

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class ToySegmentor(BaseModel):
    """Regresses zeros; the loss is NaN on batches holding a bad sent_id."""

    def __init__(self, bad_ids):
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.bad_ids = set(bad_ids)

    def forward(self, inputs, data_samples, mode='tensor'):
        pred = self.linear(torch.stack(inputs))
        loss = pred.square().mean()
        if self.bad_ids & {s.sent_id for s in data_samples}:
            loss = loss * float('nan')
        return dict(loss=loss)


def _train(tmp_path, bad_ids, max_iters=6, **hook_args):
    samples = [
        dict(
            inputs=torch.randn(4),
            data_samples=SegDataSample(metainfo=dict(sent_id=i)))
        for i in range(8)
    ]
    hook = dict(type='NonFiniteLossHook', **hook_args)
    runner = Runner(
        model=ToySegmentor(bad_ids),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=samples,
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        custom_hooks=[hook],
        default_scope='mmseg',
        experiment_name=tmp_path.name)
    runner.train()
    return runner


def test_raise_names_iteration_and_sent_ids(tmp_path):
    # batches hold sent_ids (0, 1), (2, 3), (4, 5), ...
    with pytest.raises(
            FloatingPointError,
            match=r"nan\) at iteration 3 on the batch with "
            r"sent_ids \['4', '5'\]"):
        _train(tmp_path, bad_ids=[5])


def test_skip_skips_backward_and_optimizer_step(tmp_path):
    # 4 batches per pass over the data: sent_id 5 at iterations 3 and 7
    runner = _train(tmp_path, bad_ids=[5], max_iters=8, action='skip')
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert hook.skipped == 2 and runner.iter == 8
    optimizer = runner.optim_wrapper.optimizer
    assert [int(s['step']) for s in optimizer.state.values()] == [6, 6]
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    # after training the wrapper's own update_params is back
    assert 'update_params' not in vars(runner.optim_wrapper)


def test_skip_gives_up_when_training_diverged(tmp_path):
    with pytest.raises(FloatingPointError, match='3 iterations in a row'):
        _train(
            tmp_path, bad_ids=range(8), action='skip', max_consecutive_skips=2)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="'raise', 'skip'"):
        NonFiniteLossHook(action='ignore')
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        NonFiniteLossHook(max_consecutive_skips=0)


@pytest.mark.parametrize('config',
                         ['rs2sam2_rrsisd.py', 'rs2sam2_tiny_synthetic.py'])
def test_configs_stop_on_non_finite_loss(config):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    assert dict(type='NonFiniteLossHook', action='raise') in cfg.custom_hooks
