from .non_finite_loss_hook import NonFiniteLossHook, batch_sample_ids
from .train_time_budget_hook import TrainTimeBudgetHook

__all__ = ['NonFiniteLossHook', 'TrainTimeBudgetHook', 'batch_sample_ids']
