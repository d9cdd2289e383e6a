# RS2-SAM2, open_clip variant, on RefSegRS: as
# configs/rs2sam2_openclip_rrsisd.py but 60 epochs (lr x0.1 for the last 10).
_base_ = [
    '_base_/models/rs2sam2_openclip.py', '_base_/datasets/refsegrs.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_40e.py'
]
max_epochs = 60
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(_base_.param_scheduler[0], milestones=[max_epochs - 10])
]
train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True))
