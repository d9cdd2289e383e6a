"""Compatibility shims for the pinned stack (torch 2.14 + mmcv-lite).

Imported FIRST by ``rs2sam2_mmseg/__init__.py``, before anything touches
``mmseg``. Two problems are solved here:

1. ``mmcv-lite`` ships the Python sources of ``mmcv.ops`` but not the compiled
   ``mmcv._ext``, so ``import mmcv.ops`` fails and with it ``import
   mmseg.models`` (``mmseg.utils.mask_classification`` and
   ``mmseg.models.losses.focal_loss`` import ``point_sample`` and
   ``sigmoid_focal_loss`` at import time). When ``mmcv._ext`` is missing we
   register a stand-in ``mmcv.ops`` module that provides exactly those two
   names in pure torch. Every other name raises ``ModuleNotFoundError`` (an
   ``ImportError``; mmseg's fallbacks such as ``try: from mmcv.ops import
   CrissCrossAttention / except ModuleNotFoundError`` catch only that
   subclass), so mmseg and mmengine keep their own fallbacks. With full mmcv
   installed nothing is changed.
2. torch>=2.6 loads checkpoints with ``weights_only=True``. mmengine
   checkpoints hold a ``message_hub`` with ``HistoryBuffer`` objects and numpy
   arrays/scalars, which the restricted unpickler rejects, breaking
   ``--resume`` and ``tools/test.py CKPT``. We add those classes to torch's
   allow-list (``torch.serialization.add_safe_globals``); ``weights_only`` is
   never switched off.
3. mmengine 0.10.7's ``FSDPStrategy.load_optim_state_dict`` (``--resume``
   of an FSDP run) calls ``FSDP.optim_state_dict_to_load(state_dict, model,
   optimizer)``, the argument order of torch<2.1; torch>=2.1 takes
   ``(model, optim, optim_state_dict)``. We replace that one method with
   the same call in torch's order (:func:`fsdp_load_optim_state_dict`).

DataLoader workers started with ``spawn`` re-import whatever the pickled
dataset references; our datasets and transforms live in this package, so the
import of ``rs2sam2_mmseg`` (and therefore of this module) happens again there.
"""
import importlib.util
import inspect
import os.path as osp
import pickle
import sys
import types
import warnings
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

#: The ``mmcv.ops`` names that mmseg imports unconditionally at import time.
STANDIN_OPS = ('point_sample', 'sigmoid_focal_loss')


def sigmoid_focal_loss(input: torch.Tensor,
                       target: torch.Tensor,
                       gamma: float = 2.0,
                       alpha: float = 0.25,
                       weight: Optional[torch.Tensor] = None,
                       reduction: str = 'mean') -> torch.Tensor:
    """Pure-torch version of ``mmcv.ops.sigmoid_focal_loss``.

    Same contract as the CUDA kernel: ``target`` holds class indices and the
    value ``C`` (num classes) means background, i.e. negative for every
    class; ``weight`` is a per-class weight indexed by the sample's target.

    Args:
        input (Tensor): Logits of shape (N, C).
        target (Tensor): Long class indices of shape (N, ).
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float): Positive/negative balance. Defaults to 0.25.
        weight (Tensor, optional): Per-class weight of shape (C, ).
            Defaults to None.
        reduction (str): 'none' (returns (N, C)), 'mean' (sum / N, as mmcv)
            or 'sum'. Defaults to 'mean'.

    Returns:
        Tensor: The loss, (N, C) for 'none' else a scalar.
    """
    if input.dim() != 2 or target.dim() != 1 or len(input) != len(target):
        raise ValueError('sigmoid_focal_loss expects input (N, C) and target '
                         f'(N,), got {tuple(input.shape)} and '
                         f'{tuple(target.shape)}')
    num_classes = input.size(1)
    one_hot = F.one_hot(target.long(), num_classes + 1)[:, :num_classes]
    one_hot = one_hot.to(input.dtype)
    prob = input.sigmoid()
    log_p = F.logsigmoid(input)
    log_not_p = F.logsigmoid(-input)
    loss = -(alpha * (1 - prob).pow(gamma) * log_p * one_hot +
             (1 - alpha) * prob.pow(gamma) * log_not_p * (1 - one_hot))
    if weight is not None:
        loss = loss * weight[target.clamp(max=num_classes - 1)].view(-1, 1)
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum', "
                     f'got {reduction!r}')


