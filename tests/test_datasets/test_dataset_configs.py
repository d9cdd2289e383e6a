"""The dataset base configs build and run on the fixture trees."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg.registry import DATASETS, METRICS
from rs2sam2_mmseg.evaluation import ReferSegMetric

CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')


def _config(name, data_root):
    """Load a dataset base config and point its loaders at ``data_root``."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].update(num_workers=0, persistent_workers=False)
    return cfg


@pytest.mark.parametrize('name,root_fixture,dataset_type', [
    ('rrsisd.py', 'rrsisd_root', 'RRSISDDataset'),
    ('refsegrs.py', 'refsegrs_root', 'RefSegRSDataset'),
])
def test_dataset_config_builds_and_runs(name, root_fixture, dataset_type,
                                        request):
    cfg = _config(name, request.getfixturevalue(root_fixture))
    assert cfg.img_size == 1024 and cfg.dataset_type == dataset_type
    splits = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(cfg[loader].dataset)
        assert type(dataset).__name__ == dataset_type
        splits[loader] = dataset.split
        packed = dataset[0]
        info = dataset.get_data_info(0)
        sample = packed['data_samples']
        assert sample.metainfo['text'] == info['text']
        assert sample.metainfo['sent_id'] == info['sent_id']
        height, width = packed['inputs'].shape[1:]
        assert max(height, width) == cfg.img_size  # resized, kept ratio
        gt_shape = tuple(sample.gt_sem_seg.data.shape[1:])
        if loader == 'train_dataloader':
            assert gt_shape == (height, width)  # resized with the image
        else:
            assert gt_shape == sample.metainfo['ori_shape']  # original
    assert splits == dict(
        train_dataloader='train', val_dataloader='val', test_dataloader='test')
    assert isinstance(METRICS.build(cfg.test_evaluator), ReferSegMetric)


def test_val_loader_batches_and_scores(rrsisd_root):
    cfg = _config('rrsisd.py', rrsisd_root)
    loader = Runner.build_dataloader(cfg.val_dataloader)
    metric = METRICS.build(cfg.val_evaluator)
    for batch in loader:
        samples = [s.to_dict() for s in batch['data_samples']]
        for sample in samples:  # a perfect model
            sample['pred_sem_seg'] = dict(
                data=sample['gt_sem_seg']['data'].clone())
        metric.process(batch, samples)
    metrics = metric.evaluate(len(loader.dataset))
    assert metrics['mIoU'] == 100.0 and metrics['num_expressions'] == 2
    assert isinstance(batch['inputs'][0], torch.Tensor)


@pytest.mark.parametrize('name,root_fixture,box_erase', [
    ('rrsisd_official.py', 'rrsisd_root', True),
    ('refsegrs_official.py', 'refsegrs_root', False),
])
def test_official_dataset_configs(name, root_fixture, box_erase, request):
    cfg = _config(name, request.getfixturevalue(root_fixture))
    steps = [step.type for step in cfg.train_dataloader.dataset.pipeline]
    assert ('RandomBoxErase' in steps) == box_erase
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(cfg[loader].dataset)
        packed = dataset[0]
        sample = packed['data_samples']
        # both inputs stretched from the original image
        assert packed['inputs'].shape == (3, 1024, 1024)
        assert sample.union_img.data.shape == (3, 224, 224)
        assert sample.union_img.data.dtype == torch.uint8
        gt_shape = tuple(sample.gt_sem_seg.data.shape[1:])
        if loader == 'train_dataloader':
            assert gt_shape == (1024, 1024)
            if box_erase:  # one sample per ref, one sentence drawn
                info = dataset.get_data_info(0)
                assert sample.metainfo['text'] in info['texts']
        else:  # the metric resizes the GT to 1024
            assert gt_shape == sample.metainfo['ori_shape']
    metric = METRICS.build(cfg.test_evaluator)
    assert metric.eval_size == (1024, 1024)
