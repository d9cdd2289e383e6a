# RS2-SAM2 on RefSegRS, the paper's model and recipe (fine_rs.sh): as
# configs/rs2sam2_rrsisd.py, without box erasing, 60 epochs with lr x0.1
# for the last 10 (the schedule's milestone at epoch 50).
_base_ = [
    '_base_/models/rs2sam2_beit3.py', '_base_/datasets/refsegrs_official.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_official.py'
]
train_cfg = dict(max_epochs=60)
train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True))
