"""Evaluation finishes on huge images and empty targets, memory bounded."""
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.runner import Runner

import rs2sam2_mmseg  # noqa: F401
from rs2sam2_mmseg.benchmark import MemoryMeter
from tests.test_datasets.fixtures import (compressed_rle, write_instances,
                                          write_refs)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HUGE = 4000
#: image_id -> side; ann_id -> (image_id, target box or None for empty)
IMAGES = {1: HUGE, 2: HUGE, 3: 64}
TARGETS = {
    10: (1, (1000, 2500, 500, 1500)),
    11: (1, None),
    12: (2, None),
    13: (2, (0, 4000, 3000, 4000)),
    14: (3, None)
}


def _make_rrsisd(root: str) -> str:
    """Test split: 4 expressions on 4000 px images, 1 on a small one."""
    image_dir = osp.join(root, 'images', 'rrsisd', 'JPEGImages')
    os.makedirs(image_dir)
    os.makedirs(osp.join(root, 'rrsisd'))
    for image_id, side in IMAGES.items():
        image = np.full((side, side, 3), 90, np.uint8)
        image[side // 4:side // 2, side // 8:side // 2] = (40, 40, 225)
        assert cv2.imwrite(osp.join(image_dir, f'{image_id}.jpg'), image)
    annotations, refs = [], []
    for ann_id, (image_id, box) in TARGETS.items():
        mask = np.zeros((IMAGES[image_id], ) * 2, np.uint8)
        if box:
            top, bottom, left, right = box
            mask[top:bottom, left:right] = 1
        annotations.append(
            dict(
                id=ann_id,
                image_id=image_id,
                category_id=1,
                segmentation=[compressed_rle(mask)]))
        refs.append(
            dict(
                ref_id=ann_id,
                ann_id=ann_id,
                image_id=image_id,
                split='test',
                sentences=[
                    dict(
                        sent_id=ann_id,
                        sent=f'target {ann_id}',
                        raw=f'target {ann_id}',
                        tokens=['target'])
                ]))
    write_instances(
        root,
        dict(
            images=[
                dict(id=i, file_name=f'{i}.jpg', height=s, width=s)
                for i, s in IMAGES.items()
            ],
            annotations=annotations,
            categories=[dict(id=1, name='building')]))
    write_refs(root, refs)
    return root


def test_huge_images_and_empty_targets(tmp_path):
    data_root = _make_rrsisd(str(tmp_path / 'data'))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = 'huge'
    cfg.test_dataloader.update(
        batch_size=1, num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.data_root = data_root
    runner = Runner.from_cfg(cfg)
    meter = MemoryMeter(runner.model.data_preprocessor.device)
    before = meter.current()
    meter.reset_peak()
    metrics = runner.test()
    growth = (meter.peak() - before) / 2**20
    assert metrics['num_expressions'] == len(TARGETS)
    assert all(np.isfinite(v) for v in metrics.values())
    # a 4000 px sample at full resolution costs ~0.3 GB (image, GT,
    # logits, mask); a batch of two, not the split, may be held at once
    assert growth < 1024, f'evaluation grew memory by {growth:.0f} MiB'
