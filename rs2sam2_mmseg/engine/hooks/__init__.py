from .non_finite_loss_hook import NonFiniteLossHook, batch_sample_ids

__all__ = ['NonFiniteLossHook', 'batch_sample_ids']
