"""Train a referring segmentation model with MMEngine's Runner.

Works with configs/rs2sam2_*.py and with any MMSeg config that lists
``custom_imports = dict(imports=['rs2sam2_mmseg'])``. Distributed training:
tools/dist_train.sh (torchrun; gloo on machines without CUDA).
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.runner import Runner

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.utils import (configure_launcher, drop_amp_without_cuda,
                                 enable_amp, load_config, run_cli)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go (default: ./work_dirs/<config '
        'name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CHECKPOINT',
        help='resume training: without a value, from the latest checkpoint '
        'in the work dir; with a value, from that checkpoint (model, '
        'optimizer, scheduler and iteration)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision with mmengine AmpOptimWrapper (CUDA only); the '
        'paper configs already train with bf16 autocast')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. sam2_checkpoint=/path/x.pt '
        'train_dataloader.batch_size=4 (lists as key="[a,b]")')
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


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    configure_launcher(cfg, args.launcher)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        enable_amp(cfg)
    else:
        drop_amp_without_cuda(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume checkpoint {args.resume!r} does not exist')
        cfg.resume, cfg.load_from = True, args.resume
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    run_cli(main)
