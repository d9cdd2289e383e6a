"""Training-loop components (registry HOOKS)."""
from .hooks import (ATOMIC_BACKEND, AtomicCheckpointHook, AtomicLocalBackend,
                    NonFiniteLossHook, TrainTimeBudgetHook, batch_sample_ids)

__all__ = [
    'ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'NonFiniteLossHook', 'TrainTimeBudgetHook', 'batch_sample_ids'
]
