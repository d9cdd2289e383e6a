"""Every config loads; the paper-scale model builds; registration works
from a config outside the repository."""
import glob
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from rs2sam2_mmseg.models.utils import (format_parameter_table,
                                        parameter_table)
from rs2sam2_mmseg.utils import UserInputError, load_config
from .test_models.utils import sam2_mask_decoder_size

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                           recursive=True))
LEAVES = [c for c in CONFIGS if '_base_' not in c]


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(c, REPO) for c in CONFIGS])
def test_every_config_loads(path):
    cfg = Config.fromfile(path)
    if path in LEAVES:
        assert cfg.default_scope == 'mmseg'
        assert cfg.custom_imports['imports'] == ['rs2sam2_mmseg']
        for key in ('model', 'train_dataloader', 'test_dataloader',
                    'test_evaluator', 'optim_wrapper', 'train_cfg'):
            assert key in cfg, key


def test_paper_configs_recipe():
    # the official code: train.py, args.py, fine.sh / fine_rs.sh
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'rs2sam2_rrsisd.py'))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=0.01)
    assert 'clip_grad' not in cfg.optim_wrapper
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {
        key: dict(lr_mult=2.)  # 1e-4 for the official lr_bifit_names
        for key in ('backbone.adapters', 'decode_head.text_fusion',
                    'decode_head.mpg')
    }
    assert cfg.train_cfg.max_epochs == 40
    # x0.1 after the official epoch index 49: never within 40 epochs
    assert cfg.param_scheduler == [
        dict(type='MultiStepLR', by_epoch=True, milestones=[50], gamma=0.1)
    ]
    assert cfg.train_dataloader.batch_size == 1  # x 8 GPUs
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU+oIoU'
    assert cfg.model.union_encoder.type == 'BEiT3UnionEncoder'
    assert cfg.model.union_encoder.arch == 'large'
    assert cfg.model.backbone.sam2_cfg == 'sam2_hiera_l'
    assert cfg.model.decode_head.loss_pseudo is None
    assert cfg.model.data_preprocessor.size == (1024, 1024)
    # the official evaluation protocol
    assert cfg.model.test_cfg.pred_scale == 'input'
    assert cfg.test_evaluator == dict(type='ReferSegMetric', eval_scale=1024)
    assert cfg.test_dataloader.batch_size == 1
    train = cfg.train_dataloader.dataset
    assert (train.text_field, train.sample_per) == ('raw', 'ref')
    assert cfg.test_dataloader.dataset.text_field == 'raw'
    steps = [step.type for step in train.pipeline]
    assert steps == [
        'LoadImageFromFile', 'LoadReferringAnnotations', 'RandomRefSentence',
        'RandomBoxErase', 'UnionImageResize', 'Resize', 'PackReferSegInputs'
    ]
    assert train.pipeline[3].subset_seed is not None
    assert train.pipeline[5].keep_ratio is False
    assert train.pipeline[5].backend == 'pillow'
    refsegrs = Config.fromfile(
        osp.join(REPO, 'configs', 'rs2sam2_refsegrs.py'))
    assert refsegrs.train_cfg.max_epochs == 60
    assert refsegrs.param_scheduler == cfg.param_scheduler
    assert refsegrs.train_dataloader.dataset.type == 'RefSegRSDataset'
    assert [step.type for step in refsegrs.train_dataloader.dataset.pipeline
            ] == [s for s in steps if s not in ('RandomRefSentence',
                                                 'RandomBoxErase')]
    assert refsegrs.test_dataloader.dataset.split == 'test'


def test_openclip_configs_recipe():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'rs2sam2_openclip_rrsisd.py'))
    assert cfg.optim_wrapper.optimizer.lr == 5e-5
    mults = {k: v['lr_mult']
             for k, v in cfg.optim_wrapper.paramwise_cfg.custom_keys.items()}
    assert set(mults.values()) == {0.2}  # 1e-5 for pretrained parts
    assert cfg.train_cfg.max_epochs == 40
    assert cfg.param_scheduler[0].milestones == [30]
    assert cfg.model.backbone.sam2_cfg == 'sam2.1_hiera_l'
    assert cfg.model.union_encoder.model_name == 'ViT-L-14'
    assert cfg.model.union_encoder.image_size == 224
    refsegrs = Config.fromfile(
        osp.join(REPO, 'configs', 'rs2sam2_openclip_refsegrs.py'))
    assert refsegrs.train_cfg.max_epochs == 60
    assert refsegrs.param_scheduler[0].milestones == [50]


