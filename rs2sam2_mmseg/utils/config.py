"""Config preparation shared by tools/ and the inference API."""
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config

#: Top-level config variables with the model keys they fill.
PRETRAINED_PATHS = dict(
    sam2_checkpoint=('backbone.sam2_checkpoint',
                     'decode_head.sam2_checkpoint'),
    clip_checkpoint=('union_encoder.pretrained', ))


def apply_pretrained_paths(cfg: Config) -> Config:
    """Copy the top-level pretrained paths into the model config.

    mmengine substitutes config variables when the file is parsed, so a
    ``--cfg-options sam2_checkpoint=PATH`` given later would not reach the
    model. Each non-None top-level variable of :data:`PRETRAINED_PATHS` is
    written to its model keys (only where the model has that component).

    Args:
        cfg (Config): A merged config.

    Returns:
        Config: The same config, modified in place.
    """
    for var, keys in PRETRAINED_PATHS.items():
        value = cfg.get(var)
        if value is None:
            continue
        for key in keys:
            component, arg = key.split('.')
            if component in cfg.model:
                cfg.model[component][arg] = value
    return cfg


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config, merge ``--cfg-options`` and apply pretrained paths.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``key=value`` overrides.
            Defaults to None.

    Returns:
        Config: The config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file {path!r} does not exist.')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return apply_pretrained_paths(cfg)


def configure_launcher(cfg: Config, launcher: str) -> Config:
    """Set the launcher; without CUDA use gloo and a CPU DDP wrapper.

    On a machine without CUDA, distributed runs (``torchrun`` on CPU) use
    the gloo backend and wrap the model in DDP without ``device_ids``.

    Args:
        cfg (Config): The config.
        launcher (str): 'none', 'pytorch', 'slurm' or 'mpi'.

    Returns:
        Config: The same config, modified in place.
    """
    cfg.launcher = launcher
    if launcher != 'none' and not torch.cuda.is_available():
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return cfg


def enable_amp(cfg: Config, dtype: Optional[str] = None) -> Config:
    """Train with mmengine's ``AmpOptimWrapper`` (CUDA autocast).

    Args:
        cfg (Config): The config.
        dtype (str, optional): 'float16' or 'bfloat16'; None keeps the
            config's (or mmengine's float16 with dynamic loss scale).

    Returns:
        Config: The same config, modified in place.
    """
    if not torch.cuda.is_available():
        raise ValueError('--amp needs CUDA: mmengine AmpOptimWrapper runs '
                           'autocast on GPU only.')
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
    if dtype:
        wrapper.dtype = dtype
    return cfg


def drop_amp_without_cuda(cfg: Config) -> Config:
    """Fall back to fp32 ``OptimWrapper`` when CUDA is missing (with a log).

    The paper configs train with bf16 autocast; on a CPU-only machine
    (tests, debugging) the plain wrapper is used instead.
    """
    wrapper = cfg.get('optim_wrapper')
    if wrapper and wrapper.get('type') == 'AmpOptimWrapper' and \
            not torch.cuda.is_available():
        from mmengine.logging import print_log
        print_log('No CUDA: AmpOptimWrapper replaced by OptimWrapper (fp32).',
                  logger='current', level=30)
        wrapper.type = 'OptimWrapper'
        for key in ('dtype', 'loss_scale'):
            wrapper.pop(key, None)
    return cfg
