"""Fit an iteration-based training run into a wall-clock budget."""
import math
import time
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ..utils.errors import UserInputError

#: Message hub keys (saved in checkpoints, so a resumed run keeps them).
MAX_ITERS_KEY = 'time_budget_max_iters'
ELAPSED_KEY = 'time_budget_elapsed_s'


@HOOKS.register_module()
class TrainTimeBudgetHook(Hook):
    """Train as many iterations as fit ``minutes``, at most ``max_iters``.

    The config's ``train_cfg.max_iters`` is the most a run may train. After
    ``calibrate_iters`` iterations the hook measures the time per iteration
    (from iteration ``skip_iters`` on, at least the first left out: the
    first ones pay for start-up; under DDP the slowest rank's, so that
    every rank decides the same) and sets ``max_iters`` to as many as fit
    ``minutes`` of training counted from ``before_train``, with ``margin``
    of the time kept in reserve, rounded down to a multiple of
    ``round_to``. Every ``check_interval``
    iterations after that it projects the end of training again from the
    time per iteration of those iterations and shortens the run if a slow
    stretch would overrun the budget; it never lengthens it.

    Parameter schedulers that end at ``max_iters`` end at the new one (a
    cosine's ``T_max`` follows its ``end``), so the learning rate still
    reaches its minimum at the last iteration: mmengine's cosine schedule
    is computed step by step from the current value, and a changed
    ``T_max`` continues it smoothly to the new end.

    The chosen ``max_iters`` and the training time so far are kept in the
    message hub, which checkpoints save: a run resumed with ``--resume``
    keeps its number of iterations and the rest of its budget.

    Args:
        minutes (float): Wall-clock budget of the training loop (the final
            validation and later tests come on top).
        calibrate_iters (int): Iteration after which the budget is first
            applied; before the learning rate warm-up ends is best.
            Defaults to 40.
        skip_iters (int): First iterations left out of the measurement.
            Defaults to 10.
        check_interval (int): Iterations between later projections.
            Defaults to 100.
        margin (float): Fraction of the remaining budget kept in reserve
            for slower stretches. Defaults to 0.05.
        round_to (int): The budgeted ``max_iters`` is a multiple of this.
            Defaults to 50.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 minutes: float,
                 calibrate_iters: int = 40,
                 skip_iters: int = 10,
                 check_interval: int = 100,
                 margin: float = 0.05,
                 round_to: int = 50) -> None:
        if minutes <= 0:
            raise UserInputError(
                f'TrainTimeBudgetHook minutes must be > 0, got {minutes}')
        if not 0 <= skip_iters < calibrate_iters:
            raise UserInputError(
                'TrainTimeBudgetHook needs 0 <= skip_iters < calibrate_iters,'
                f' got skip_iters={skip_iters}, '
                f'calibrate_iters={calibrate_iters}')
        if check_interval < 1 or round_to < 1 or not 0 <= margin < 1:
            raise UserInputError(
                'TrainTimeBudgetHook needs check_interval >= 1, round_to >= '
                f'1 and 0 <= margin < 1; got {check_interval}, {round_to}, '
                f'{margin}')
        self.budget_s = minutes * 60
        self.calibrate_iters = calibrate_iters
        self.skip_iters = skip_iters
        self.check_interval = check_interval
        self.margin = margin
        self.round_to = round_to
        self._start = 0.
        self._elapsed_before = 0.
        # (iteration, elapsed seconds) the time per iteration is measured
        # from: iteration skip_iters (the first of a resumed run), then the
        # last check
        self._mark: Optional[tuple] = None

    def _elapsed(self) -> float:
        """Training seconds of this run, earlier sessions included."""
        return self._elapsed_before + time.perf_counter() - self._start

    def before_train(self, runner: Runner) -> None:
        """Start the clock; a resumed run takes back its budgeted state."""
        self._start = time.perf_counter()
        hub = runner.message_hub
        self._elapsed_before = hub.get_info(ELAPSED_KEY, 0.)
        max_iters = hub.get_info(MAX_ITERS_KEY)
        if max_iters is not None and max_iters != runner.max_iters:
            self._set_max_iters(runner, max_iters)
            print_log(
                f'TrainTimeBudgetHook: resumed with max_iters {max_iters} '
                f'({self._elapsed_before / 60:.1f} of '
                f'{self.budget_s / 60:.1f} minutes spent)',
                logger='current')

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Measure, and fit ``max_iters`` to the budget when it is due."""
        done = runner.iter + 1
        elapsed = self._elapsed()
        hub = runner.message_hub
        hub.update_info(ELAPSED_KEY, elapsed)
        if self._mark is None:
            if done >= self.skip_iters:
                self._mark = (done, elapsed)
            return
        since = done - self._mark[0]
        first = hub.get_info(MAX_ITERS_KEY) is None
        needed = (self.calibrate_iters -
                  self.skip_iters) if first else self.check_interval
        if since >= needed:
            self._fit(runner, done, elapsed, since, first)
            self._mark = (done, elapsed)

    def _fit(self, runner: Runner, done: int, elapsed: float, since: int,
             first: bool) -> None:
        """Set ``max_iters`` from the time per iteration since the mark
        (``first``: calibration; else a check, which only shortens)."""
        # every rank uses the slowest rank's numbers, so all decide alike
        stats = torch.tensor([(elapsed - self._mark[1]) / since, elapsed],
                             dtype=torch.float64)
        all_reduce(stats, op='max')
        per_iter, elapsed = stats.tolist()
        remaining = (self.budget_s - elapsed) * (1 - self.margin)
        fits = done + max(0, math.floor(remaining / per_iter))
        fits = max(done + 1, fits // self.round_to * self.round_to)
        if fits >= runner.max_iters and not first:
            return
        budgeted = min(fits, runner.max_iters)
        message = (f'TrainTimeBudgetHook: {per_iter:.3f} s per iteration '
                   f'over the last {since}, {elapsed / 60:.1f} of '
                   f'{self.budget_s / 60:.1f} minutes spent: ')
        if budgeted == runner.max_iters:
            message += (f'max_iters stays {budgeted} (about '
                        f'{(elapsed + (budgeted - done) * per_iter) / 60:.1f}'
                        ' minutes)')
        else:
            message += (f'max_iters {runner.max_iters} -> {budgeted}, the '
                        'learning rate schedule shortened with it')
            self._set_max_iters(runner, budgeted)
        runner.message_hub.update_info(MAX_ITERS_KEY, budgeted)
        print_log(message, logger='current')

    @staticmethod
    def _set_max_iters(runner: Runner, max_iters: int) -> None:
        """Set the loop's ``max_iters``; schedulers ending there follow."""
        old = runner.max_iters
        runner.train_loop._max_iters = max_iters
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        for scheduler in schedulers:
            if scheduler.end != old:
                continue
            if getattr(scheduler, 'T_max', None) == old - scheduler.begin:
                scheduler.T_max = max_iters - scheduler.begin
            scheduler.end = max_iters
