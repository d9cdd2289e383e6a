"""Optimizer wrapper constructor that clips FSDP's sharded gradients."""
from functools import partial
from typing import Iterable

import torch
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn
from torch.distributed.fsdp import FullyShardedDataParallel


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FSDPOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, with gradient-norm clipping over the
    whole model when the model is FSDP-wrapped.

    Under FSDP each rank holds the gradients of its shard only: the
    wrapper's ``clip_grad=dict(max_norm=...)`` (``torch.nn.utils.
    clip_grad_norm_`` over the rank's parameters) would clip every shard
    by the norm of that shard alone. Here the wrapper clips with
    :meth:`FullyShardedDataParallel.clip_grad_norm_` of the root module,
    which reduces the norm over all ranks, so the step equals that of
    one process holding the whole model. Parameter groups, ``lr_mult``
    and the wrapper type (``OptimWrapper``, ``AmpOptimWrapper``) are the
    default constructor's. A model that is not FSDP-wrapped (e.g. a test
    run without ``FSDPStrategy``) keeps the default clipping.

    Use it in the config's ``optim_wrapper``::

        optim_wrapper = dict(constructor='FSDPOptimWrapperConstructor',
                             clip_grad=dict(max_norm=1.0), ...)
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer wrapper of ``model``.

        Args:
            model (nn.Module): The model, FSDP-wrapped or not.

        Returns:
            OptimWrapper: The wrapper; clipping by norm goes through
            FSDP when ``model`` is FSDP.
        """
        wrapper = super().__call__(model)
        if isinstance(model, FullyShardedDataParallel) and getattr(
                wrapper, 'clip_func', None) is torch.nn.utils.clip_grad_norm_:
            wrapper.clip_func = partial(_fsdp_clip_grad_norm, model)
        return wrapper


def _fsdp_clip_grad_norm(model: FullyShardedDataParallel,
                         params: Iterable[torch.Tensor],
                         max_norm: float,
                         norm_type: float = 2.0) -> torch.Tensor:
    """``clip_grad_norm_(params, max_norm, norm_type)`` as the wrapper
    calls it, answered by the root FSDP module (``params`` are its own).

    Returns:
        Tensor: The total norm over all ranks before clipping.
    """
    return model.clip_grad_norm_(max_norm, norm_type)