def _load_mmcv_point_sample() -> types.ModuleType:
    """Load mmcv's own pure-torch ``point_sample.py`` without ``mmcv.ops``.

    The file imports nothing from mmcv, so it is loaded by path; this avoids
    re-implementing it.
    """
    mmcv_spec = importlib.util.find_spec('mmcv')
    path = osp.join(osp.dirname(mmcv_spec.origin), 'ops', 'point_sample.py')
    spec = importlib.util.spec_from_file_location('mmcv.ops.point_sample',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _missing_op(name: str):
    """Module ``__getattr__`` of the stand-in: unknown ops are not there."""
    if name.startswith('__'):
        raise AttributeError(name)
    raise ModuleNotFoundError(
        f'mmcv.ops.{name} needs the compiled ops of full mmcv; mmcv-lite is '
        f'installed and rs2sam2_mmseg only provides {STANDIN_OPS}.',
        name=f'mmcv.ops.{name}')


def install_mmcv_ops_standin() -> bool:
    """Register the pure-torch ``mmcv.ops`` stand-in when mmcv is lite.

    Returns:
        bool: True when the stand-in is (now or already) in place, False when
        full mmcv with compiled ops is installed and nothing was changed.
    """
    if importlib.util.find_spec('mmcv._ext') is not None:
        return False
    existing = sys.modules.get('mmcv.ops')
    if getattr(existing, '__rs2sam2_standin__', False):
        return True
    import mmcv
    ops = types.ModuleType(
        'mmcv.ops', 'Pure-torch stand-in for mmcv.ops installed by '
        'rs2sam2_mmseg.compat (mmcv-lite has no compiled ops). Provides '
        f'only {STANDIN_OPS}.')
    ops.__rs2sam2_standin__ = True
    ops.point_sample = _load_mmcv_point_sample().point_sample
    ops.sigmoid_focal_loss = sigmoid_focal_loss
    ops.__all__ = list(STANDIN_OPS)
    ops.__getattr__ = _missing_op
    sys.modules['mmcv.ops'] = ops
    mmcv.ops = ops
    # mmcv.cnn warns once that the lite build lacks this op; expected here
    warnings.filterwarnings(
        'ignore',
        message='Fail to import ``MultiScaleDeformableAttention``',
        category=UserWarning)
    return True


def history_buffer_getattr(owner: type, name: str) -> Callable:
    """A ``getattr`` restricted to ``HistoryBuffer``'s statistic methods.

    ``HistoryBuffer.__getstate__`` stores its statistic methods, which pickle
    as ``builtins.getattr(HistoryBuffer, 'min')``. Allowing the real
    ``getattr`` would open every attribute of every allowed class to the
    checkpoint; this stand-in is registered under that name instead.

    Args:
        owner (type): Must be ``HistoryBuffer``.
        name (str): A public method of ``HistoryBuffer``.

    Returns:
        Callable: The method.
    """
    from mmengine.logging import HistoryBuffer
    method = vars(HistoryBuffer).get(name) if owner is HistoryBuffer else None
    if name.startswith('_') or not callable(method):
        raise pickle.UnpicklingError(
            f'weights_only checkpoint asked for getattr({owner!r}, {name!r}); '
            'only public HistoryBuffer methods are allowed')
    return getattr(HistoryBuffer, name)


def checkpoint_safe_globals() -> List[Tuple[Callable, str]]:
    """The globals mmengine checkpoints need under ``weights_only=True``.

    Returns:
        list[tuple]: ``(object, 'module.qualname')`` pairs as accepted by
        ``torch.serialization.add_safe_globals``: ``HistoryBuffer`` and its
        restricted ``getattr`` (message hub), numpy array reconstruction,
        ``numpy.ndarray``, ``numpy.dtype`` with every concrete dtype class,
        and the numpy scalar constructor.
    """
    from mmengine.logging import HistoryBuffer
    multiarray = (getattr(np, '_core', None) or np.core).multiarray
    objects = [
        HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct,
        multiarray.scalar
    ]
    objects += [
        cls for cls in vars(np.dtypes).values()
        if isinstance(cls, type) and issubclass(cls, np.dtype)
    ]
    pairs = [(obj, f'{obj.__module__}.{obj.__qualname__}') for obj in objects]
    return pairs + [(history_buffer_getattr, 'builtins.getattr')]


def install_checkpoint_safe_globals() -> None:
    """Allow mmengine checkpoints under torch's ``weights_only=True``."""
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


def fsdp_load_optim_state_dict(self, state_dict: dict) -> None:
    """``FSDPStrategy.load_optim_state_dict`` with torch>=2.1's arguments.

    Args:
        self (FSDPStrategy): The strategy (model and optimizer prepared).
        state_dict (dict): The optimizer state its ``optim_state_dict``
            saved.
    """
    from torch.distributed.fsdp import FullyShardedDataParallel
    self.optim_wrapper.load_state_dict(
        FullyShardedDataParallel.optim_state_dict_to_load(
            self.model, self.optim_wrapper.optimizer, state_dict))


def install_fsdp_resume_fix() -> bool:
    """Install :func:`fsdp_load_optim_state_dict` where torch needs it.

    Returns:
        bool: Whether it is installed (torch's ``optim_state_dict_to_load``
        takes the model first).
    """
    from mmengine._strategy import FSDPStrategy
    from torch.distributed.fsdp import FullyShardedDataParallel
    params = inspect.signature(
        FullyShardedDataParallel.optim_state_dict_to_load).parameters
    if next(iter(params)) != 'model':
        return False
    FSDPStrategy.load_optim_state_dict = fsdp_load_optim_state_dict
    return True


def shim_status() -> dict:
    """Report which shims are active in this process (used by tests/tools).

    Returns:
        dict: ``mmcv_ops_standin`` (bool) and ``safe_globals`` (bool: every
        class of :func:`checkpoint_safe_globals` is allowed).
    """
    ops = sys.modules.get('mmcv.ops')
    allowed = set(torch.serialization.get_safe_globals())
    return dict(
        mmcv_ops_standin=bool(getattr(ops, '__rs2sam2_standin__', False)),
        safe_globals=set(checkpoint_safe_globals()) <= allowed)


install_mmcv_ops_standin()
install_checkpoint_safe_globals()
install_fsdp_resume_fix()
