"""Config preparation shared by tools/ and the inference API."""
import json
import logging
import os
import os.path as osp
from datetime import timedelta
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

from .checkpoint_io import checkpoint_meta
from .errors import UserInputError

#: Top-level variables of earlier configs -> the model keys that replaced
#: them (loaded in the components' ``init_weights``, by MMSeg's tools too).
RENAMED_KEYS = dict(
    sam2_checkpoint='model.sam2_checkpoint',
    clip_checkpoint='model.union_encoder.pretrained')
#: Values of ``--launcher``.
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
#: Test-time language ablations (``--text-ablation``), see
#: ``TextAblationDataset``.
TEXT_ABLATIONS = ('none', 'shuffle')
#: Dataloaders of a config.
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Config keys that define a training run: resuming across a change of any
#: of them would mix two recipes.
RECIPE_KEYS = ('model', 'train_dataloader', 'optim_wrapper', 'param_scheduler',
               'train_cfg', 'custom_hooks', 'randomness')


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config and merge ``--cfg-options``.

    Dataloaders overridden to ``num_workers=0`` also get
    ``persistent_workers=False`` (PyTorch rejects the combination). A
    top-level ``sam2_checkpoint`` / ``clip_checkpoint`` (earlier configs'
    variables, which would now reach no model) is refused, naming the model
    key to use (:data:`RENAMED_KEYS`).

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``key=value`` overrides.
            Defaults to None.

    Returns:
        Config: The config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader and loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False
    for old, key in RENAMED_KEYS.items():
        if cfg.get(old) is not None:
            raise UserInputError(
                f'{path}: the top-level {old!r} reaches no model any more; '
                f'give the file as {key} (e.g. --cfg-options {key}=PATH)')
    return cfg


def set_work_dir(cfg: Config, work_dir: Optional[str],
                 config_path: str) -> Config:
    """Set ``cfg.work_dir`` as MMSeg's tools do.

    Priority: ``work_dir`` (``--work-dir``), the config's ``work_dir``,
    then ``./work_dirs/<config file name>``.

    Args:
        cfg (Config): The config.
        work_dir (str, optional): ``--work-dir``.
        config_path (str): The config file.

    Returns:
        Config: The same config, modified in place.
    """
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs',
        osp.splitext(osp.basename(config_path))[0])
    return cfg


def _init_gloo(cfg: Config) -> None:
    """Start the gloo process group of a torchrun worker (no CUDA).

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` first, which
    fails without CUDA; once a group exists the Runner does not call it.
    """
    if torch_dist.is_initialized():
        return
    if 'RANK' not in os.environ:
        raise UserInputError('--launcher pytorch: RANK is not set; start the '
                             'processes with torchrun (tools/dist_train.sh, '
                             'tools/dist_test.sh)')
    kwargs = dict(backend='gloo')
    timeout = cfg.env_cfg.dist_cfg.get('timeout')
    if timeout is not None:
        kwargs['timeout'] = timedelta(seconds=timeout)
    torch_dist.init_process_group(**kwargs)


def configure_launcher(cfg: Config, launcher: str) -> Config:
    """Set the launcher; without CUDA use gloo and a CPU DDP wrapper.

    On a machine without CUDA a distributed run (``torchrun`` on CPU) uses
    the gloo backend (its process group is started here, see
    :func:`_init_gloo`), wraps the model in DDP without ``device_ids`` and
    drops ``sync_bn`` (SyncBN needs CUDA).

    Args:
        cfg (Config): The config.
        launcher (str): One of :data:`LAUNCHERS`.

    Returns:
        Config: The same config, modified in place.
    """
    if launcher not in LAUNCHERS:
        raise UserInputError(f'Unknown launcher {launcher!r}; expected one of '
                             f'{LAUNCHERS}')
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if launcher != 'pytorch':
        raise UserInputError(f'--launcher {launcher} needs CUDA; on a CPU '
                             'machine use --launcher pytorch (torchrun: '
                             'tools/dist_train.sh, tools/dist_test.sh)')
    env_cfg = cfg.get('env_cfg') or {}
    env_cfg['dist_cfg'] = dict(env_cfg.get('dist_cfg') or {}, backend='gloo')
    cfg.env_cfg = env_cfg
    if cfg.pop('sync_bn', None) is not None:
        print_log(
            'No CUDA: sync_bn dropped (SyncBN needs CUDA).',
            logger='current',
            level=logging.WARNING)
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    _init_gloo(cfg)
    return cfg


