"""Inspect checkpoints against a config's model; merge an init checkpoint.

Reads official SAM2 checkpoints ({"model": ...}), open_clip weights (.pt,
.bin, .safetensors; custom-text or classic CLIP layout), unilm BEiT-3
checkpoints, official RS2-SAM2 checkpoints (save_pretrained directories,
zero_to_fp32 bins; tools/model_converters/rs2sam2_official_to_mmseg.py
converts those) and rs2sam2 checkpoints (mmengine, {"state_dict": ...}),
maps their keys onto the model (see rs2sam2_mmseg.utils.weights) and
prints, per model component (union_encoder, backbone, decode_head), the
matched, missing, unexpected and shape-mismatched tensors. With --out the
matched tensors of all files (later files win) are written as an mmengine
checkpoint for load_from or tools/test.py.

Example:
    python tools/convert_weights.py configs/rs2sam2_openclip_rrsisd.py \
        ckpts/sam2.1_hiera_large.pt ckpts/open_clip_vit_l14.bin \
        --out ckpts/rs2sam2_openclip_rrsisd_init.pth
"""
import argparse
import os.path as osp

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.utils import (UserInputError, add_cfg_options,
                                 format_checkpoint_report, inspect_checkpoints,
                                 load_config, model_state_for_config, run_cli,
                                 save_init_checkpoint, tool_parser)


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument(
        'config', help='config whose model the checkpoints should fill')
    parser.add_argument(
        'checkpoints',
        nargs='+',
        metavar='CHECKPOINT',
        help='checkpoint files or save_pretrained directories (SAM2, '
        'open_clip, BEiT-3, RS2-SAM2 official or rs2sam2)')
    parser.add_argument(
        '--out',
        help='write the merged matched tensors here as an mmengine '
        'checkpoint ({"state_dict", "meta"})')
    add_cfg_options(parser)
    return parser


def main() -> None:
    """Parse the command line, report, optionally write the merge."""
    args = build_parser().parse_args()
    if args.out and any(
            osp.realpath(args.out) == osp.realpath(path)
            for path in args.checkpoints):
        raise UserInputError(f'--out {args.out} is one of the checkpoints '
                             'read: write the merge to another file')
    cfg = load_config(args.config, args.cfg_options)
    reports = inspect_checkpoints(args.checkpoints,
                                  model_state_for_config(cfg))
    print('\n\n'.join(map(format_checkpoint_report, reports)))
    if args.out:
        state_dict = save_init_checkpoint(reports, args.out, args.config)
        print(f'\n{len(state_dict)} tensors written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
