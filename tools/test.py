"""Evaluate a checkpoint: Pr@0.5-0.9, mIoU and oIoU per the config.

The metric table is printed and saved as JSON in the work dir
(test_metrics.json; test_metrics_<ablation>.json with --text-ablation,
a _tta suffix with --tta). Options write per-expression results (--out),
one drawing per expression (--show-dir), run the language ablation
(--text-ablation shuffle) and average flipped views (--tta).
Distributed evaluation: tools/dist_test.sh.

Examples:
    python tools/test.py configs/rs2sam2_tiny_synthetic.py CKPT \
        --out work_dirs/eval/expressions.csv --show-dir work_dirs/eval/vis
    python tools/test.py configs/rs2sam2_tiny_synthetic.py CKPT \
        --text-ablation shuffle
    python tools/test.py configs/rs2sam2_tiny_synthetic.py CKPT --tta
"""
import argparse
import os.path as osp

from mmengine.runner import Runner

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.utils import (TEXT_ABLATIONS, add_allow_partial,
                                 add_runner_arguments, check_checkpoint_fits,
                                 check_output_path, configure_denormals,
                                 configure_launcher, configure_test,
                                 format_metric_table, load_config,
                                 parse_tool_args, run_cli, save_metrics,
                                 set_work_dir, tool_parser)


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file to evaluate')
    parser.add_argument(
        '--out',
        help='per-expression results: a .csv file (sent_id, image, text, '
        'IoU, I, U per row) or a .pkl file (mmengine DumpResults: every '
        'prediction with its metainfo)')
    parser.add_argument(
        '--show-dir',
        help='folder for one drawing per expression (prediction, GT '
        'contour, sentence), named <image>_<sent_id>.png')
    parser.add_argument(
        '--text-ablation',
        choices=TEXT_ABLATIONS,
        default='none',
        help='shuffle: permute the sentences among the samples of the split '
        'to measure how much the model relies on language '
        '(default: %(default)s)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: average the model over the config's "
        'tta_pipeline views (the image as is and flipped, each with its '
        'sentence flipped)')
    parser.add_argument(
        '--ablation-seed',
        type=int,
        default=0,
        help='seed of the --text-ablation permutation (default: %(default)s)')
    add_allow_partial(parser)
    add_runner_arguments(parser, 'where logs and the metric JSON go')
    return parser


def main() -> None:
    """Parse the command line, evaluate, print and save the metrics."""
    args = parse_tool_args(build_parser())
    cfg = load_config(args.config, args.cfg_options)
    configure_denormals(cfg)  # before the model: see its docstring
    set_work_dir(cfg, args.work_dir, args.config)
    check_output_path(cfg.work_dir, '--work-dir', folder=True)
    if args.out:
        check_output_path(args.out, '--out')
    if args.show_dir:
        check_output_path(args.show_dir, '--show-dir', folder=True)
    configure_test(cfg, args.checkpoint, args.out, args.show_dir,
                   args.text_ablation, args.ablation_seed, args.tta)
    configure_launcher(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    if not args.allow_partial:
        check_checkpoint_fits(runner.model, args.checkpoint)
    metrics = runner.test()
    if runner.rank != 0:
        return
    suffix = '' if args.text_ablation == 'none' else f'_{args.text_ablation}'
    suffix += '_tta' if args.tta else ''
    path = save_metrics(metrics,
                        osp.join(cfg.work_dir, f'test_metrics{suffix}.json'))
    title = f'{osp.basename(args.config)} @ {args.checkpoint}'
    if args.text_ablation != 'none':
        title += f' (text ablation: {args.text_ablation})'
    if args.tta:
        title += ' (flip TTA)'
    print(format_metric_table(metrics, title))
    print(f'metrics saved to {path}')


if __name__ == '__main__':
    run_cli(main)
