"""Stop (or skip) a training step whose loss is NaN or infinite."""
import os.path as osp
from typing import List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from torch import Tensor

from mmseg.registry import HOOKS
from ...utils.errors import UserInputError

ACTIONS = ('raise', 'skip')


def batch_sample_ids(data_batch: Optional[dict]) -> List[str]:
    """The ``sent_id`` (or image name) of every sample of a batch.

    Args:
        data_batch (dict, optional): A dataloader batch with
            ``data_samples``.

    Returns:
        list[str]: One id per sample; empty without samples.
    """
    samples = (data_batch or {}).get('data_samples') or []
    return [
        str(
            s.metainfo.get('sent_id',
                           osp.basename(s.metainfo.get('img_path', '?'))))
        for s in samples
    ]


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Guard the optimizer step against a non-finite loss.

    A hook's ``after_train_iter`` sees the loss only after the optimizer
    has stepped, when NaN gradients have already reached the weights. Every
    ``train_step`` (mmengine ``BaseModel``, its DDP wrappers) hands the loss
    to ``optim_wrapper.update_params(loss)``, so this hook wraps that method
    of the runner's optim wrapper at ``before_train`` (and restores it at
    ``after_train``). This works for ``OptimWrapper`` and
    ``AmpOptimWrapper`` alike and leaves the configured wrapper type, and
    the tools that switch it, untouched; a wrapper subclass would need one
    variant per wrapper type.

    Before backward, the loss is checked. If any rank's loss is not finite
    (the flag is all-reduced, so under DDP every rank takes the same
    branch and none waits in backward for the others):

    - ``action='raise'``: ``FloatingPointError`` naming the iteration
      (1-based, as logged) and the batch's ``sent_id`` s.
    - ``action='skip'``: no backward and no optimizer step; gradients are
      zeroed (with gradient accumulation the current window is dropped)
      and a warning with the same information is logged. After
      ``max_consecutive_skips`` skipped iterations in a row it raises:
      a model whose every loss is non-finite has diverged.

    Args:
        action (str): 'raise' or 'skip'. Defaults to 'raise'.
        max_consecutive_skips (int): Skips in a row before raising
            anyway (``action='skip'``). Defaults to 10.
    """

    def __init__(self,
                 action: str = 'raise',
                 max_consecutive_skips: int = 10) -> None:
        if action not in ACTIONS:
            raise UserInputError(
                f'NonFiniteLossHook action must be one of {ACTIONS}, got '
                f'{action!r}')
        if max_consecutive_skips < 1:
            raise UserInputError('max_consecutive_skips must be >= 1, got '
                                 f'{max_consecutive_skips}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.skipped = 0
        self.consecutive = 0
        self._iter = 0
        self._ids: List[str] = []

    def before_train(self, runner: Runner) -> None:
        """Wrap ``update_params`` of the runner's optim wrapper."""
        wrapper = runner.optim_wrapper
        if not isinstance(wrapper, OptimWrapper):
            raise TypeError(
                'NonFiniteLossHook guards a single OptimWrapper (or '
                f'AmpOptimWrapper); got {type(wrapper).__name__}')
        update_params = wrapper.update_params

        def guarded_update_params(loss: Tensor, *args, **kwargs) -> None:
            if self._check(loss, runner):
                update_params(loss, *args, **kwargs)
            else:
                wrapper.zero_grad()

        wrapper.update_params = guarded_update_params

    def after_train(self, runner: Runner) -> None:
        """Restore the optim wrapper's own ``update_params``."""
        vars(runner.optim_wrapper).pop('update_params', None)

    def before_train_iter(self,
                          runner: Runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Remember the iteration and the batch's sample ids."""
        self._iter = runner.iter + 1
        self._ids = batch_sample_ids(data_batch)

    def _check(self, loss: Tensor, runner: Runner) -> bool:
        """True when every rank's loss is finite; else raise or skip."""
        loss = loss.detach()
        finite = torch.isfinite(loss).all().to(torch.int32)
        all_reduce(finite, op='min')
        if finite:
            self.consecutive = 0
            return True
        if torch.isfinite(loss).all():
            message = (f'Non-finite loss on another rank at iteration '
                       f'{self._iter} (here {float(loss)} on the batch with '
                       f'sent_ids {self._ids}).')
        else:
            message = (f'Non-finite loss ({float(loss)}) at iteration '
                       f'{self._iter} on the batch with sent_ids '
                       f'{self._ids}.')
        if self.action == 'raise':
            raise FloatingPointError(
                message + " Set NonFiniteLossHook(action='skip') in "
                'custom_hooks to skip such batches.')
        self.skipped += 1
        self.consecutive += 1
        if self.consecutive > self.max_consecutive_skips:
            raise FloatingPointError(
                f'{message} {self.consecutive} iterations in a row had a '
                'non-finite loss (max_consecutive_skips='
                f'{self.max_consecutive_skips}): training has diverged.')
        print_log(
            f'{message} Step skipped (no backward, no optimizer step; '
            f'{self.skipped} skipped so far).',
            logger=runner.logger,
            level=30)
        return False