def configure_denormals(cfg: Config) -> bool:
    """Flush denormal floats to zero on the CPU if ``env_cfg`` asks for it.

    As training goes on, more and more gradients, optimiser moments and
    activations fall below float32's normal range (about 1e-38); the CPU
    handles such denormal numbers in microcode, many times slower. On the
    demo the training step of a trained model took 20% longer than that of
    a fresh one, and flushing them to zero (``torch.set_flush_denormal``:
    the x86 FTZ / DAZ flags) removed the difference. It changes nothing
    visible at float32 precision (TensorFlow flushes by default).

    The flags belong to a thread and new threads copy them from the thread
    that creates them: call this before torch starts its thread pool, that
    is before the model is built (the tools call it right after loading
    the config).

    Args:
        cfg (Config): With ``env_cfg.flush_denormal`` (bool, default
            False).

    Returns:
        bool: Whether denormals are now flushed (False where the config
        does not ask for it or the CPU cannot).
    """
    if not (cfg.get('env_cfg') or {}).get('flush_denormal', False):
        return False
    return torch.set_flush_denormal(True)


def configure_amp(cfg: Config, amp: bool = False) -> Config:
    """Choose the optimizer wrapper for ``--amp`` and the machine.

    With ``amp`` the config trains with mmengine's ``AmpOptimWrapper``
    (float16 with dynamic loss scale unless the config sets a ``dtype``);
    that needs CUDA. Without CUDA an ``AmpOptimWrapper`` of the config (the
    paper configs train with bf16 autocast) falls back to the fp32
    ``OptimWrapper`` with a warning, so the configs run on CPU.

    Args:
        cfg (Config): The config.
        amp (bool): ``--amp``. Defaults to False.

    Returns:
        Config: The same config, modified in place.
    """
    wrapper = cfg.optim_wrapper
    if amp:
        if not torch.cuda.is_available():
            raise UserInputError('--amp needs CUDA: mmengine AmpOptimWrapper '
                                 'runs autocast on GPU only')
        if wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            wrapper.type = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
    elif wrapper.get('type') == 'AmpOptimWrapper' and \
            not torch.cuda.is_available():
        print_log(
            'No CUDA: AmpOptimWrapper replaced by OptimWrapper (fp32).',
            logger='current',
            level=logging.WARNING)
        wrapper.type = 'OptimWrapper'
        for key in ('dtype', 'loss_scale'):
            wrapper.pop(key, None)
    return cfg


def configure_resume(cfg: Config, resume: Optional[str]) -> Config:
    """Set ``resume``/``load_from`` for ``--resume [CHECKPOINT]``.

    Nothing is lost or mixed: without ``--resume`` a work dir that holds a
    run (its ``last_checkpoint``) is refused rather than overwritten; with
    it, a checkpoint trained with another recipe (:func:`changed_recipe`)
    is refused before any step.

    Args:
        cfg (Config): The config, with its ``work_dir`` set.
        resume (str, optional): None (no resume), ``'auto'`` (the latest
            checkpoint of the work dir, as recorded in its
            ``last_checkpoint``; a fresh start when there is none) or a
            checkpoint file (model, optimizer, scheduler and iteration;
            DeepSpeed ZeRO saves a folder).

    Returns:
        Config: The same config, modified in place.
    """
    work_dir = cfg.get('work_dir') or ''
    last = osp.join(work_dir, 'last_checkpoint')
    if resume is None:
        if osp.isfile(last):
            raise UserInputError(
                f'{work_dir} holds a training run already (see {last}); '
                'continue it with --resume, or train into another '
                '--work-dir')
        return cfg
    if resume != 'auto' and not osp.exists(resume):
        raise FileNotFoundError(
            f'--resume checkpoint {resume!r} does not exist')
    stale = changed_recipe(cfg, work_dir, None if resume == 'auto' else resume)
    if stale:
        raise UserInputError(
            f'--resume: {stale}; resuming would mix two recipes. Resume '
            'with the config of that run, or train afresh into another '
            '--work-dir')
    cfg.resume = True
    cfg.load_from = None if resume == 'auto' else resume
    return cfg


