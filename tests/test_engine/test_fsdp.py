"""FSDP pieces: the class-name wrap policy and the optimizer wrapper
constructor that clips over all shards (one gloo process here; the
2-process run is tests/test_tools/test_dist_fsdp.py)."""
import importlib
import os

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMFullyShardedDataParallel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch import nn
from torch.distributed.fsdp import FullyShardedDataParallel

from rs2sam2_mmseg.utils import free_port
from ..test_models.utils import REPO

FSDP_BASE = os.path.join(REPO, 'configs', '_base_', 'strategies', 'fsdp.py')
#: Where each wrap class of the FSDP configs is defined.
WRAP_CLASS_MODULES = dict(
    MultiScaleAttention='sam2.modeling.backbones.hieradet',
    MLP='sam2.modeling.sam2_utils',
    MultiwayEncoderLayer='rs2sam2_mmseg.models.necks.beit3',
    ResidualAttentionBlock='open_clip.transformer',
    MultiwayLayer='rs2sam2_mmseg.models.necks.union_encoder')


@pytest.fixture(scope='module')
def process_group():
    """A one-process gloo group, destroyed after the module's tests."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
    dist.init_process_group('gloo', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def fsdp(model: nn.Module, **kwargs) -> MMFullyShardedDataParallel:
    """``model`` wrapped as ``FSDPStrategy`` does on the CPU."""
    return MMFullyShardedDataParallel(
        module=model, device_id='cpu', use_orig_params=True, **kwargs)


def test_every_wrap_class_exists():
    """A misspelt class name would silently wrap nothing."""
    names = Config.fromfile(FSDP_BASE).fsdp_wrap_classes
    assert sorted(names) == sorted(WRAP_CLASS_MODULES)
    for name, module in WRAP_CLASS_MODULES.items():
        assert isinstance(getattr(importlib.import_module(module), name), type)


@pytest.mark.parametrize(
    'config, classes',
    [('rs2sam2_tiny_synthetic.py', {
        'MultiScaleAttention', 'MLP', 'ResidualAttentionBlock', 'MultiwayLayer'
    }),
     ('rs2sam2_beit3_tiny_synthetic.py',
      {'MultiScaleAttention', 'MLP', 'MultiwayEncoderLayer'})])
def test_wrap_units_of_the_tiny_models(process_group, monkeypatch, config,
                                       classes):
    """Each module of a named class becomes an FSDP unit; nothing else."""
    monkeypatch.chdir(REPO)  # the BEiT-3 config's spm path is relative
    names = Config.fromfile(FSDP_BASE).fsdp_wrap_classes
    init_default_scope('mmseg')
    model = MODELS.build(
        Config.fromfile(os.path.join(REPO, 'configs', config)).model)
    expected = sorted(
        type(m).__name__ for m in model.modules() if type(m).__name__ in names)
    assert set(expected) == classes
    wrapped = fsdp(
        model,
        auto_wrap_policy=dict(
            type='class_name_wrap_policy', class_names=names))
    units = [
        type(m.module).__name__
        for m in FullyShardedDataParallel.fsdp_modules(wrapped)
        if m is not wrapped
    ]
    assert sorted(units) == expected


@pytest.mark.parametrize('sharded', [True, False])
def test_constructor_clips_over_the_model(process_group, sharded):
    """FSDP models clip with FSDP's clip_grad_norm_; others as before."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    if sharded:
        model = fsdp(model)
    wrapper = build_optim_wrapper(
        model,
        dict(
            constructor='FSDPOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.1),
            clip_grad=dict(max_norm=0.01)))
    assert (wrapper.clip_func is torch.nn.utils.clip_grad_norm_) != sharded
    model(torch.randn(3, 4)).pow(2).sum().backward()
    norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    wrapper._clip_grad()
    clipped = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert norm > 0.1
    assert clipped.norm() == pytest.approx(0.01, rel=1e-3)
    assert wrapper.message_hub.get_scalar('train/grad_norm').current() == \
        pytest.approx(norm.item(), rel=1e-5)
