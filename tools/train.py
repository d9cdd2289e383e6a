"""Train a referring segmentation model with MMEngine's Runner.

Works with configs/rs2sam2_*.py and with any MMSeg config that lists
custom_imports = dict(imports=['rs2sam2_mmseg']). Distributed training:
tools/dist_train.sh (torchrun; gloo on machines without CUDA).

Examples:
    python tools/train.py configs/rs2sam2_tiny_synthetic.py
    python tools/train.py configs/rs2sam2_rrsisd.py --cfg-options \
        sam2_checkpoint=ckpts/sam2_hiera_large.pt \
        model.union_encoder.pretrained=ckpts/beit3_large_patch16_224.pth \
        model.union_encoder.spm_file=ckpts/beit3.spm
    python tools/train.py configs/rs2sam2_openclip_rrsisd.py --amp \
        --cfg-options \
        sam2_checkpoint=ckpts/sam2.1_hiera_large.pt \
        clip_checkpoint=ckpts/open_clip_vit_l14.bin
    python tools/train.py configs/rs2sam2_tiny_synthetic.py --resume
"""
import argparse

from mmengine.runner import Runner

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.utils import (add_runner_arguments, configure_amp,
                                 configure_denormals, configure_launcher,
                                 configure_resume, load_config,
                                 parse_tool_args, run_cli, set_work_dir,
                                 tool_parser)


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='train config file')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CHECKPOINT',
        help='resume training (model, optimizer, scheduler, iteration): '
        'alone or as "--resume auto", from the latest checkpoint in the '
        'work dir; with a path, from that checkpoint')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision with mmengine AmpOptimWrapper (needs CUDA); '
        'the paper configs already use bf16 autocast on GPU and fall back '
        'to fp32 without CUDA')
    add_runner_arguments(parser, 'where logs and checkpoints go')
    return parser


def main() -> None:
    """Parse the command line, prepare the config and train."""
    args = parse_tool_args(build_parser())
    cfg = load_config(args.config, args.cfg_options)
    configure_denormals(cfg)  # before the model: see its docstring
    set_work_dir(cfg, args.work_dir, args.config)
    configure_amp(cfg, args.amp)
    configure_resume(cfg, args.resume)
    configure_launcher(cfg, args.launcher)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    run_cli(main)
