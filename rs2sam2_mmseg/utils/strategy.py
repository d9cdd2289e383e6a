"""Runner choice for configs with ``runner_type`` (ZeRO / FSDP through
mmengine's ``FlexibleRunner``)."""
import importlib.util
from typing import Union

import torch
from mmengine.config import Config
from mmengine.runner import FlexibleRunner, Runner
from mmseg.registry import RUNNERS
from .errors import UserInputError

#: Strategies that shard the model or its training state over processes:
#: they need a distributed launch (1 process works too).
SHARDED_STRATEGIES = ('DeepSpeedStrategy', 'FSDPStrategy')


def configure_strategy(cfg: Config) -> Config:
    """Check a ``FlexibleRunner`` config's strategy against this machine.

    - ``strategy`` without ``runner_type`` is an error (mmengine's
      ``Runner`` would ignore it and train with DDP).
    - ``DeepSpeedStrategy`` needs the ``deepspeed`` package
      (``pip install -e .[deepspeed]``) and CUDA.
    - ``DeepSpeedStrategy`` and ``FSDPStrategy`` need ``--launcher
      pytorch`` (``tools/dist_train.sh CONFIG NUM_GPUS``).
    - Without CUDA, ``FSDPStrategy`` runs on the CPU (gloo): its wrapper
      gets ``device_id='cpu'`` (mmengine's default is the local rank's
      GPU).

    Args:
        cfg (Config): The config, its ``launcher`` already set
            (``configure_launcher``).

    Returns:
        Config: The same config, modified in place.
    """
    strategy = cfg.get('strategy')
    if 'runner_type' not in cfg:
        if strategy is not None:
            raise UserInputError(
                f'{cfg.filename}: strategy={strategy.get("type")!r} needs '
                "runner_type='FlexibleRunner' (mmengine's Runner ignores "
                'strategy)')
        return cfg
    kind = (strategy or {}).get('type')
    if kind == 'DeepSpeedStrategy':
        if importlib.util.find_spec('deepspeed') is None:
            raise UserInputError(
                f'{cfg.filename} trains with DeepSpeed ZeRO, which is not '
                'installed: pip install -e .[deepspeed] (on a CUDA machine), '
                'or train with configs/rs2sam2_rrsisd_fsdp.py')
        if not torch.cuda.is_available():
            raise UserInputError(
                f'{cfg.filename} trains with DeepSpeed ZeRO, which needs '
                'CUDA; without a GPU use an FSDP config (FSDPStrategy runs '
                'on the CPU with gloo)')
    if kind in SHARDED_STRATEGIES and cfg.get('launcher', 'none') == 'none':
        raise UserInputError(
            f'{cfg.filename}: {kind} needs a distributed launch: '
            f'tools/dist_train.sh {cfg.filename} NUM_GPUS (1 works too)')
    if kind == 'FSDPStrategy' and not torch.cuda.is_available():
        strategy['model_wrapper'] = dict(
            strategy.get('model_wrapper') or {}, device_id='cpu')
    return cfg


def build_runner(cfg: Config) -> Union[Runner, FlexibleRunner]:
    """The config's runner, as MMSeg's ``tools/train.py`` builds it.

    ``runner_type`` (e.g. ``'FlexibleRunner'``) picks the runner from the
    RUNNERS registry, after :func:`configure_strategy`; otherwise
    mmengine's ``Runner``.

    Args:
        cfg (Config): The prepared config (launcher set).

    Returns:
        Runner | FlexibleRunner: The runner.
    """
    configure_strategy(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
