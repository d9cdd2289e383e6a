"""Benchmark RS2-SAM2 against bare SAM2 and full SAM2 fine-tuning.

Times inference and a train step (forward, backward, AdamW) of the config's
model and of the two SAM2 baselines of the same size, with activation
checkpointing off and on; prints peak memory, parameters per component,
images/s and the ratios (see rs2sam2_mmseg.benchmark for how each number is
measured). Models are randomly initialised.

Examples:
    python tools/benchmark.py configs/rs2sam2_tiny_synthetic.py \
        --batch-size 2 --json work_dirs/benchmark/tiny.json
    python tools/benchmark.py configs/rs2sam2_openclip_rrsisd.py --threads 1 \
        --modes infer
    python tools/benchmark.py configs/rs2sam2_openclip_rrsisd.py --threads 1 \
        --input-size 512 --modes train
"""
import argparse
import json
import os
import os.path as osp

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.benchmark import (MODES, BenchmarkOptions, format_report,
                                     run_benchmark)
from rs2sam2_mmseg.utils import add_cfg_options, run_cli, tool_parser


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        default='cpu',
        help='where to run (default: %(default)s)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images per step (default: %(default)s)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16 autocast for every model (CPU or CUDA)')
    parser.add_argument(
        '--iters',
        type=int,
        default=5,
        help='timed iterations; the median is reported (default: '
        '%(default)s)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=1,
        help='iterations run first and not timed (default: %(default)s)')
    parser.add_argument(
        '--input-size',
        type=int,
        help="input side and SAM2's image size (a multiple of 32) instead "
        "of the config's, e.g. to fit a CPU; the union encoder keeps its "
        'own size')
    parser.add_argument(
        '--threads',
        type=int,
        help="CPU threads per phase (default: torch's); on a shared machine "
        'fewer threads than cores avoid oversubscription')
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=MODES,
        default=list(MODES),
        help='phases to run: infer (RS2-SAM2, bare SAM2), train (RS2-SAM2 '
        'with_cp off and on, full SAM2 fine-tuning) (default: both)')
    parser.add_argument('--json', help='also write the report to this file')
    add_cfg_options(parser)
    return parser


def main() -> None:
    """Parse the command line, run the phases, print and save the report."""
    args = build_parser().parse_args()
    report = run_benchmark(
        BenchmarkOptions(
            config=args.config,
            device=args.device,
            batch_size=args.batch_size,
            amp=args.amp,
            iters=args.iters,
            warmup=args.warmup,
            input_size=args.input_size,
            threads=args.threads,
            modes=tuple(args.modes),
            cfg_options=dict(args.cfg_options or {})),
        progress=lambda label: print(f'running: {label}', flush=True))
    print(format_report(report))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=2)
        print(f'report saved to {args.json}')


if __name__ == '__main__':
    run_cli(main)
