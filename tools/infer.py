"""Segment what sentences refer to in one image (mask PNG + overlay each).

For every sentence the binary mask (0/255 PNG) and an overlay with the
sentence printed above the image are written to --out-dir as
<image>_<index>_<sentence>_mask.png and ..._overlay.png; the mask area and
the paths are printed. --tta averages the image as is and flipped, each
flip with its sentence flipped (the config's tta_pipeline).

Example:
    python tools/infer.py demo.jpg "the red car on the left" \
        --sentence "the largest building" \
        --config configs/rs2sam2_tiny_synthetic.py \
        --checkpoint work_dirs/rs2sam2_tiny_synthetic/iter_2000.pth \
        --out-dir work_dirs/infer
"""
import argparse
import os
import os.path as osp
import re

import mmcv
import numpy as np

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.apis import (check_sentences, inference_referring_model,
                                init_referring_model, read_image)
from rs2sam2_mmseg.utils import (add_allow_partial, add_cfg_options,
                                 check_output_path, run_cli, tool_parser)
from rs2sam2_mmseg.visualization import draw_referring_overlay


def slug(text: str, length: int = 40) -> str:
    """File-name friendly version of a sentence.

    Args:
        text (str): The sentence.
        length (int): Most characters kept. Defaults to 40.

    Returns:
        str: Lower-case words joined by '_'.
    """
    return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip('_')[:length]


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument('image', help='image file')
    parser.add_argument('sentence', help='referring expression')
    parser.add_argument(
        '--sentence',
        dest='more',
        action='append',
        default=[],
        metavar='SENTENCE',
        help='another referring expression for the same image (repeatable; '
        'all sentences run as one batch)')
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument(
        '--checkpoint', required=True, help='checkpoint from tools/train.py')
    parser.add_argument(
        '--out-dir',
        default='work_dirs/infer',
        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--device',
        default='cpu',
        help="'cpu', 'cuda', 'cuda:1', ... (default: %(default)s)")
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: average the config's tta_pipeline "
        'views (the image as is and flipped, each with its sentence '
        'flipped)')
    add_allow_partial(parser)
    add_cfg_options(parser)
    return parser


def main() -> None:
    """Parse the command line, segment, write and report the masks."""
    args = build_parser().parse_args()
    sentences = check_sentences([args.sentence, *args.more])
    check_output_path(args.out_dir, '--out-dir', folder=True)
    image = read_image(args.image)
    model = init_referring_model(args.config, args.checkpoint, args.device,
                                 args.cfg_options, args.tta,
                                 args.allow_partial)
    results = inference_referring_model(model, image, sentences)
    stem = osp.splitext(osp.basename(args.image))[0]
    os.makedirs(args.out_dir, exist_ok=True)
    for i, (sentence, result) in enumerate(zip(sentences, results)):
        mask = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        base = osp.join(args.out_dir, f'{stem}_{i}_{slug(sentence)}')
        mmcv.imwrite(mask * 255, f'{base}_mask.png')
        overlay = draw_referring_overlay(
            mmcv.bgr2rgb(image), sentence, pred=mask)
        mmcv.imwrite(mmcv.rgb2bgr(overlay), f'{base}_overlay.png')
        print(f'[{i}] "{sentence}": mask area {int(mask.sum())} px '
              f'({100 * mask.mean():.2f}% of the image)\n'
              f'    mask:    {base}_mask.png\n'
              f'    overlay: {base}_overlay.png')


if __name__ == '__main__':
    run_cli(main)
