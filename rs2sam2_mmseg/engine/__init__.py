"""Training-loop components (registry HOOKS)."""
from .hooks import NonFiniteLossHook, TrainTimeBudgetHook, batch_sample_ids

__all__ = ['NonFiniteLossHook', 'TrainTimeBudgetHook', 'batch_sample_ids']
