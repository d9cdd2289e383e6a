"""FSDP through mmengine's FlexibleRunner on the CPU (gloo), tiny model.

configs/rs2sam2_tiny_synthetic_fsdp.py trains with tools/dist_train.sh on
1 and 2 processes from the same seed and the same global batch (4); the
2-process run stops at iteration 1 and resumes (--resume) to iteration 2.
Both runs must agree: the gradient norm of each step (the norm over every
shard, which clipping uses) and the final weights. The loss in the log is
rank 0's half of the batch, so it is not compared. The checkpoint then
loads in tools/test.py (mmengine's Runner, no FSDP).
"""
import json
import os.path as osp
import re
import textwrap

import pytest
import torch

from rs2sam2_mmseg.utils import free_port
from .utils import REPO, run, run_tool

FSDP_CONFIG = osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic_fsdp.py')


def deterministic_config(tmp_path) -> str:
    """The tiny FSDP config without the run-to-run differences of 1 and 2
    processes: no random flip (each rank draws its own), samples in order
    (rank r of n takes samples r, r + n, ...: the same global batch)."""
    path = tmp_path / 'tiny_fsdp_deterministic.py'
    path.write_text(
        textwrap.dedent(f"""\
        _base_ = [{FSDP_CONFIG!r}]
        train_dataloader = dict(
            sampler=dict(_delete_=True, type='DefaultSampler', shuffle=False),
            dataset=dict(pipeline=[
                t for t in _base_.train_pipeline
                if t['type'] != 'ReferringRandomFlip'
            ]))
        """))
    return str(path)


def train(config: str, work_dir: str, data_root: str, processes: int,
          max_iters: int, *extra: str) -> str:
    """tools/dist_train.sh: global batch 4, a checkpoint every iteration,
    no validation. Returns the log."""
    options = [
        f'train_cfg.max_iters={max_iters}',
        # no validation; one interval for every run (it is part of the
        # recipe that --resume checks)
        'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        f'train_dataloader.batch_size={4 // processes}',
        'train_dataloader.num_workers=0'
    ] + [
        f'{loader}_dataloader.dataset.data_root={data_root}'
        for loader in ('train', 'val', 'test')
    ]
    result = run([
        'bash', 'tools/dist_train.sh', config,
        str(processes), '--work-dir', work_dir, *extra, '--cfg-options',
        *options
    ],
                 PORT=str(free_port()))
    return result.stdout + result.stderr


def grad_norms(log: str) -> dict:
    """``{iteration: grad_norm}`` of the training log lines."""
    return {
        int(i): float(norm)
        for i, norm in re.findall(
            r'Iter\(train\) \[\s*(\d+)/\d+\].*?grad_norm: ([\d.]+)', log)
    }


def weights(checkpoint: str) -> dict:
    """The model state of a checkpoint."""
    return torch.load(
        checkpoint, map_location='cpu', weights_only=False)['state_dict']


@pytest.mark.skipif(
    not torch.distributed.is_gloo_available(), reason='needs gloo')
def test_fsdp_matches_one_process_and_resumes(tmp_path, synthetic):
    """2 FSDP processes (with a resume) == 1 FSDP process; the checkpoint
    is a full model that tools/test.py evaluates."""
    config = deterministic_config(tmp_path)
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    log_one = train(config, one, synthetic.root, 1, 2)
    log_two = train(config, two, synthetic.root, 2, 1)
    assert 'FSDPStrategy' in log_two and 'Distributed training: True' in \
        log_two
    log_resumed = train(config, two, synthetic.root, 2, 2, '--resume')
    assert 'resumed epoch: 0, iter: 1' in log_resumed
    norms_one = grad_norms(log_one)
    norms_two = {**grad_norms(log_two), **grad_norms(log_resumed)}
    assert sorted(norms_one) == sorted(norms_two) == [1, 2]
    for i in (1, 2):
        assert norms_two[i] == pytest.approx(norms_one[i], rel=1e-3)
    final_one = weights(osp.join(one, 'iter_2.pth'))
    final_two = weights(osp.join(two, 'iter_2.pth'))
    assert final_one.keys() == final_two.keys()
    assert not any('_fsdp_wrapped_module' in key for key in final_two)
    for key, value in final_one.items():
        torch.testing.assert_close(
            final_two[key], value, rtol=1e-4, atol=1e-4, msg=key)
    moved = weights(osp.join(two, 'iter_1.pth'))
    assert any(not torch.equal(moved[k], v) for k, v in final_two.items())
    result = run_tool('test.py', FSDP_CONFIG, osp.join(two, 'iter_2.pth'),
                      '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                      f'test_dataloader.dataset.data_root={synthetic.root}')
    assert 'metrics saved to' in result.stdout
    with open(tmp_path / 'test' / 'test_metrics.json') as f:
        assert json.load(f)['num_expressions'] == synthetic.sentences['test']