def test_pretrained_files_are_model_keys():
    """Each pretrained file is a model key; the old top-level variables
    (which would now reach no model) are refused, naming the key."""
    cfg = load_config(
        osp.join(REPO, 'configs', 'rs2sam2_openclip_rrsisd.py'),
        {'model.sam2_checkpoint': '/ckpt/sam2.pt',
         'model.union_encoder.pretrained': '/ckpt/c.bin'})
    assert cfg.model.sam2_checkpoint == '/ckpt/sam2.pt'
    assert cfg.model.union_encoder.pretrained == '/ckpt/c.bin'
    paper = load_config(osp.join(REPO, 'configs', 'rs2sam2_rrsisd.py'))
    assert paper.model.sam2_checkpoint is None
    assert paper.model.union_encoder.pretrained is None
    assert paper.model.union_encoder.spm_file is None
    for config in ('rs2sam2_rrsisd.py', 'rs2sam2_openclip_rrsisd.py'):
        # the components take the file from the segmentor, not the config
        model = Config.fromfile(osp.join(REPO, 'configs', config)).model
        assert 'sam2_checkpoint' not in model.backbone
        assert 'sam2_checkpoint' not in model.decode_head
        for old, key in (('sam2_checkpoint', 'model.sam2_checkpoint'),
                         ('clip_checkpoint',
                          'model.union_encoder.pretrained')):
            with pytest.raises(UserInputError, match=f'give the file as '
                               f'{key}'):
                load_config(osp.join(REPO, 'configs', config),
                            {old: '/ckpt/x.pt'})
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_config(osp.join(REPO, 'configs', 'nope.py'))


def test_openclip_model_builds_at_paper_scale_and_reports_parameters(capsys):
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'rs2sam2_openclip_rrsisd.py'))
    model = MODELS.build(cfg.model)
    rows = {name: (total, train)
            for name, total, train in parameter_table(model)}
    print(format_parameter_table(parameter_table(model)))
    # SAM2.1 Hiera-L trunk 212.1M (DESIGN.md), frozen
    assert rows['backbone.image_encoder'][0] == pytest.approx(212.7e6,
                                                              rel=0.01)
    assert rows['backbone.image_encoder'][1] == 0
    # 4,215,109: SAM2.1-L's decoder (width 256, MLP 2048, IoU head 256)
    assert rows['decode_head.mask_decoder'][0] == sam2_mask_decoder_size(
        256, 2048, 256)
    assert rows['backbone.adapters'][1] == rows['backbone.adapters'][0] > 0
    assert 'union_encoder' in capsys.readouterr().out


def test_registration_from_a_config_outside_the_repo(tmp_path):
    cfg_file = tmp_path / 'my_config.py'
    cfg_file.write_text(textwrap.dedent("""
        custom_imports = dict(imports=['rs2sam2_mmseg'],
                              allow_failed_imports=False)
        default_scope = 'mmseg'
        loss = dict(type='TextGuidedBoundaryLoss', loss_weight=0.2)
    """))
    script = textwrap.dedent(f"""
        import sys
        assert 'rs2sam2_mmseg' not in sys.modules
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        cfg = Config.fromfile({str(cfg_file)!r})  # runs custom_imports
        init_default_scope(cfg.default_scope)
        from mmseg.registry import (DATASETS, HOOKS, METRICS, MODELS,
                                    TRANSFORMS, VISUALIZERS)
        loss = MODELS.build(cfg.loss)
        assert type(loss).__name__ == 'TextGuidedBoundaryLoss'
        names = dict(
            MODELS=['RS2SAM2', 'UnionEncoder', 'SAM2HieraBHF',
                    'SAM2MaskPromptHead', 'TextGuidedBoundaryLoss',
                    'BinaryDiceLoss', 'ReferSegDataPreProcessor'],
            DATASETS=['RRSISDDataset', 'RefSegRSDataset',
                      'TextAblationDataset'],
            TRANSFORMS=['LoadReferringAnnotations', 'ReferringRandomFlip',
                        'RandomBoxErase', 'PackReferSegInputs'],
            METRICS=['ReferSegMetric'],
            HOOKS=['ReferSegVisualizationHook'],
            VISUALIZERS=['ReferSegVisualizer'])
        for registry, keys in names.items():
            for key in keys:
                assert globals()[registry].get(key) is not None, key
        print('ok')
    """)
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith('ok')
