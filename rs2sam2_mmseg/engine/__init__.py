"""Training-loop components (registry HOOKS)."""
from .hooks import NonFiniteLossHook, batch_sample_ids

__all__ = ['NonFiniteLossHook', 'batch_sample_ids']
