"""DataLoader workers (fork and spawn) load referring samples, shims on."""
import importlib.util
import os
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import rs2sam2_mmseg  # noqa: F401
from tests.test_datasets.fixtures import make_rrsisd
from .worker_probe import collate_with_worker_state

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LITE = importlib.util.find_spec('mmcv._ext') is None


@pytest.mark.parametrize('start_method', ['fork', 'spawn'])
def test_workers_load_samples_with_shims(tmp_path, start_method):
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic.py'))
    dataset = dict(
        cfg.train_dataloader.dataset,
        data_root=make_rrsisd(str(tmp_path / 'rrsisd')))
    loader = Runner.build_dataloader(
        dict(
            batch_size=2,
            num_workers=2,
            multiprocessing_context=start_method,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=collate_with_worker_state,
            dataset=dataset),
        seed=0)
    batches = list(loader)
    assert sum(len(b['batch']['inputs'])
               for b in batches) == len(loader.dataset)
    for out in batches:
        assert out['pid'] != os.getpid()  # made in a worker
        # unpickling the dataset imported rs2sam2_mmseg, compat first
        assert out['shims'] == dict(mmcv_ops_standin=LITE, safe_globals=True)
        samples = out['batch']['data_samples']
        assert all(s.text and 'sent_id' in s for s in samples)
        assert out['batch']['inputs'][0].shape[0] == 3
