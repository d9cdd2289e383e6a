"""Benchmark RS2-SAM2 against bare SAM2 and full SAM2 fine-tuning.

Times inference and a train step (forward, backward, AdamW), reports peak
memory, parameters per component, images/s and the ratios to the SAM2
baselines of the same size; see :mod:`rs2sam2_mmseg.benchmark`.

    python tools/benchmark.py configs/rs2sam2_tiny_synthetic.py \
        --batch-size 2 --json work_dirs/benchmark_tiny.json
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.benchmark import (MODES, BenchmarkOptions, format_report,
                                     run_benchmark)
from rs2sam2_mmseg.utils import run_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--amp', action='store_true', help='bf16 autocast for all models')
    parser.add_argument(
        '--iters', type=int, default=5,
        help='timed iterations; the median is reported')
    parser.add_argument(
        '--warmup', type=int, default=1,
        help='iterations run first and not timed')
    parser.add_argument(
        '--input-size',
        type=int,
        help='SAM2 input side (multiple of 32) instead of the config\'s, '
        'e.g. to fit a CPU; the union encoder keeps its own size')
    parser.add_argument(
        '--threads',
        type=int,
        help='CPU threads per phase (default: torch\'s); on a shared '
        'machine fewer threads than cores avoid oversubscription')
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=MODES,
        default=list(MODES),
        help='which phases to run (infer: RS2-SAM2 and bare SAM2; train: '
        'RS2-SAM2 with_cp off/on and full SAM2 fine-tuning)')
    parser.add_argument('--json', help='also write the report to this file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.backbone.adapter_blocks=[0]')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    options = BenchmarkOptions(
        config=args.config,
        device=args.device,
        batch_size=args.batch_size,
        amp=args.amp,
        iters=args.iters,
        warmup=args.warmup,
        input_size=args.input_size,
        threads=args.threads,
        modes=tuple(args.modes),
        cfg_options=dict(args.cfg_options or {}))
    report = run_benchmark(
        options, progress=lambda label: print(f'running: {label}',
                                              flush=True))
    print(format_report(report))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=2)
        print(f'report saved to {args.json}')


if __name__ == '__main__':
    run_cli(main)
