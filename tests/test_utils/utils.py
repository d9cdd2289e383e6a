"""Checkpoints built with the real builders, for the weight tests."""
import json
import os
import os.path as osp
from typing import Dict, Optional

import open_clip
import torch
from safetensors.torch import save_file
from torch import Tensor

from ..test_models.utils import tiny_cfg


def save_open_clip(path: str, custom_text: bool) -> dict:
    """Save the tiny config's open_clip towers as open_clip would.

    The model is created by ``open_clip.create_model`` from the tiny
    config's ``union_encoder`` arguments, so its keys are open_clip's own.

    Args:
        path (str): ``.pt`` / ``.bin`` (torch) or ``.safetensors``.
        custom_text (bool): ``force_custom_text``: ``text.*`` keys; False
            gives the classic CLIP layout (``token_embedding``,
            ``transformer.*``, ``ln_final``, ``text_projection``).

    Returns:
        dict[str, Tensor]: The saved state dict.
    """
    cfg = tiny_cfg().model.union_encoder
    torch.manual_seed(0)
    model = open_clip.create_model(
        cfg.model_name,
        force_custom_text=custom_text,
        force_image_size=cfg.image_size,
        force_context_length=cfg.context_length,
        **cfg.model_kwargs)
    state = model.state_dict()
    if path.endswith('.safetensors'):
        save_file(state, path)
    else:
        torch.save(state, path)
    return state


#: config.json of the official save_pretrained directories (EvfConfig).
OFFICIAL_CONFIG = dict(
    architectures=['EvfSamModel'],
    hidden_size=1024,
    model_type='evf',
    out_dim=256,
    torch_dtype='float32')


def save_hf_directory(path: str,
                      state: Dict[str, Tensor],
                      weights: Optional[str],
                      shards: int = 1) -> None:
    """Write ``state`` as ``save_pretrained`` does.

    Args:
        path (str): The directory (created).
        state (dict[str, Tensor]): The tensors.
        weights (str, optional): ``'safetensors'`` (model.safetensors),
            ``'bin'`` (pytorch_model.bin) or None (config.json only).
        shards (int): More than 1 writes that many shards and the
            ``*.index.json`` naming them. Defaults to 1.
    """
    os.makedirs(path)
    with open(osp.join(path, 'config.json'), 'w') as f:
        json.dump(OFFICIAL_CONFIG, f)
    if weights is None:
        return
    name, save = dict(
        safetensors=('model.safetensors', save_file),
        bin=('pytorch_model.bin', torch.save))[weights]
    if shards == 1:
        save(state, osp.join(path, name))
        return
    stem, ext = name.split('.')
    keys, weight_map = list(state), {}
    for i in range(shards):
        shard = f'{stem}-{i + 1:05d}-of-{shards:05d}.{ext}'
        part = keys[i::shards]
        save({key: state[key] for key in part}, osp.join(path, shard))
        weight_map.update(dict.fromkeys(part, shard))
    with open(osp.join(path, f'{name}.index.json'), 'w') as f:
        json.dump(dict(metadata=dict(total_size=0), weight_map=weight_map), f)


def save_zero_to_fp32(path: str, state: Dict[str, Tensor]) -> None:
    """Write ``state`` as DeepSpeed's zero_to_fp32 exports the official
    training model (``module.evf_model.*`` keys).

    Args:
        path (str): The ``.bin`` file.
        state (dict[str, Tensor]): The EvfSamModel tensors.
    """
    torch.save({f'module.evf_model.{k}': v for k, v in state.items()}, path)
