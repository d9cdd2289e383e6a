"""Generate the synthetic referring dataset in the RRSIS-D format.

The output folder is a ``data_root`` for ``RRSISDDataset``. Running the
command again with the same parameters reuses the existing dataset; other
parameters need ``--force``.

Example::

    python tools/make_synthetic.py --out-dir data/synthetic_rrsisd --seed 0
"""
import argparse
import functools
import sys
from typing import List, Optional

from rs2sam2_mmseg.synthetic import (SyntheticParams, format_summary,
                                     generate_synthetic_rrsisd)

DEFAULTS = SyntheticParams()


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Defaults to None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Generate synthetic aerial scenes with referring '
        'sentences, written in the RRSIS-D format (rrsisd/refs(unc).p, '
        'rrsisd/instances.json, images/rrsisd/JPEGImages/).')
    parser.add_argument(
        '--out-dir',
        default='data/synthetic_rrsisd',
        help='dataset root to write (the data_root of RRSISDDataset) '
        '(default: %(default)s)')
    parser.add_argument(
        '--seed',
        type=int,
        default=DEFAULTS.seed,
        help='random seed; the same seed and parameters give byte-identical '
        'files (default: %(default)s)')
    for split, count in DEFAULTS.num_images.items():
        parser.add_argument(
            f'--num-{split}',
            type=int,
            default=count,
            help=f'number of images in the {split} split '
            '(default: %(default)s)')
    parser.add_argument(
        '--image-size',
        type=int,
        default=DEFAULTS.image_size,
        help='square image side in pixels; object sizes scale with it '
        '(default: %(default)s)')
    parser.add_argument(
        '--min-same-category',
        type=int,
        default=DEFAULTS.min_same_category,
        help='least number of objects of the referred category in an image '
        '(>= 2; the most is the larger of this and '
        f'{DEFAULTS.max_same_category}) (default: %(default)s)')
    parser.add_argument(
        '--force',
        action='store_true',
        help='regenerate even if the output folder already holds a '
        'synthetic dataset (made with the same or other parameters)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Generate (or reuse) the dataset and print a summary.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Defaults to None.
    """
    args = parse_args(argv)
    try:
        params = SyntheticParams(
            seed=args.seed,
            num_train=args.num_train,
            num_val=args.num_val,
            num_test=args.num_test,
            image_size=args.image_size,
            min_same_category=args.min_same_category,
            max_same_category=max(args.min_same_category,
                                  DEFAULTS.max_same_category))
    except ValueError as error:
        sys.exit(f'error: {error}')
    try:
        summary = generate_synthetic_rrsisd(
            args.out_dir,
            params,
            force=args.force,
            progress=functools.partial(print, flush=True))
    except FileExistsError as error:
        sys.exit(f'error: {error}')
    print(format_summary(summary))


if __name__ == '__main__':
    main()
