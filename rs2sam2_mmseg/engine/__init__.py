"""Training-loop components (registries HOOKS, FUNCTIONS,
OPTIM_WRAPPER_CONSTRUCTORS)."""
from .fsdp import FSDPOptimWrapperConstructor, class_name_wrap_policy
from .hooks import NonFiniteLossHook, TrainTimeBudgetHook, batch_sample_ids

__all__ = [
    'FSDPOptimWrapperConstructor', 'class_name_wrap_policy',
    'NonFiniteLossHook', 'TrainTimeBudgetHook', 'batch_sample_ids'
]