def _recipe_value(cfg: Config, key: str) -> str:
    """``cfg[key]`` as :func:`changed_recipe` compares it (JSON), without
    ``train_cfg.max_iters`` and the ``minutes`` of a
    ``TrainTimeBudgetHook``."""
    value = cfg.get(key)
    if key == 'train_cfg':
        value = {k: v for k, v in (value or {}).items() if k != 'max_iters'}
    if key == 'custom_hooks':
        value = [{
            name: option
            for name, option in hook.items()
            if name != 'minutes' or hook['type'] != 'TrainTimeBudgetHook'
        } for hook in value or []]
    return json.dumps(value, sort_keys=True, default=str)


def changed_recipe(cfg: Config,
                   work_dir: str,
                   checkpoint: Optional[str] = None) -> Optional[str]:
    """Why resuming ``cfg`` in ``work_dir`` would mix two recipes, if so.

    The last checkpoint of a run holds the config the run was trained with
    (mmengine saves it in the checkpoint's ``meta``; the config file
    mmengine writes into the work dir is rewritten by every later run
    there, a ``tools/test.py`` included). Resuming after a change of any
    :data:`RECIPE_KEYS` would train on from weights of another recipe. Two
    things are not part of the recipe: ``train_cfg.max_iters`` (resuming
    to train longer is what ``--resume`` is for) and the minutes of a
    ``TrainTimeBudgetHook`` (a resumed run keeps the iterations its budget
    set, and ``tools/demo.py`` gives training the time the demo has left).

    Args:
        cfg (Config): The config about to be trained (loaded from a file).
        work_dir (str): The work dir ``--resume`` would read.
        checkpoint (str, optional): The checkpoint to resume from; None:
            the one the work dir's ``last_checkpoint`` names.
            Defaults to None.

    Returns:
        str, optional: None when there is nothing to resume or the recipe
        is unchanged; otherwise a sentence naming the changed keys.
    """
    source = checkpoint
    if checkpoint is None:
        last = osp.join(work_dir, 'last_checkpoint')
        if not osp.isfile(last):
            return None
        with open(last) as f:
            checkpoint = f.read().strip()
        if not osp.exists(checkpoint):
            return f'{last} names {checkpoint!r}, which does not exist'
        source = f'the run in {work_dir}'
    if osp.isdir(checkpoint):
        print_log(
            f'{checkpoint} is a DeepSpeed checkpoint folder: its recipe is '
            'not compared with the config (only mmengine checkpoint files '
            'are)',
            logger='current',
            level=logging.WARNING)
        return None
    meta = checkpoint_meta(checkpoint)
    if 'cfg' not in meta:
        return (f'{checkpoint} does not hold the config of its run '
                '(meta.cfg)')
    old = Config.fromstring(meta['cfg'], '.py')
    changed = [
        key for key in RECIPE_KEYS
        if _recipe_value(old, key) != _recipe_value(cfg, key)
    ]
    if not changed:
        return None
    return (f'{source} was trained with another {" / ".join(changed)} '
            f'than {cfg.filename}')


