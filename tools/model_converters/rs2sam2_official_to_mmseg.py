"""Convert a released official RS2-SAM2 checkpoint into an mmseg one.

SRC is what the official code (github rongfu-dsb/RS2-SAM2) writes: a
save_pretrained directory of its EvfSamModel (config.json with
model.safetensors, pytorch_model.bin or a sharded *.index.json), or a
DeepSpeed zero_to_fp32 pytorch_model.bin (module.evf_model.* keys). Every
key is mapped onto the paper model of CONFIG (the map is
rs2sam2_mmseg.utils.weights.OFFICIAL_LAYOUT; SAM2's video-memory keys and
the unused meo_linear are ignored by name), the matched / missing /
unexpected / shape-mismatched counts are printed per component, and DST
is written as an mmengine checkpoint ({"state_dict", "meta"}) for
tools/test.py or load_from. The tokenizer file of SRC
(sentencepiece.bpe.model or beit3.spm) is copied beside DST; pass it as
the union encoder's spm_file. Nothing is written and the exit status is 1
when a model key is not filled (the first one is named), or a source key
finds no place.

The model is built on the meta device (key and shape list only: seconds,
no memory; SAM2's Hiera builds its drop-path rates on the CPU).

Example:
    python tools/model_converters/rs2sam2_official_to_mmseg.py \
        ckpts/RS2-SAM2/rrsisd ckpts/rs2sam2_rrsisd_official.pth
    python tools/test.py configs/rs2sam2_rrsisd.py \
        ckpts/rs2sam2_rrsisd_official.pth --cfg-options \
        model.union_encoder.spm_file=ckpts/sentencepiece.bpe.model
"""
import argparse
import os.path as osp

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.utils import (OFFICIAL_LAYOUT, add_cfg_options,
                                 check_complete, check_not_source,
                                 copy_tokenizer_file, find_tokenizer_file,
                                 format_checkpoint_report, load_config,
                                 match_checkpoint, model_state_for_config,
                                 run_cli, save_init_checkpoint, tool_parser)

#: The paper model on RRSIS-D (its weights fit every paper config).
DEFAULT_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'rs2sam2_rrsisd.py')


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument(
        'src',
        metavar='SRC',
        help='official checkpoint: save_pretrained directory or '
        'zero_to_fp32 bin')
    parser.add_argument(
        'dst', metavar='DST', help='the mmengine checkpoint to write')
    parser.add_argument(
        '--config',
        default=DEFAULT_CONFIG,
        help='config of the model to fill (default: '
        'configs/rs2sam2_rrsisd.py)')
    add_cfg_options(parser)
    return parser


def main() -> None:
    """Map, report, check, then write DST and the tokenizer copy."""
    args = build_parser().parse_args()
    check_not_source(args.dst, args.src)
    cfg = load_config(args.config, args.cfg_options)
    spm_file, overrides = find_tokenizer_file(args.src), {}
    if spm_file and 'spm_file' in cfg.model.get('union_encoder', {}):
        overrides['union_encoder'] = dict(spm_file=spm_file)
    model_state = model_state_for_config(cfg, 'meta', **overrides)
    report = match_checkpoint(args.src, model_state, OFFICIAL_LAYOUT)
    print(format_checkpoint_report(report))
    check_complete(report)
    save_init_checkpoint([report], args.dst, args.config)
    print(f'\n{len(report.state_dict)} tensors written to {args.dst}')
    copy = copy_tokenizer_file(args.src, args.dst)
    print(f'tokenizer: {copy}' if copy else
          'tokenizer: none beside SRC; give the union encoder the '
          "checkpoint's sentencepiece model (spm_file)")


if __name__ == '__main__':
    run_cli(main)
