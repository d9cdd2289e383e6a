"""Save checkpoints so that none is ever half-written or lost."""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner

from mmseg.registry import HOOKS

#: Name of :class:`AtomicLocalBackend` in mmengine's file backends.
ATOMIC_BACKEND = 'atomic_local'


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """Local files whose writes are all or nothing.

    ``put`` writes to a hidden temporary file in the target's folder and
    renames it onto the target (``os.replace``, atomic on POSIX): an
    interrupted, killed or failed write (a full disk) leaves the target as
    it was; the temporary file is removed on failure (a ``kill -9`` leaves
    a ``.<name>.*.part`` file behind, never a truncated checkpoint).
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        """Write ``obj`` to ``filepath`` atomically.

        Args:
            obj (bytes): The data.
            filepath (str | os.PathLike): The file (folders are created).
        """
        folder, name = osp.split(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=folder, prefix=f'.{name}.', suffix='.part')
        try:
            with os.fdopen(handle, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, filepath)
        except BaseException:
            os.unlink(temporary)
            raise


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that never loses a checkpoint.

    Two differences, both about interruptions (Ctrl-C, ``kill``, a full
    disk, a read-only folder):

    - checkpoints are written through :class:`AtomicLocalBackend` (unless
      ``backend_args`` chooses another backend): a checkpoint file is
      complete or absent;
    - the checkpoints that ``max_keep_ckpts`` drops (and the previous best
      of ``save_best``) are removed after the new one is saved and
      ``last_checkpoint`` names it, not before (the parent removes them
      first: with ``max_keep_ckpts=1`` an interrupted save left no
      checkpoint at all).

    Args:
        backend_args (dict, optional): As ``CheckpointHook``'s. Defaults
            to None, meaning ``dict(backend='atomic_local')``.
        **kwargs: Other arguments of ``CheckpointHook`` (``interval``,
            ``by_epoch``, ``max_keep_ckpts``, ...).
    """

    def __init__(self, backend_args: Optional[dict] = None, **kwargs) -> None:
        super().__init__(
            backend_args=backend_args or dict(backend=ATOMIC_BACKEND),
            **kwargs)

    @contextmanager
    def _removals_deferred(self) -> Iterator[None]:
        """Remove the files the parent removes only when the block ends
        without an error (nested blocks: when the outermost ends)."""
        backend = self.file_backend
        if 'remove' in vars(backend):  # nested: the outer block removes
            yield
            return
        remove: Callable[[str], None] = backend.remove
        dropped: List[str] = []
        backend.remove = dropped.append
        try:
            yield
        finally:
            del backend.remove
        for path in dropped:
            remove(path)

    def _save_checkpoint_with_step(self, runner: Runner, step: int,
                                   meta: dict) -> None:
        """Save; then remove the checkpoints ``max_keep_ckpts`` drops."""
        with self._removals_deferred():
            super()._save_checkpoint_with_step(runner, step, meta)

    def _save_best_checkpoint(self, runner: Runner, metrics: dict) -> None:
        """Save the best; then remove the previous best."""
        with self._removals_deferred():
            super()._save_best_checkpoint(runner, metrics)
