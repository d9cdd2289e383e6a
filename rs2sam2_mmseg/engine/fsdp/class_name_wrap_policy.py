"""FSDP auto-wrap policy that names its wrap units by class name."""
from typing import Sequence

from mmengine.registry import FUNCTIONS
from torch import nn
from torch.distributed.fsdp.wrap import lambda_auto_wrap_policy


@FUNCTIONS.register_module()
def class_name_wrap_policy(module: nn.Module, recurse: bool,
                           nonwrapped_numel: int,
                           class_names: Sequence[str]) -> bool:
    """Wrap every module whose class is named in ``class_names``.

    Each such module becomes its own FSDP unit: its parameters are
    gathered just before it runs and freed after, so a rank holds one
    unit's full weights at a time (plus its shard of everything). Used by
    ``MMFullyShardedDataParallel(auto_wrap_policy=dict(
    type='class_name_wrap_policy', class_names=[...]))``; a config names
    classes by string because it cannot import them.

    Args:
        module (nn.Module): The module FSDP asks about.
        recurse (bool): True when FSDP asks whether to look into the
            children (always yes), False when it asks whether to wrap
            ``module``.
        nonwrapped_numel (int): Parameters not yet wrapped (unused).
        class_names (Sequence[str]): Class names of the wrap units, e.g.
            ``'MultiScaleBlock'`` (SAM2 Hiera), ``'MultiwayEncoderLayer'``
            (BEiT-3).

    Returns:
        bool: Whether to recurse into (``recurse``) or wrap ``module``.
    """
    return lambda_auto_wrap_policy(
        module,
        recurse,
        nonwrapped_numel,
        lambda_fn=lambda m: type(m).__name__ in class_names)
