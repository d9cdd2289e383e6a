# The paper's layout (rs2sam2_rrsisd.py: BEiT-3 union encoder, official
# adapters, decoder fusion, heads, losses, data pipeline, recipe and
# evaluation protocol) at CPU scale, for tests: a 2-layer 64-wide BEiT-3
# at 64 px with the tests' tiny sentencepiece model, the tiny SAM2 Hiera at
# 96 px, trained from scratch on the synthetic RRSIS-D-format dataset
# (tools/make_synthetic.py). Run from the repository root (the spm path is
# relative), e.g.
#   python tools/train.py configs/rs2sam2_beit3_tiny_synthetic.py
_base_ = [
    '_base_/models/rs2sam2_beit3.py', '_base_/models/sam2_hiera_tiny.py',
    '_base_/datasets/rrsisd_official.py', '_base_/default_runtime.py',
    '_base_/schedules/schedule_official.py'
]
sam2_input_size = _base_.sam2_tiny_input_size
union_image_size = 64
union_dims = 64
text_dims = 32  # the tiny SAM2's D
sam2_cfg = 'sam2_hiera_t'
model = dict(
    data_preprocessor=dict(size=(sam2_input_size, sam2_input_size)),
    union_encoder=dict(
        spm_file='tests/test_models/fixtures/tiny_spm.model',
        arch=dict(
            _delete_=True,
            embed_dims=union_dims,
            num_layers=2,
            num_heads=2,
            ffn_dims=128),
        vocab_size=96,
        image_size=union_image_size,
        max_text_positions=64,
        text_out_dims=text_dims),
    backbone=dict(
        sam2_cfg=sam2_cfg,
        sam2_overrides=_base_.sam2_tiny_overrides,
        text_dims=text_dims,
        adapter_heads=2),
    decode_head=dict(
        sam2_cfg=sam2_cfg,
        sam2_overrides=_base_.sam2_tiny_overrides,
        decoder_cfg=_base_.sam2_tiny_decoder_cfg,
        text_dims=text_dims,
        mpg_dims=union_dims,
        mpg_heads=4,
        sparse_hidden_dims=union_dims,
        text_fusion_heads=4,
        loss_boundary=dict(text_dims=text_dims)))
data_root = 'data/synthetic_rrsisd'
# the official pipelines at the tiny sizes, the official 20-60 boxes of
# 32 px scaled to the 96 px images
tiny_steps = dict(
    UnionImageResize=dict(type='UnionImageResize', size=union_image_size),
    Resize=dict(_base_.stretch, scale=(sam2_input_size, sam2_input_size)),
    RandomBoxErase=dict(_base_.box_erase, box_size=(4, 4)))
train_pipeline = [
    tiny_steps.get(step['type'], step) for step in _base_.train_pipeline
]
test_pipeline = [
    tiny_steps.get(step['type'], step) for step in _base_.test_pipeline
]
tta_pipeline = [
    _base_.tta_pipeline[0],
    dict(
        _base_.tta_pipeline[1],
        transforms=[[tiny_steps.get(step['type'], step) for step in group]
                    for group in _base_.tta_pipeline[1]['transforms']])
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
val_evaluator = dict(eval_scale=sam2_input_size)
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
