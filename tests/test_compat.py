"""The compat shims: mmcv-lite ops stand-in and weights_only checkpoints."""
import importlib.util
import os
import os.path as osp
import pickle

import pytest
import torch
import torch.nn as nn
from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal_loss

import rs2sam2_mmseg  # noqa: F401  (installs the shims)
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from rs2sam2_mmseg.compat import (checkpoint_safe_globals,
                                  history_buffer_getattr, shim_status)

LITE = importlib.util.find_spec('mmcv._ext') is None


def test_mmseg_imports_and_shims_active():
    import mmseg.models  # noqa: F401  (fails on mmcv-lite without shims)
    status = shim_status()
    assert status['safe_globals']
    assert status['mmcv_ops_standin'] == LITE


@pytest.mark.skipif(not LITE, reason='full mmcv installed: no stand-in')
def test_point_sample_matches_pixel_centres():
    from mmcv.ops import point_sample
    feats = torch.randn(2, 3, 5, 7)
    rows = torch.tensor([0, 2, 4, 1])
    cols = torch.tensor([0, 6, 3, 5])
    # normalised [0, 1] coordinates (x, y) of pixel centres
    points = torch.stack([(cols + 0.5) / 7, (rows + 0.5) / 5], dim=-1)
    out = point_sample(feats, points[None].expand(2, -1, -1))  # (2, 3, 4)
    assert out.shape == (2, 3, 4)
    torch.testing.assert_close(out, feats[:, :, rows, cols])


@pytest.mark.skipif(not LITE, reason='full mmcv installed: no stand-in')
@pytest.mark.parametrize('reduction', ['none', 'sum', 'mean'])
def test_sigmoid_focal_loss_matches_reference(reduction):
    from mmcv.ops import sigmoid_focal_loss
    logits = torch.randn(6, 4, requires_grad=True)
    target = torch.tensor([0, 3, 4, 1, 4, 2])  # 4 == background
    one_hot = torch.nn.functional.one_hot(target, 5)[:, :4].float()
    ref = tv_sigmoid_focal_loss(logits, one_hot, alpha=0.25, gamma=2.0,
                                reduction='none')
    ref = {'none': ref, 'sum': ref.sum(), 'mean': ref.sum() / 6}[reduction]
    out = sigmoid_focal_loss(logits, target, 2.0, 0.25, None, reduction)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert logits.grad.abs().sum() > 0


def test_restricted_getattr_refuses_other_attributes():
    from mmengine.logging import HistoryBuffer
    assert history_buffer_getattr(HistoryBuffer, 'min') is HistoryBuffer.min
    for owner, name in [(HistoryBuffer, '__init__'), (HistoryBuffer, 'x'),
                        (os, 'system')]:
        with pytest.raises(pickle.UnpicklingError, match='only public'):
            history_buffer_getattr(owner, name)


@pytest.mark.skipif(not LITE, reason='full mmcv installed: no stand-in')
def test_other_mmcv_ops_still_raise_import_error():
    with pytest.raises(ModuleNotFoundError, match='full mmcv'):
        from mmcv.ops import CrissCrossAttention  # noqa: F401
    with pytest.raises(ImportError):
        from mmcv.ops import nms  # noqa: F401
    with pytest.raises(ImportError):
        import mmcv.ops.nms  # noqa: F401


class ToyRegressor(BaseModel):
    """A linear regressor in mmengine's BaseModel contract."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, targets, mode='tensor'):
        pred = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((pred - targets)**2).mean())
        return pred


class RecordState(Hook):
    """Records iteration and optimizer state at ``before_train``."""

    def before_train(self, runner):
        opt = runner.optim_wrapper.optimizer
        self.iter = runner.iter
        self.momentum = [s['momentum_buffer'].clone() for s in opt.state.values()]
        self.lr = opt.param_groups[0]['lr']


def _runner(work_dir, max_iters, **kwargs):
    data = [
        dict(inputs=torch.randn(4), targets=torch.randn(1)) for _ in range(8)
    ]
    return Runner(
        model=ToyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=2),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[2], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False)),
        default_scope='mmengine',
        randomness=dict(seed=0),
        **kwargs)


def test_runner_resume_under_weights_only(tmp_path):
    first = _runner(tmp_path, max_iters=3)
    first.train()
    ckpt = osp.join(tmp_path, 'iter_3.pth')
    saved = first.optim_wrapper.optimizer.state_dict()
    # the checkpoint really needs the allow-list ...
    registered = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(ckpt)
    finally:
        torch.serialization.add_safe_globals(registered)
    assert unsafe, 'mmengine checkpoint expected to hold non-tensor globals'
    allowed = {name for _, name in checkpoint_safe_globals()}
    assert set(unsafe) <= allowed, set(unsafe) - allowed
    # ... and torch.load uses weights_only=True by default here
    torch.load(ckpt, map_location='cpu')

    record = RecordState()
    second = _runner(tmp_path, max_iters=5, resume=True, load_from=ckpt,
                     custom_hooks=[record])
    second.train()
    assert record.iter == 3
    assert record.lr == pytest.approx(0.01)  # MultiStepLR state restored
    saved_momentum = [s['momentum_buffer'] for s in saved['state'].values()]
    for got, want in zip(record.momentum, saved_momentum):
        torch.testing.assert_close(got, want)
    assert second.iter == 5
