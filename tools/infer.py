"""Segment what sentences refer to in one image (mask PNG + overlay each).

Example:
    python tools/infer.py demo.jpg "the red car on the left" \
        --sentence "the largest building" \
        --config configs/rs2sam2_tiny_synthetic.py \
        --checkpoint work_dirs/demo/iter_1000.pth --out-dir work_dirs/infer
"""
import argparse
import os
import os.path as osp
import re

import mmcv
import numpy as np

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.apis import inference_referring_model, init_referring_model
from rs2sam2_mmseg.utils import run_cli
from rs2sam2_mmseg.visualization import draw_referring_overlay


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('image', help='image file')
    parser.add_argument('sentence', help='referring expression')
    parser.add_argument(
        '--sentence',
        dest='more',
        action='append',
        default=[],
        help='another referring expression for the same image (repeatable)')
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument(
        '--checkpoint', required=True, help='checkpoint from tools/train.py')
    parser.add_argument(
        '--out-dir', default='work_dirs/infer', help='output folder')
    parser.add_argument(
        '--device', default='cpu', help="'cpu', 'cuda', 'cuda:1', ...")
    return parser.parse_args()


def slug(text: str, length: int = 40) -> str:
    """File-name friendly version of a sentence."""
    return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip('_')[:length]


def main() -> None:
    args = parse_args()
    sentences = [args.sentence, *args.more]
    model = init_referring_model(args.config, args.checkpoint, args.device)
    results = inference_referring_model(model, args.image, sentences)
    image = mmcv.imread(args.image, channel_order='rgb')
    stem = osp.splitext(osp.basename(args.image))[0]
    os.makedirs(args.out_dir, exist_ok=True)
    for i, (sentence, result) in enumerate(zip(sentences, results)):
        mask = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        base = osp.join(args.out_dir, f'{stem}_{i}_{slug(sentence)}')
        mmcv.imwrite(mask * 255, f'{base}_mask.png')
        overlay = draw_referring_overlay(image, sentence, pred=mask)
        mmcv.imwrite(mmcv.rgb2bgr(overlay), f'{base}_overlay.png')
        print(f'[{i}] "{sentence}": mask area {int(mask.sum())} px '
              f'({100 * mask.mean():.2f}% of the image)\n'
              f'    mask:    {base}_mask.png\n'
              f'    overlay: {base}_overlay.png')


if __name__ == '__main__':
    run_cli(main)
