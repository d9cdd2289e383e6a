# RS2-SAM2 on RRSIS-D, the paper's model and recipe (the official code,
# fine.sh): BEiT-3 large union encoder, SAM2 Hiera-L at 1024 px with the
# official adapters, AdamW 5e-5 / 1e-4, 40 epochs at constant lr, bf16;
# 8 GPUs x 1 image; box erase on a fixed 20% of the refs; evaluation at
# 1024 x 1024 (see _base_/datasets/rrsisd_official.py). The official run:
#   tools/dist_train.sh configs/rs2sam2_rrsisd.py 8 --cfg-options \
#       model.sam2_checkpoint=ckpts/sam2_hiera_large.pt \
#       model.union_encoder.pretrained=ckpts/beit3_large_patch16_224.pth \
#       model.union_encoder.spm_file=ckpts/beit3.spm
# (python tools/train.py with the same options on one GPU.)
_base_ = [
    '_base_/models/rs2sam2_beit3.py', '_base_/datasets/rrsisd_official.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_official.py'
]
# epoch-based schedule: a finite, shuffled sampler
train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True))
