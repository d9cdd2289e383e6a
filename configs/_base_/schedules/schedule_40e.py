# RS2-SAM2 recipe: AdamW, 5e-5 for new layers (BHF adapters, MPG, union
# fusion layers, gate), x0.2 = 1e-5 for pretrained parts (CLIP towers, SAM2
# prompt encoder / mask decoder; the SAM2 image encoder is frozen), bf16
# autocast, lr x0.1 for the last 10 epochs.
max_epochs = 40
pretrained_lr_mult = 0.2
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(
        type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'union_encoder.visual': dict(lr_mult=pretrained_lr_mult),
            'union_encoder.text': dict(lr_mult=pretrained_lr_mult),
            'decode_head.prompt_encoder': dict(lr_mult=pretrained_lr_mult),
            'decode_head.mask_decoder': dict(lr_mult=pretrained_lr_mult),
        }),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[max_epochs - 10],
        gamma=0.1)
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=True,
        interval=1,
        max_keep_ckpts=3,
        save_best='mIoU',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='ReferSegVisualizationHook'))
