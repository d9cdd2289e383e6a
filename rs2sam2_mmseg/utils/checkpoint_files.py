"""Read checkpoint files and Hugging Face checkpoint directories.

What :func:`load_state_dict` accepts:

.. code-block:: none

    a file
        *.safetensors                     safetensors
        anything else (.pt, .pth, .bin)   torch.load(weights_only=True);
                                          tensors directly or under
                                          "model" / "state_dict"
    a save_pretrained directory (config.json beside the weights)
        model.safetensors.index.json      sharded: every shard it names
        pytorch_model.bin.index.json
        model.safetensors                 one file (preferred when both,
        pytorch_model.bin                 as transformers does)

Wrapper prefixes are removed from every key: ``module.`` (DDP / DeepSpeed)
and ``evf_model.`` (the official RS2-SAM2 ``ReferFormer``, whose
DeepSpeed ``zero_to_fp32`` export has ``module.evf_model.*`` keys).

A file that cannot be read (truncated, corrupt, not a checkpoint) or a
directory without weights raises :class:`CheckpointError` with a one-line
message naming the file. ``torch.save`` files are read by
:func:`~.checkpoint_io.load_checkpoint_file` (tensors and plain
containers only).
"""
import json
import os.path as osp
import shutil
from collections import OrderedDict
from typing import List, Optional

from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors

from .checkpoint_io import (StateDict, checkpoint_state_dict,
                            load_checkpoint_file)
from .errors import UserInputError

#: Weight files of a ``save_pretrained`` directory, in the order
#: transformers prefers them (sharded index files first).
HF_WEIGHT_FILES = ('model.safetensors.index.json',
                   'pytorch_model.bin.index.json', 'model.safetensors',
                   'pytorch_model.bin')
#: Sentencepiece models a checkpoint may carry for its tokenizer: the
#: ``save_pretrained`` name of XLMRobertaTokenizer and unilm's BEiT-3 name.
TOKENIZER_FILES = ('sentencepiece.bpe.model', 'beit3.spm')


class CheckpointError(UserInputError):
    """A checkpoint file or directory that cannot be used as given."""


def _first_line(err: BaseException) -> str:
    """``'ErrorType: first line of its message'``."""
    lines = str(err).strip().splitlines()
    return f'{type(err).__name__}: {lines[0]}' if lines \
        else type(err).__name__


def load_file(path: str) -> StateDict:
    """Read one checkpoint file.

    Args:
        path (str): ``.safetensors`` or a ``torch.save`` file.

    Returns:
        dict[str, Tensor]: Its state dict, wrapper prefixes removed.
    """
    if not path.endswith('.safetensors'):
        return checkpoint_state_dict(load_checkpoint_file(path), path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path!r} does not exist')
    try:
        return checkpoint_state_dict(load_safetensors(path), path)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f'{path} is not a complete checkpoint '
                              f'(safetensors: {_first_line(err)})') from err


def hf_weight_files(directory: str) -> List[str]:
    """The weight files of a ``save_pretrained`` directory.

    Args:
        directory (str): The directory.

    Returns:
        list[str]: One file, or the shards its index names (in order).
    """
    name = next(
        (n for n in HF_WEIGHT_FILES if osp.isfile(osp.join(directory, n))),
        None)
    if name is None:
        raise CheckpointError(
            f'{directory} holds no weights: expected one of '
            f'{", ".join(HF_WEIGHT_FILES)} (a save_pretrained directory)')
    path = osp.join(directory, name)
    if not name.endswith('.index.json'):
        return [path]
    try:
        with open(path) as f:
            weight_map = json.load(f)['weight_map']
        shards = list(OrderedDict.fromkeys(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(
            f'{path} is not a shard index (a JSON object with a '
            f'"weight_map" of key -> file; {_first_line(err)})') from err
    files = [osp.join(directory, shard) for shard in shards]
    for file in files:
        if not osp.isfile(file):
            raise CheckpointError(f'{path} names the shard {file}, which '
                                  'does not exist')
    return files


def load_state_dict(path: str) -> StateDict:
    """Read a checkpoint file or a ``save_pretrained`` directory.

    Args:
        path (str): See the module docstring.

    Returns:
        dict[str, Tensor]: All its tensors, wrapper prefixes removed.
    """
    if not osp.isdir(path):
        return load_file(path)
    state: StateDict = OrderedDict()
    for file in hf_weight_files(path):
        state.update(load_file(file))
    return state


def find_tokenizer_file(path: str) -> Optional[str]:
    """The sentencepiece model stored with a checkpoint, if any.

    Args:
        path (str): A checkpoint directory, or a file whose folder may
            hold the tokenizer (e.g. a ``zero_to_fp32`` bin).

    Returns:
        str, optional: The first of :data:`TOKENIZER_FILES` found there.
    """
    directory = path if osp.isdir(path) else osp.dirname(osp.abspath(path))
    return next(
        (osp.join(directory, name)
         for name in TOKENIZER_FILES if osp.isfile(osp.join(directory, name))),
        None)


def source_files(path: str) -> List[str]:
    """The files a checkpoint is read from (absolute, links resolved).

    Args:
        path (str): A checkpoint file or ``save_pretrained`` directory.

    Returns:
        list[str]: The file, or the directory's weight files.
    """
    files = hf_weight_files(path) if osp.isdir(path) else [path]
    return [osp.realpath(file) for file in files]


def check_not_source(out: str, source: str) -> None:
    """Refuse to write a converted checkpoint over its source.

    Args:
        out (str): The output file.
        source (str): The checkpoint file or directory read.
    """
    if osp.isdir(out) or osp.realpath(out) in source_files(source):
        raise CheckpointError(
            f'{out} is the checkpoint being converted (or a directory); '
            'choose another output file')


def copy_tokenizer_file(source: str, out: str) -> Optional[str]:
    """Copy a checkpoint's sentencepiece model beside a converted file.

    Args:
        source (str): The checkpoint file or directory read (see
            :func:`find_tokenizer_file`).
        out (str): The converted checkpoint file.

    Returns:
        str, optional: The copy (or the file itself when it is already
        there); None when the source has no tokenizer file.
    """
    found = find_tokenizer_file(source)
    if found is None:
        return None
    copy = osp.join(osp.dirname(osp.abspath(out)), osp.basename(found))
    if not osp.exists(copy) or not osp.samefile(found, copy):
        shutil.copyfile(found, copy)
    return copy
