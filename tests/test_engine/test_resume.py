"""A training run killed with SIGKILL resumes where its checkpoint left."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import torch

import rs2sam2_mmseg  # noqa: F401  (checkpoints load under weights_only)
from rs2sam2_mmseg.synthetic import SyntheticParams, generate_synthetic_rrsisd

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAX_ITERS = 6


def _train_command(data_root: str, work_dir: str, *extra: str) -> list:
    return [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        osp.join(REPO, 'configs',
                 'rs2sam2_tiny_synthetic.py'), '--work-dir', work_dir, *extra,
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=1',
        f'train_cfg.max_iters={MAX_ITERS}', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=10',
        'default_hooks.logger.interval=1'
    ]


def _env() -> dict:
    # one thread: the test shares its CPU cores, where OpenMP threads
    # waiting for each other slow tiny steps down a hundredfold
    return dict(os.environ, OMP_NUM_THREADS='1')


def test_killed_run_resumes_iteration_optimizer_and_scheduler(tmp_path):
    data_root, work_dir = str(tmp_path / 'data'), str(tmp_path / 'work')
    generate_synthetic_rrsisd(
        data_root, SyntheticParams(num_train=8, num_val=2, num_test=2))
    with open(tmp_path / 'first.log', 'w') as log:
        first = subprocess.Popen(
            _train_command(data_root, work_dir),
            cwd=REPO,
            env=_env(),
            stdout=log,
            stderr=subprocess.STDOUT)
        # CheckpointHook writes last_checkpoint once a checkpoint is saved
        marker, deadline = osp.join(work_dir, 'last_checkpoint'), \
            time.monotonic() + 120
        while not osp.exists(marker) and first.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL, \
        (tmp_path / 'first.log').read_text()[-3000:]
    with open(marker) as f:
        killed_at = torch.load(f.read().strip(), map_location='cpu')
    start = killed_at['meta']['iter']
    assert 2 <= start < MAX_ITERS  # killed before the end

    second = subprocess.run(
        _train_command(data_root, work_dir, '--resume'),
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    # the resumed run continues counting from the checkpoint
    assert f'Iter(train) [{start + 1}/{MAX_ITERS}]' in second.stdout
    assert f'Iter(train) [{start}/{MAX_ITERS}]' not in second.stdout
    final = torch.load(
        osp.join(work_dir, f'iter_{MAX_ITERS}.pth'), map_location='cpu')
    assert final['meta']['iter'] == MAX_ITERS
    # AdamW's per-parameter step count continued (MAX_ITERS - start if the
    # optimizer state had been lost)
    steps = {int(s['step']) for s in final['optimizer']['state'].values()}
    assert steps == {MAX_ITERS}
    # both schedulers continued: the warm-up LinearLR is at MAX_ITERS
    for state in final['param_schedulers']:
        assert state['_global_step'] == MAX_ITERS
    warmup = final['param_schedulers'][0]
    assert warmup['last_step'] == MAX_ITERS
    lrs = {g['lr'] for g in final['optimizer']['param_groups']}
    assert lrs == set(warmup['_last_value'])
