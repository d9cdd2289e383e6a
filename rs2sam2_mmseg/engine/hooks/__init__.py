from .atomic_checkpoint_hook import (ATOMIC_BACKEND, AtomicCheckpointHook,
                                     AtomicLocalBackend)
from .non_finite_loss_hook import NonFiniteLossHook, batch_sample_ids

__all__ = [
    'ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'NonFiniteLossHook', 'batch_sample_ids'
]
