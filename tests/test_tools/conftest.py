"""Shared work of the tool tests: one small dataset, one trained model.

Every tool runs as a subprocess on the tiny synthetic config (configs/
rs2sam2_tiny_synthetic.py); the dataset and the checkpoint are made once
per session.
"""
import json
import os.path as osp
from collections import Counter
from typing import Dict, NamedTuple

import pytest

from rs2sam2_mmseg.synthetic import SyntheticParams, generate_synthetic_rrsisd
from .utils import TINY_CONFIG, data_options, run_tool


class SyntheticData(NamedTuple):
    """A generated dataset: root, sentences per split and per test image."""
    root: str
    sentences: Dict[str, int]
    test_images: Counter


class Trained(NamedTuple):
    """Work dir, last checkpoint and logs of the two training runs."""
    work_dir: str
    checkpoint: str
    first: str
    resumed: str


@pytest.fixture(scope='session')
def synthetic(tmp_path_factory) -> SyntheticData:
    """8/4/4 synthetic images in the RRSIS-D format."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    summary = generate_synthetic_rrsisd(
        root, SyntheticParams(num_train=8, num_val=4, num_test=4))
    with open(osp.join(root, 'rrsisd', 'synthetic_scenes.json')) as f:
        scenes = json.load(f)
    test_images = Counter({
        image['file_name']: len(image['sentences'])
        for image in scenes['images'] if image['split'] == 'test'
    })
    return SyntheticData(root, summary['sentences'], test_images)


@pytest.fixture(scope='session')
def trained(tmp_path_factory, synthetic) -> Trained:
    """tools/train.py for 2 iterations, then ``--resume`` up to 4."""
    work_dir = str(tmp_path_factory.mktemp('train'))
    first = run_tool('train.py', TINY_CONFIG, '--work-dir', work_dir,
                     *data_options(synthetic.root, max_iters=2))
    resumed = run_tool('train.py', TINY_CONFIG, '--work-dir', work_dir,
                       '--resume', *data_options(synthetic.root, 4))
    return Trained(work_dir, osp.join(work_dir, 'iter_4.pth'),
                   first.stdout + first.stderr,
                   resumed.stdout + resumed.stderr)
