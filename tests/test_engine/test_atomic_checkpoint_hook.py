"""AtomicCheckpointHook: an interrupted save loses no checkpoint."""
import os
from collections import deque
from types import SimpleNamespace

import pytest
from mmengine.fileio import get_file_backend
from mmengine.logging import MessageHub

from rs2sam2_mmseg.engine import (ATOMIC_BACKEND, AtomicCheckpointHook,
                                  AtomicLocalBackend)


def test_atomic_put(tmp_path, monkeypatch):
    backend = get_file_backend(backend_args=dict(backend=ATOMIC_BACKEND))
    assert isinstance(backend, AtomicLocalBackend)
    target = tmp_path / 'sub' / 'iter_2.pth'
    backend.put(b'old', str(target))
    assert target.read_bytes() == b'old'

    def disk_full(fd: int) -> None:
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space left'):
        backend.put(b'new, cut short', str(target))
    # the old content stays, no partial file is left
    assert target.read_bytes() == b'old'
    assert os.listdir(target.parent) == ['iter_2.pth']


def _hook(tmp_path) -> AtomicCheckpointHook:
    """A hook as ``before_train`` leaves it, one checkpoint kept (iter 2)."""
    hook = AtomicCheckpointHook(interval=2, by_epoch=False, max_keep_ckpts=1)
    hook.out_dir = str(tmp_path)
    hook.file_backend = get_file_backend(
        str(tmp_path), backend_args=hook.backend_args)
    hook.keep_ckpt_ids = deque([2])
    (tmp_path / 'iter_2.pth').write_bytes(b'iteration 2')
    return hook


def _runner(tmp_path, save) -> SimpleNamespace:
    return SimpleNamespace(
        work_dir=str(tmp_path),
        message_hub=MessageHub.get_instance('test_atomic_checkpoint_hook'),
        save_checkpoint=save)


def test_interrupted_save_keeps_old_checkpoint(tmp_path):
    hook = _hook(tmp_path)

    def interrupted(out_dir, filename, *args, **kwargs) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hook._save_checkpoint_with_step(
            _runner(tmp_path, interrupted), 4, dict(iter=4))
    assert (tmp_path / 'iter_2.pth').read_bytes() == b'iteration 2'
    assert 'remove' not in vars(hook.file_backend)

    def saved(out_dir, filename, *args, **kwargs) -> None:
        assert (tmp_path / 'iter_2.pth').exists()  # not removed before
        hook.file_backend.put(b'iteration 4', os.path.join(out_dir, filename))

    hook = _hook(tmp_path)
    hook._save_checkpoint_with_step(_runner(tmp_path, saved), 4, dict(iter=4))
    assert sorted(os.listdir(tmp_path)) == ['iter_4.pth', 'last_checkpoint']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path /
                                                             'iter_4.pth')
