# RS2-SAM2, open_clip variant (ours; the paper model is rs2sam2_rrsisd.py) on
# RRSIS-D: SAM2.1 Hiera-L at 1024 px, CLIP ViT-L/14 union towers at 224 px,
# AdamW 5e-5 / 1e-5, 40 epochs (lr x0.1 for the last 10), bf16 autocast;
# 4 GPUs x 2 images.
#   python tools/train.py configs/rs2sam2_openclip_rrsisd.py --cfg-options \
#       model.sam2_checkpoint=ckpts/sam2.1_hiera_large.pt \
#       model.union_encoder.pretrained=ckpts/open_clip_vit_l14.bin
_base_ = [
    '_base_/models/rs2sam2_openclip.py', '_base_/datasets/rrsisd.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_40e.py'
]
# epoch-based schedule: a finite, shuffled sampler
train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True))
