"""The embedded demo: RS2-SAM2 on a synthetic referring benchmark, on CPU.

Steps: generate the synthetic RRSIS-D-format dataset (cached) -> train the
tiny config (on 2+ cores tools/dist_train.sh with 2 DDP processes of half
the batch each, faster on 2 CPU cores than one two-thread process;
tools/train.py with --nproc 1; resumes an interrupted run, moves a run of
another recipe aside) -> evaluate on the test split with the real
sentences, with flip test-time augmentation and with sentences shuffled
among images (tools/test.py) -> overlays for a dozen test expressions ->
summary.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import mmcv
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.apis import inference_referring_model, init_referring_model
from rs2sam2_mmseg.datasets import LoadReferringAnnotations
from rs2sam2_mmseg.datasets.synthetic import (SyntheticParams, format_summary,
                                              generate_synthetic_rrsisd)
from rs2sam2_mmseg.datasets.synthetic_report import (category_only_baseline,
                                                     load_scene_sentences,
                                                     miou_per_sentence_type)
from rs2sam2_mmseg.utils import (changed_recipe, format_table, free_port,
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
    what was really trained.

    Args:
        cfg (Config): The demo config (``train_dataloader.batch_size`` is
            updated in place).
        args (argparse.Namespace): ``config``, ``work_dir`` and ``nproc``.

    Returns:
        tuple: The command and the environment variables to add.
    """
    options = ['--work-dir', args.work_dir, '--resume']
    if args.nproc < 1:
        raise ValueError(f'--nproc must be at least 1, got {args.nproc}.')
    if args.nproc == 1:
        return [
            sys.executable,
            osp.join(TOOLS, 'train.py'), args.config, *options
        ], {}
    batch = cfg.train_dataloader.batch_size
    if batch % args.nproc:
        raise ValueError(f'--nproc {args.nproc} must divide the batch size '
                         f'{batch} of {args.config}.')
    cfg.train_dataloader.batch_size = batch // args.nproc
    threads = max(1, torch.get_num_threads() // args.nproc)
    cmd = [
        'bash',
        osp.join(TOOLS, 'dist_train.sh'), args.config,
        str(args.nproc), *options, '--cfg-options',
        f'train_dataloader.batch_size={cfg.train_dataloader.batch_size}'
    ]
    env = dict(
        PYTHON=sys.executable,
        OMP_NUM_THREADS=str(threads),
        PORT=str(free_port()))
    return cmd, env


def trained_iterations(checkpoint: str) -> int:
    """The iteration a checkpoint was saved at."""
    return int(
        torch.load(checkpoint, map_location='cpu',
                   weights_only=True)['meta']['iter'])


def budget_note(cfg: Config) -> str:
    """How the config bounds training: its time budget and max_iters."""
    budgets = [
        hook['minutes'] for hook in cfg.get('custom_hooks', [])
        if hook['type'] == 'TrainTimeBudgetHook'
    ]
    limit = f'at most {cfg.train_cfg.max_iters} iterations'
    if budgets:
        return f'as many as fit {budgets[0]:g} min, {limit}'
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
    args = parse_args()
    start = time.time()
    cfg = load_config(args.config)
    data_root = cfg.test_dataloader.dataset.data_root
    print(f'=== synthetic data in {data_root}', flush=True)
    summary = generate_synthetic_rrsisd(
        data_root, SyntheticParams(), progress=print)
    print(format_summary(summary))

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
          f'{train_minutes:.1f} min in this run ({budget_note(cfg)})\n'
          f'checkpoint:   {checkpoint}\n'
          f'metrics:      {args.work_dir}/test_metrics.json, '
          f'test_metrics_tta.json, test_metrics_shuffle.json\n'
          f'per sentence: {results["sentences"][1]}\n'
          f'overlays:     {vis_dir}/ ({len(drawings)} files)\n'
          f'train log:    {args.work_dir}/<timestamp>/<timestamp>.log\n'
          f'total time:   {(time.time() - start) / 60:.1f} min')


if __name__ == '__main__':
    run_cli(main)
