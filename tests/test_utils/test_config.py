"""Config preparation of the tools (work dir, AMP, resume, test, DDP)."""
import copy
import os.path as osp

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from rs2sam2_mmseg.utils import (UserInputError, changed_recipe,
                                 configure_amp, configure_denormals,
                                 configure_launcher, configure_resume,
                                 configure_test, free_port, load_config,
                                 set_work_dir)
from rs2sam2_mmseg.utils.cli import shutdown_distributed
from ..test_models.utils import REPO
from ..test_tools.utils import TINY_CONFIG

PAPER_CONFIG = osp.join(REPO, 'configs', 'rs2sam2_rrsisd.py')
OPENCLIP_CONFIG = osp.join(REPO, 'configs', 'rs2sam2_openclip_rrsisd.py')
no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the behaviour without CUDA')


@pytest.fixture
def cfg() -> Config:
    return load_config(TINY_CONFIG)


def test_load_config(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_config(str(tmp_path / 'missing.py'))
    cfg = load_config(
        OPENCLIP_CONFIG, {
            'model.sam2_checkpoint': 'sam2.pt',
            'train_dataloader.num_workers': 0
        })
    assert cfg.model.sam2_checkpoint == 'sam2.pt'
    # PyTorch rejects persistent workers without workers
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True


def test_set_work_dir(cfg):
    assert set_work_dir(cfg, None, 'a/b/my_cfg.py').work_dir == osp.join(
        'work_dirs', 'my_cfg')
    cfg.work_dir = 'from_config'
    assert set_work_dir(cfg, None, 'x.py').work_dir == 'from_config'
    assert set_work_dir(cfg, 'given', 'x.py').work_dir == 'given'


@no_cuda
def test_configure_amp_without_cuda():
    cfg = load_config(PAPER_CONFIG)
    with pytest.raises(ValueError, match='--amp needs CUDA'):
        configure_amp(cfg, amp=True)
    # the paper configs' bf16 autocast falls back to fp32
    configure_amp(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'dtype' not in cfg.optim_wrapper


def test_configure_amp_with_cuda(monkeypatch, cfg):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    configure_amp(cfg, amp=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    paper = configure_amp(load_config(PAPER_CONFIG), amp=False)
    assert paper.optim_wrapper.dtype == 'bfloat16'


def test_configure_resume(tmp_path, cfg):
    cfg.work_dir = str(tmp_path)
    assert configure_resume(cfg, None).resume is False
    configure_resume(cfg, 'auto')
    assert cfg.resume is True and cfg.load_from is None
    checkpoint = str(tmp_path / 'iter_2.pth')
    torch.save(dict(meta=dict(iter=2, cfg=cfg.pretty_text)), checkpoint)
    configure_resume(cfg, checkpoint)
    assert cfg.resume is True and cfg.load_from == checkpoint
    with pytest.raises(FileNotFoundError, match='--resume checkpoint'):
        configure_resume(cfg, str(tmp_path / 'missing.pth'))
    # resuming to train longer is what --resume is for
    cfg.train_cfg.max_iters += 10
    configure_resume(cfg, checkpoint)
    # a fresh run never overwrites a run in its work dir
    (tmp_path / 'last_checkpoint').write_text(checkpoint)
    with pytest.raises(UserInputError, match='holds a training run already'):
        configure_resume(cfg, None)
    # a checkpoint of another recipe is refused before any step
    cfg.model.union_grad_scale = 0.5
    for resume in ('auto', checkpoint):
        with pytest.raises(UserInputError,
                           match='--resume: .* with another model than'):
            configure_resume(cfg, resume)
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(UserInputError, match='empty.pth is empty'):
        configure_resume(cfg, str(tmp_path / 'empty.pth'))


def test_changed_recipe(tmp_path, cfg):
    work_dir = str(tmp_path)
    assert changed_recipe(cfg, work_dir) is None  # nothing to resume
    checkpoint = str(tmp_path / 'iter_2.pth')
    (tmp_path / 'last_checkpoint').write_text(checkpoint)
    assert 'which does not exist' in changed_recipe(cfg, work_dir)

    def save(meta: dict) -> None:  # as mmengine's runner does
        torch.save(dict(meta=meta, state_dict={}), checkpoint)

    save(dict(iter=2))
    assert 'not hold the config of its run' in changed_recipe(cfg, work_dir)
    save(dict(iter=2, cfg=cfg.pretty_text))
    assert changed_recipe(cfg, work_dir) is None
    cfg.work_dir = 'elsewhere'  # not part of the recipe
    assert changed_recipe(cfg, work_dir) is None
    # the config file a later run writes into the work dir (tools/test.py
    # with the test-time batch) does not count: the checkpoint's does
    tested = copy.deepcopy(cfg)
    tested.train_dataloader.batch_size = 1
    tested.dump(osp.join(work_dir, osp.basename(cfg.filename)))
    assert changed_recipe(cfg, work_dir) is None
    cfg.model.union_grad_scale = 0.5
    cfg.train_cfg.val_interval = 7
    reason = changed_recipe(cfg, work_dir)
    assert 'model / train_cfg' in reason and work_dir in reason
    save(dict(iter=2, cfg=cfg.pretty_text))
    # a training time budget (TrainTimeBudgetHook) decides the iterations
    cfg.custom_hooks = [dict(type='TrainTimeBudgetHook', minutes=3.)]
    assert 'custom_hooks' in changed_recipe(cfg, work_dir)
    save(dict(iter=2, cfg=cfg.pretty_text))
    # ... but a resumed run keeps the iterations its budget set: the
    # minutes alone (the demo's time left) are not part of the recipe
    cfg.custom_hooks[0].minutes = 2.
    assert changed_recipe(cfg, work_dir) is None
    cfg.custom_hooks[0].margin = 0.1
    assert 'custom_hooks' in changed_recipe(cfg, work_dir)


def test_configure_denormals(cfg):
    tiny = torch.tensor([1e-37])  # / 1000 is a denormal float32

    def flushed() -> bool:
        return (tiny / 1000).item() == 0

    before = flushed()  # the tools, run in this process, may have set it
    torch.set_flush_denormal(False)
    try:
        cfg.env_cfg.flush_denormal = False
        assert configure_denormals(cfg) is False and not flushed()
        cfg.env_cfg.flush_denormal = True
        # x86 and ARM64 can flush; elsewhere the call reports False
        assert configure_denormals(cfg) == flushed()
    finally:
        torch.set_flush_denormal(before)


def test_configure_test(tmp_path, cfg):
    checkpoint = tmp_path / 'model.pth'
    with pytest.raises(FileNotFoundError, match='does not exist'):
        configure_test(cfg, str(checkpoint))
    checkpoint.write_bytes(b'')
    dataset = cfg.test_dataloader.dataset.copy()
    configure_test(
        cfg,
        str(checkpoint),
        out='x/expressions.csv',
        show_dir='vis',
        text_ablation='shuffle',
        ablation_seed=3)
    assert cfg.load_from == str(checkpoint)
    assert cfg.test_dataloader.dataset == dict(
        type='TextAblationDataset', dataset=dataset, mode='shuffle', seed=3)
    assert cfg.test_evaluator.output_file == 'x/expressions.csv'
    assert cfg.default_hooks.visualization == dict(
        type='ReferSegVisualizationHook', draw=True, interval=1, out_dir='vis')
    assert cfg.visualizer.type == 'ReferSegVisualizer'
    configure_test(cfg, str(checkpoint), out='preds.pkl')
    assert cfg.test_evaluator[-1] == dict(
        type='DumpResults', out_file_path='preds.pkl')
    with pytest.raises(ValueError, match='use a .csv or .pkl file'):
        configure_test(cfg, str(checkpoint), out='x.json')
    with pytest.raises(ValueError, match='Unknown text ablation'):
        configure_test(cfg, str(checkpoint), text_ablation='mask')
    cfg.test_evaluator = dict(type='IoUMetric')
    with pytest.raises(ValueError, match='no ReferSegMetric'):
        configure_test(cfg, str(checkpoint), out='x.csv')
    # a config without default hooks or visualizer
    bare = configure_test(Config(), str(checkpoint), show_dir='vis')
    assert bare.default_hooks.visualization.out_dir == 'vis'
    assert bare.visualizer.type == 'ReferSegVisualizer'


def test_configure_test_tta(tmp_path, cfg):
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    model = cfg.model.copy()
    configure_test(cfg, str(checkpoint), text_ablation='shuffle', tta=True)
    assert cfg.model == dict(
        type='ReferSegTTAModel',
        module=model,
        data_preprocessor=model.data_preprocessor)
    # the ablation wraps the dataset that runs the TTA views
    assert cfg.test_dataloader.dataset.dataset.pipeline == cfg.tta_pipeline
    with pytest.raises(UserInputError,
                       match=r'\(--tta\) needs tta_pipeline and tta_model'):
        configure_test(Config(), str(checkpoint), tta=True)


def test_configure_launcher_none(cfg):
    configure_launcher(cfg, 'none')
    assert cfg.launcher == 'none' and 'model_wrapper_cfg' not in cfg
    with pytest.raises(ValueError, match='Unknown launcher'):
        configure_launcher(cfg, 'torchrun')


@no_cuda
def test_configure_launcher_cpu(monkeypatch):
    cfg = Config(dict(sync_bn='torch'))  # no env_cfg
    with pytest.raises(ValueError, match='--launcher slurm needs CUDA'):
        configure_launcher(cfg, 'slurm')
    monkeypatch.delenv('RANK', raising=False)
    with pytest.raises(ValueError, match='RANK is not set'):
        configure_launcher(cfg, 'pytorch')
    # a one-process torchrun environment: the gloo group is started here
    for key, value in dict(
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    try:
        configure_launcher(cfg, 'pytorch')
        assert torch_dist.get_backend() == 'gloo'
    finally:
        # what run_cli does when a tool returns
        shutdown_distributed()
    assert not torch_dist.is_initialized()
    shutdown_distributed()  # nothing to release: a no-op
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert 'sync_bn' not in cfg
