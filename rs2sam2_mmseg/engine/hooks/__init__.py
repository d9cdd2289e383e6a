from .atomic_checkpoint_hook import (ATOMIC_BACKEND, AtomicCheckpointHook,
                                     AtomicLocalBackend)
from .non_finite_loss_hook import NonFiniteLossHook, batch_sample_ids
from .train_time_budget_hook import TrainTimeBudgetHook

__all__ = [
    'ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'NonFiniteLossHook', 'TrainTimeBudgetHook', 'batch_sample_ids'
]
