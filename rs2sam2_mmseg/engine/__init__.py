"""Training-loop components (registries HOOKS, FUNCTIONS,
OPTIM_WRAPPER_CONSTRUCTORS)."""
from .fsdp import FSDPOptimWrapperConstructor, class_name_wrap_policy
from .hooks import (ATOMIC_BACKEND, AtomicCheckpointHook, AtomicLocalBackend,
                    NonFiniteLossHook, batch_sample_ids)

__all__ = [
    'FSDPOptimWrapperConstructor', 'class_name_wrap_policy',
    'ATOMIC_BACKEND', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'NonFiniteLossHook', 'batch_sample_ids'
]
