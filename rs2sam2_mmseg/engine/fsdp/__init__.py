"""Pieces of FSDP training (mmengine ``FSDPStrategy``): the wrap policy
(registry FUNCTIONS) and a gradient-clipping optimizer wrapper constructor
(registry OPTIM_WRAPPER_CONSTRUCTORS)."""
from .class_name_wrap_policy import class_name_wrap_policy
from .fsdp_optim_wrapper_constructor import FSDPOptimWrapperConstructor

__all__ = ['class_name_wrap_policy', 'FSDPOptimWrapperConstructor']
