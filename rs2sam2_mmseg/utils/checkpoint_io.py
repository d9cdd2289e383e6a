"""Read checkpoints safely and check that they fit a model.

:func:`load_checkpoint_file` is the one place a ``.pth`` is read: tensors
and plain containers only (``torch.load(weights_only=True)``: a file that
names code is refused, never run), and a file that is empty, cut short or
not a checkpoint gives one :class:`UserInputError` naming it. Never does
it suggest loading unsafely.
"""
import os.path as osp
import pickle
import zipfile
from collections import OrderedDict
from typing import Any, Dict, List

import torch
from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import Tensor, nn

from .errors import UserInputError

StateDict = Dict[str, Tensor]
#: Most mismatched tensors named in :func:`check_checkpoint_fits`'s error.
LISTED_MISMATCHES = 3
#: Key prefixes of training wrappers, removed from every key (in order):
#: DDP / DeepSpeed's and the official RS2-SAM2 ``ReferFormer``'s, whose
#: DeepSpeed ``zero_to_fp32`` export has ``module.evf_model.*`` keys.
WRAPPER_PREFIXES = ('module.', 'evf_model.')


def _torch_reason(err: Exception) -> str:
    """What torch found wrong, without its advice to load unsafely."""
    text = str(err)
    if 'WeightsUnpickler error:' in text:
        detail = text.split('WeightsUnpickler error:', 1)[1].strip()
        return detail.splitlines()[0].strip()
    if 'central directory' in text or 'zip archive' in text:
        return 'its zip archive is cut short or damaged'
    if isinstance(err, EOFError):
        return 'it ends too early'
    return (text.strip().splitlines() or [type(err).__name__])[0]


def load_checkpoint_file(path: str, mmap: bool = False) -> Any:
    """Read a checkpoint file: tensors and plain containers only.

    Args:
        path (str): A file written by ``torch.save``.
        mmap (bool): Memory-map the tensors instead of reading them (for a
            look at the keys, shapes or ``meta``); only zip checkpoints
            (every ``torch.save`` since PyTorch 1.6) can be; others are
            read. Defaults to False.

    Returns:
        Any: The loaded object (a dict for mmengine, SAM2 and open_clip
        checkpoints).

    Raises:
        FileNotFoundError: ``path`` is not a file.
        UserInputError: The file is empty, cut short, not a checkpoint,
            or holds objects other than tensors and plain containers
            (loading those could run code: refused).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path!r} does not exist')
    if osp.getsize(path) == 0:
        raise UserInputError(f'{path} is empty: not a complete checkpoint')
    try:
        return torch.load(
            path,
            map_location='cpu',
            weights_only=True,
            mmap=mmap and zipfile.is_zipfile(path))
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise UserInputError(
            f'{path} is not a complete checkpoint ({_torch_reason(err)}); '
            'only files of tensors and plain containers are read, anything '
            'else is refused') from err


def checkpoint_meta(checkpoint: str) -> dict:
    """The ``meta`` mmengine saves in a checkpoint (``iter``, ``cfg``,
    ...), read without loading the tensors (memory-mapped)."""
    obj = load_checkpoint_file(checkpoint, mmap=True)
    return obj.get('meta', {}) if isinstance(obj, dict) else {}


def checkpoint_state_dict(obj: Any, path: str) -> StateDict:
    """The model tensors of a loaded checkpoint.

    ``obj['model']`` (SAM2, unilm) or ``obj['state_dict']`` (mmengine) when
    present, else ``obj``; the :data:`WRAPPER_PREFIXES` are removed from
    every key.

    Args:
        obj (Any): From :func:`load_checkpoint_file` or safetensors.
        path (str): The file, for errors.

    Returns:
        dict[str, Tensor]: Key -> tensor, in the file's order.
    """
    for key in ('model', 'state_dict'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(value, Tensor) for value in obj.values()):
        raise UserInputError(
            f'{path} holds no state dict (expected tensors, directly or '
            'under "model" / "state_dict")')
    state = OrderedDict()
    for key, value in obj.items():
        for prefix in WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        state[key] = value
    return state


def checkpoint_mismatches(model_state: Dict[str, Tensor],
                          state: Dict[str, Tensor]) -> List[str]:
    """Where a state dict does not fit a model's, one line per tensor.

    Args:
        model_state (dict[str, Tensor]): The model's ``state_dict()``.
        state (dict[str, Tensor]): The checkpoint's.

    Returns:
        list[str]: Shape mismatches, then model tensors the checkpoint
        lacks, then checkpoint tensors the model lacks; empty when it fits.
    """
    shapes = [
        f'{key}: {tuple(value.shape)} in the checkpoint, '
        f'{tuple(model_state[key].shape)} in the model'
        for key, value in state.items()
        if key in model_state and value.shape != model_state[key].shape
    ]
    missing = [
        f'{key}: not in the checkpoint' for key in model_state
        if key not in state
    ]
    unexpected = [
        f'{key}: not in the model' for key in state if key not in model_state
    ]
    return shapes + missing + unexpected


def check_checkpoint_fits(model: nn.Module, path: str) -> None:
    """Refuse a checkpoint that does not fill ``model`` exactly.

    mmengine loads checkpoints non-strictly: tensors of another shape or
    name only log warnings and keep their random initialisation, so a
    checkpoint of another config gives a model that predicts nonsense.
    This reads the file's keys and shapes (memory-mapped) and raises
    unless every tensor of the model is given with its shape and nothing
    else is.

    Args:
        model (nn.Module): The model, possibly in a DDP or test-time
            augmentation wrapper (its inner model is compared).
        path (str): The checkpoint file.

    Raises:
        UserInputError: Naming the file, how many tensors differ and the
            first ones.
    """
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    state = checkpoint_state_dict(load_checkpoint_file(path, mmap=True), path)
    model_state = model.state_dict()
    mismatches = checkpoint_mismatches(model_state, state)
    if not mismatches:
        return
    listed = '; '.join(mismatches[:LISTED_MISMATCHES])
    more = len(mismatches) - LISTED_MISMATCHES
    raise UserInputError(
        f'{path} does not fit the model ({len(mismatches)} tensors differ; '
        f'{listed}{f"; and {more} more" if more > 0 else ""}): it holds the '
        'weights of another config. Give the config it was trained with, '
        'or --allow-partial to load only the tensors that fit.')
