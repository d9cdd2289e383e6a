"""Evaluate a checkpoint: Pr@0.5-0.9, mIoU and oIoU per the config.

The metric table is printed and saved as JSON in the work dir. Options
write per-expression results (--out), one overlay per expression
(--show-dir) and run the language ablation (--text-ablation shuffle).
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.runner import Runner

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.utils import (configure_launcher, format_metric_table,
                                 load_config, run_cli, save_metrics)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='where logs and the metric JSON go (default: '
        './work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='per-expression results: a .csv path (sent_id, image, text, '
        'IoU, I, U per row) or a .pkl path (mmengine DumpResults: every '
        'prediction)')
    parser.add_argument(
        '--show-dir',
        help='write one overlay per expression (prediction, GT contour, '
        'sentence) to this folder as <image>_<sent_id>.png')
    parser.add_argument(
        '--text-ablation',
        choices=['none', 'shuffle'],
        default='none',
        help='shuffle: permute the sentences among the samples of the split '
        '(how much the model relies on language)')
    parser.add_argument(
        '--ablation-seed', type=int, default=0,
        help='seed of the --text-ablation permutation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. test_dataloader.dataset.split=val')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (pytorch = torchrun)')
    parser.add_argument(
        '--local_rank', '--local-rank', type=int, default=0,
        help='set by torch.distributed.launch; torchrun sets LOCAL_RANK')
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_outputs(cfg, args: argparse.Namespace) -> None:
    """Wire --out, --show-dir and --text-ablation into the config."""
    if args.text_ablation != 'none':
        cfg.test_dataloader.dataset = dict(
            type='TextAblationDataset',
            dataset=cfg.test_dataloader.dataset,
            mode=args.text_ablation,
            seed=args.ablation_seed)
    if args.show_dir:
        cfg.default_hooks.visualization = dict(
            type='ReferSegVisualizationHook',
            draw=True,
            interval=1,
            out_dir=args.show_dir)
    if not args.out:
        return
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator,
                                                  list) else [
                                                      cfg.test_evaluator
                                                  ]
    if args.out.endswith('.pkl'):
        cfg.test_evaluator = [
            *evaluators,
            dict(type='DumpResults', out_file_path=args.out)
        ]
    elif args.out.endswith('.csv'):
        for evaluator in evaluators:
            if evaluator.get('type') == 'ReferSegMetric':
                evaluator['output_file'] = args.out
    else:
        raise ValueError(f'--out {args.out!r}: use a .csv or .pkl path')


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'Checkpoint {args.checkpoint!r} does not exist')
    cfg = load_config(args.config, args.cfg_options)
    configure_launcher(cfg, args.launcher)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    set_outputs(cfg, args)
    metrics = Runner.from_cfg(cfg).test()
    suffix = '' if args.text_ablation == 'none' else f'_{args.text_ablation}'
    path = save_metrics(
        metrics, osp.join(cfg.work_dir, f'test_metrics{suffix}.json'))
    title = f'{osp.basename(args.config)} @ {args.checkpoint}'
    if suffix:
        title += f' (text ablation: {args.text_ablation})'
    print(format_metric_table(metrics, title))
    print(f'metrics saved to {path}')


if __name__ == '__main__':
    run_cli(main)