def tta_model_config(cfg: Config) -> dict:
    """The config's model wrapped in its ``tta_model`` (test-time aug).

    Args:
        cfg (Config): A config with ``tta_model`` and ``tta_pipeline``
            (see ``configs/_base_/default_runtime.py`` and
            ``configs/_base_/datasets/rrsisd.py``).

    Returns:
        dict: ``tta_model`` with ``module=cfg.model``; its
        ``data_preprocessor`` is the model's own (the Runner would
        otherwise hand the wrapper the config's top-level one, that of the
        full-scale model).
    """
    missing = [key for key in ('tta_pipeline', 'tta_model') if key not in cfg]
    if missing:
        raise UserInputError(f'Test-time augmentation (--tta) needs '
                             f'{" and ".join(missing)} in the config; see '
                             'configs/_base_/datasets/rrsisd.py and '
                             'configs/_base_/default_runtime.py')
    return dict(
        cfg.tta_model,
        module=cfg.model,
        data_preprocessor=cfg.model.data_preprocessor)


def configure_test(cfg: Config,
                   checkpoint: str,
                   out: Optional[str] = None,
                   show_dir: Optional[str] = None,
                   text_ablation: str = 'none',
                   ablation_seed: int = 0,
                   tta: bool = False) -> Config:
    """Wire ``tools/test.py``'s options into a config.

    Args:
        cfg (Config): The config.
        checkpoint (str): The checkpoint to evaluate (``load_from``).
        out (str, optional): Per-expression results: a ``.csv`` file
            (``ReferSegMetric(output_file=...)``: sent_id, image, text, IoU,
            I, U per row) or a ``.pkl`` file (mmengine ``DumpResults``: every
            prediction with its metainfo). Defaults to None.
        show_dir (str, optional): Folder for one drawing per expression
            (``ReferSegVisualizationHook``). Defaults to None.
        text_ablation (str): One of :data:`TEXT_ABLATIONS`; 'shuffle'
            wraps the test set in ``TextAblationDataset``.
            Defaults to 'none'.
        ablation_seed (int): Seed of the ablation. Defaults to 0.
        tta (bool): Test-time augmentation: the test set runs the config's
            ``tta_pipeline`` and the model is wrapped in its ``tta_model``.
            Defaults to False.

    Returns:
        Config: The same config, modified in place.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not exist')
    if text_ablation not in TEXT_ABLATIONS:
        raise UserInputError(f'Unknown text ablation {text_ablation!r}; '
                             f'expected one of {TEXT_ABLATIONS}')
    if out is not None and not out.endswith(('.csv', '.pkl')):
        raise UserInputError(f'--out {out!r}: use a .csv or .pkl file')
    cfg.load_from = checkpoint
    if tta:
        cfg.model = tta_model_config(cfg)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    if text_ablation != 'none':
        cfg.test_dataloader.dataset = dict(
            type='TextAblationDataset',
            dataset=cfg.test_dataloader.dataset,
            mode=text_ablation,
            seed=ablation_seed)
    if show_dir:
        cfg.visualizer = dict(
            cfg.get('visualizer') or {}, type='ReferSegVisualizer')
        hooks = cfg.get('default_hooks') or {}
        hooks['visualization'] = dict(
            type='ReferSegVisualizationHook',
            draw=True,
            interval=1,
            out_dir=show_dir)
        cfg.default_hooks = hooks
    if out is None:
        return cfg
    evaluators = cfg.test_evaluator if isinstance(
        cfg.test_evaluator, list) else [cfg.test_evaluator]
    if out.endswith('.pkl'):
        cfg.test_evaluator = [
            *evaluators,
            dict(type='DumpResults', out_file_path=out)
        ]
        return cfg
    metrics = [e for e in evaluators if e.get('type') == 'ReferSegMetric']
    if not metrics:
        raise UserInputError(
            f'--out {out!r}: the config has no ReferSegMetric '
            'in test_evaluator to write the CSV')
    for metric in metrics:
        metric['output_file'] = out
    return cfg
