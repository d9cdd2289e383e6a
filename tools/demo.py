"""The embedded demo: RS2-SAM2 on a synthetic referring benchmark, on CPU.

Steps: generate the synthetic RRSIS-D-format dataset (cached) -> train the
tiny config (on 2+ cores tools/dist_train.sh with 2 DDP processes of half
the batch each, faster on 2 CPU cores than one two-thread process;
tools/train.py with --nproc 1; for the config's time budget or, if less,
what --total-minutes leaves after the set-up so far and the evaluation
afterwards, whose time is estimated from this machine's measured speed of
the model (passes x expressions + tool start-ups); resumes an
interrupted run, moves a run of another recipe aside) -> evaluate on the
test split with the real sentences, with flip test-time augmentation and
with sentences shuffled among images (tools/test.py) -> overlays for a
dozen test expressions -> summary.
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

import mmcv
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from mmseg.registry import DATASETS, MODELS
from rs2sam2_mmseg.apis import inference_referring_model, init_referring_model
from rs2sam2_mmseg.datasets import LoadReferringAnnotations
from rs2sam2_mmseg.synthetic import (SyntheticParams, category_only_baseline,
                                     format_summary, generate_synthetic_rrsisd,
                                     load_scene_sentences,
                                     miou_per_sentence_type)
from rs2sam2_mmseg.utils import (UserInputError, changed_recipe,
                                 checkpoint_meta, format_table, free_port,
                                 load_config, run_cli)
from rs2sam2_mmseg.visualization import draw_referring_overlay

TOOLS = osp.dirname(osp.abspath(__file__))
METRICS = ('Pr@0.5', 'Pr@0.6', 'Pr@0.7', 'Pr@0.8', 'Pr@0.9', 'mIoU', 'oIoU')
#: Test-split evaluations: name -> (file suffix of tools/test.py, options).
EVALUATIONS = {
    'sentences': ('', []),
    'flip TTA': ('_tta', ['--tta']),
    'shuffled': ('_shuffle', ['--text-ablation', 'shuffle']),
}
#: Iterations of the documented demo run (README, 2 CPU cores), for the
#: summary's comparison.
DOCUMENTED_ITERATIONS = 2140
#: The estimate of what follows training (:func:`after_training_minutes`)
#: times this. The model timed in-process runs faster than the tools'
#: evaluations (data pipeline, metric, DDP start-up): beside a busy loop
#: on each core, a fresh-clone demo measured 0.015 s per expression and
#: reserved 1.9 min at a slack of 1.3, and what followed training took 2.5
#: min (docs/reliability.md); a slower stretch must not break the promise.
AFTER_TRAINING_SLACK = 2.0
#: The least training a demo gets, however long the set-up took.
MIN_TRAIN_MINUTES = 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--config',
        default='configs/rs2sam2_tiny_synthetic.py',
        help='config to train and evaluate')
    parser.add_argument(
        '--work-dir', default='work_dirs/demo', help='output folder')
    parser.add_argument(
        '--nproc',
        type=int,
        default=min(2, torch.get_num_threads()),
        help='training processes (DDP through torchrun, gloo on CPU); the '
        "config's batch and torch's threads are split among them "
        '(default: 2 where torch uses 2 threads or more)')
    parser.add_argument(
        '--total-minutes',
        type=float,
        default=10.,
        help='the whole demo, counted from --started-at, ends within this: '
        "training gets the config's time budget or, if less, what is left "
        'after the set-up so far and the time what follows training takes '
        "on this machine (measured first; 0: the config's budget as is; "
        'default: %(default)s)')
    parser.add_argument(
        '--started-at',
        type=float,
        default=time.time(),
        help='when the demo began, in seconds since the epoch (`make demo` '
        'passes the time before it set up .venv; default: now)')
    parser.add_argument(
        '--num-vis',
        type=int,
        default=12,
        help='test expressions drawn to <work-dir>/vis')
    return parser.parse_args()


def run(step: str, cmd: list, env: Optional[Dict[str, str]] = None) -> None:
    """Run a tool as a subprocess, streaming its output.

    ``env`` entries are added to this process's environment and shown.
    """
    shown = ' '.join(f'{k}={v}' for k, v in (env or {}).items())
    print(
        f'\n=== {step}\n$ {shown + " " if shown else ""}{" ".join(cmd)}',
        flush=True)
    subprocess.run(cmd, check=True, env=dict(os.environ, **(env or {})))


def train_command(
        cfg: Config,
        args: argparse.Namespace) -> Tuple[List[str], Dict[str, str]]:
    """The training command and environment for ``args.nproc`` processes.

    With several processes (``tools/dist_train.sh``: torchrun, DDP) each
    gets ``batch_size / nproc`` samples, so the global batch is the
    config's, and 1 / nproc of torch's threads; ``cfg`` gets the same
    per-process batch, so that the recipe check of a resumed run compares
    what was really trained. The time budget of ``cfg`` (see
    :func:`fit_time_budget`) is passed on as it stands.

    Args:
        cfg (Config): The demo config (``train_dataloader.batch_size`` is
            updated in place).
        args (argparse.Namespace): ``config``, ``work_dir`` and ``nproc``.

    Returns:
        tuple: The command and the environment variables to add.
    """
    if args.nproc < 1:
        raise UserInputError(f'--nproc must be at least 1, got {args.nproc}.')
    batch = cfg.train_dataloader.batch_size
    if batch % args.nproc:
        raise UserInputError(
            f'--nproc {args.nproc} must divide the batch size '
            f'{batch} of {args.config}.')
    cfg.train_dataloader.batch_size = batch // args.nproc
    overrides = [f'train_dataloader.batch_size={batch // args.nproc}']
    index, hook = budget_hook(cfg)
    if hook is not None:
        overrides.append(f'custom_hooks.{index}.minutes={hook["minutes"]}')
    options = [
        '--work-dir', args.work_dir, '--resume', '--cfg-options', *overrides
    ]
    if args.nproc == 1:
        return [
            sys.executable,
            osp.join(TOOLS, 'train.py'), args.config, *options
        ], {}
    threads = max(1, torch.get_num_threads() // args.nproc)
    cmd = [
        'bash',
        osp.join(TOOLS, 'dist_train.sh'), args.config,
        str(args.nproc), *options
    ]
    env = dict(
        PYTHON=sys.executable,
        OMP_NUM_THREADS=str(threads),
        PORT=str(free_port()))
    return cmd, env


def trained_iterations(checkpoint: str) -> int:
    """The iteration a checkpoint was saved at."""
    return int(checkpoint_meta(checkpoint)['iter'])


def budget_hook(cfg: Config) -> Tuple[Optional[int], Optional[dict]]:
    """The index and config of the ``TrainTimeBudgetHook`` in
    ``cfg.custom_hooks``, or ``(None, None)`` without one."""
    for index, hook in enumerate(cfg.get('custom_hooks', [])):
        if hook['type'] == 'TrainTimeBudgetHook':
            return index, hook
    return None, None


class Speed(NamedTuple):
    """How fast this machine runs the demo's model, measured.

    Args:
        startup_s (float): Seconds a tool takes before its work: imports
            and building the model.
        expression_s (float): Seconds of inference per test expression.
    """
    startup_s: float
    expression_s: float


def measure_speed(cfg: Config, imports_s: float) -> Speed:
    """Time the untrained model on one test batch of expressions.

    Args:
        cfg (Config): The demo config (its test split must exist).
        imports_s (float): Seconds of importing torch, mmseg and
            rs2sam2_mmseg (the CPU time of this process when its ``main``
            began).

    Returns:
        Speed: The start-up and per-expression times (the faster of two
        batches of the test dataloader's size, after a warm-up).
    """
    start = time.perf_counter()
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model).eval()  # as initialised: same speed
    model.cfg = cfg
    startup = imports_s + time.perf_counter() - start
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    info = dataset.get_data_info(0)
    inference_referring_model(model, info['img_path'], info['text'])
    batch = cfg.test_dataloader.batch_size
    times = []
    for _ in range(2):  # the faster of two: a busy moment is not the speed
        start = time.perf_counter()
        inference_referring_model(model, info['img_path'],
                                  [info['text']] * batch)
        times.append(time.perf_counter() - start)
    return Speed(startup, min(times) / batch)


def tta_views(cfg: Config) -> int:
    """Views per expression of the config's ``tta_pipeline`` (the product
    of its ``TestTimeAug`` choices; 1 without one)."""
    for step in cfg.get('tta_pipeline', []):
        if step['type'] == 'TestTimeAug':
            return math.prod(len(choices) for choices in step['transforms'])
    return 1


def after_training_minutes(cfg: Config, speed: Speed,
                           sentences: Dict[str, int], num_vis: int) -> float:
    """Minutes the demo needs after the training loop, on this machine.

    The final validation (the val split once), the three test-split
    evaluations (sentences, flip TTA: :func:`tta_views` passes, shuffled)
    and the overlays, at the measured time per expression; five tool
    start-ups (training, three tests, overlays); times
    :data:`AFTER_TRAINING_SLACK`.

    Args:
        cfg (Config): The demo config.
        speed (Speed): From :func:`measure_speed`.
        sentences (dict[str, int]): Expressions per split.
        num_vis (int): Overlays drawn.

    Returns:
        float: Minutes.
    """
    passes = 2 + tta_views(cfg)  # sentences, shuffled, flip TTA
    expressions = sentences['val'] + passes * sentences['test'] + num_vis
    seconds = 5 * speed.startup_s + expressions * speed.expression_s
    return AFTER_TRAINING_SLACK * seconds / 60


def fit_time_budget(cfg: Config, total_minutes: float, elapsed_minutes: float,
                    after_minutes: float) -> Optional[str]:
    """Shorten the training time budget so that the demo ends in time.

    Training may take what is left of ``total_minutes`` after the
    ``elapsed_minutes`` so far (creating ``.venv`` and generating the data
    on a fresh machine) and the ``after_minutes`` that what follows
    training needs (:func:`after_training_minutes`), and at most the
    config's own budget; at least :data:`MIN_TRAIN_MINUTES`.

    Args:
        cfg (Config): The demo config; its ``TrainTimeBudgetHook`` minutes
            are updated in place.
        total_minutes (float): The whole demo's limit; 0 leaves the
            budget as it is.
        elapsed_minutes (float): Minutes spent since the demo began.
        after_minutes (float): Minutes reserved for what follows training.

    Returns:
        str, optional: What was changed and why, or None if nothing was.
    """
    if total_minutes < 0:
        raise UserInputError(
            f'--total-minutes must be >= 0 (0: no limit), got {total_minutes}')
    _, hook = budget_hook(cfg)
    if hook is None or total_minutes == 0:
        return None
    left = total_minutes - elapsed_minutes - after_minutes
    if left >= hook['minutes']:
        return None
    note = (f'{elapsed_minutes:.1f} of the demo\'s {total_minutes:g} minutes '
            f'spent before training and {after_minutes:.1f} needed after '
            'it: training gets ')
    if left < MIN_TRAIN_MINUTES:
        left = MIN_TRAIN_MINUTES
        note += (f'the least, {left:g} min, and the demo will take longer '
                 f'than {total_minutes:g} minutes')
    else:
        note += f'{left:.1f} instead of {hook["minutes"]:g} min'
    hook['minutes'] = round(left, 2)
    return note


def budget_note(cfg: Config) -> str:
    """How the config bounds training: its time budget and max_iters."""
    _, hook = budget_hook(cfg)
    limit = f'at most {cfg.train_cfg.max_iters} iterations'
    if hook is not None:
        return f'as many as fit {hook["minutes"]:g} min, {limit}'
    return limit


def draw_examples(cfg, checkpoint: str, out_dir: str, num: int) -> list:
    """Overlay prediction, GT contour and sentence for ``num`` test samples,
    spread evenly over the test split."""
    init_default_scope('mmseg')
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    model = init_referring_model(cfg, checkpoint)
    load_gt = LoadReferringAnnotations()
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for idx in range(0, len(dataset), max(1, len(dataset) // num))[:num]:
        info = load_gt(dataset.get_data_info(idx))
        pred = inference_referring_model(model, info['img_path'], info['text'])
        image = mmcv.imread(info['img_path'], channel_order='rgb')
        drawing = draw_referring_overlay(image, info['text'],
                                         pred.pred_sem_seg.data[0].numpy(),
                                         info['gt_seg_map'])
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        path = osp.join(out_dir, f'{stem}_{info["sent_id"]}.png')
        mmcv.imwrite(
            mmcv.imresize(
                mmcv.rgb2bgr(drawing),
                (drawing.shape[1] * 3, drawing.shape[0] * 3),
                interpolation='nearest'), path)
        paths.append(path)
    return paths


def main() -> None:
    imports_s = time.process_time()
    args = parse_args()
    cfg = load_config(args.config)
    data_root = cfg.test_dataloader.dataset.data_root
    print(f'=== synthetic data in {data_root}', flush=True)
    summary = generate_synthetic_rrsisd(
        data_root, SyntheticParams(), progress=print)
    print(format_summary(summary))

    speed = measure_speed(cfg, imports_s)
    after = after_training_minutes(cfg, speed, summary['sentences'],
                                   args.num_vis)
    print(
        f'=== this machine: {speed.expression_s:.3f} s per test expression, '
        f'{speed.startup_s:.0f} s per tool start-up: {after:.1f} min '
        'reserved for evaluation and overlays after training',
        flush=True)
    note = fit_time_budget(cfg, args.total_minutes,
                           (time.time() - args.started_at) / 60, after)
    if note:
        print(f'\n=== {note}', flush=True)
    train_cmd, train_env = train_command(cfg, args)
    stale = changed_recipe(cfg, args.work_dir)
    if stale:
        aside = f'{args.work_dir}.stale-{time.strftime("%Y%m%d-%H%M%S")}'
        os.rename(args.work_dir, aside)
        print(
            f'\n=== {stale}: not resuming it; moved it to {aside} and '
            'training afresh',
            flush=True)
    train_start = time.time()
    run(
        f'train on {args.nproc} process(es) (progress: iteration log with '
        'ETA)', train_cmd, train_env)
    train_minutes = (time.time() - train_start) / 60
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    results = {}
    for name, (suffix, options) in EVALUATIONS.items():
        csv_path = osp.join(args.work_dir, f'test_expressions{suffix}.csv')
        run(f'evaluate on the test split ({name})', [
            sys.executable,
            osp.join(TOOLS, 'test.py'), args.config, checkpoint, '--work-dir',
            args.work_dir, '--out', csv_path, *options
        ])
        with open(osp.join(args.work_dir, f'test_metrics{suffix}.json')) as f:
            results[name] = (json.load(f), csv_path)

    print('\n=== overlays', flush=True)
    vis_dir = osp.join(args.work_dir, 'vis')
    drawings = draw_examples(cfg, checkpoint, vis_dir, args.num_vis)

    sentences = load_scene_sentences(data_root, 'test')
    baseline = category_only_baseline(sentences)
    metrics = {name: result[0] for name, result in results.items()}
    rows = [(key, *(m[key] for m in metrics.values()), baseline.get(key, ''))
            for key in METRICS]
    num = int(metrics['sentences']['num_expressions'])
    print('\n' + format_table(
        ('metric', *EVALUATIONS, 'category-only'),
        rows,
        title=f'=== RS2-SAM2 tiny on the synthetic test split ({num} '
        'expressions)'))
    print('flip TTA = mean of the image as is and flipped both ways, each '
          'with its sentence flipped (tools/test.py --tta)\n'
          'category-only = expected score of segmenting a random object of '
          'the named category perfectly (a model that reads only the noun)')
    plain, tta = (
        miou_per_sentence_type(results[name][1], sentences)
        for name in ('sentences', 'flip TTA'))
    rows = [(kind, value, tta[kind]) for kind, value in plain.items()]
    print('\n' +
          format_table(('sentence type', 'mIoU', 'mIoU flip TTA'), rows))
    print(f'\ntraining:     {trained_iterations(checkpoint)} iterations, '
          f'{train_minutes:.1f} min in this run ({budget_note(cfg)}); the '
          f'documented run had {DOCUMENTED_ITERATIONS}\n'
          f'checkpoint:   {checkpoint}\n'
          f'metrics:      {args.work_dir}/test_metrics.json, '
          f'test_metrics_tta.json, test_metrics_shuffle.json\n'
          f'per sentence: {results["sentences"][1]}\n'
          f'overlays:     {vis_dir}/ ({len(drawings)} files)\n'
          f'train log:    {args.work_dir}/<timestamp>/<timestamp>.log\n'
          f'total time:   {(time.time() - args.started_at) / 60:.1f} min '
          f'(--total-minutes {args.total_minutes:g})')


if __name__ == '__main__':
    run_cli(main)
