# The paper model (configs/rs2sam2_rrsisd.py) trained with PyTorch FSDP
# (FULL_SHARD) through mmengine's FlexibleRunner, for GPUs whose memory does
# not hold DDP's full copy of weights, gradients and AdamW state (see
# docs/distributed.md for which config fits which GPU).
#   tools/dist_train.sh configs/rs2sam2_rrsisd_fsdp.py 8 --cfg-options \
#       model.sam2_checkpoint=ckpts/sam2_hiera_large.pt \
#       model.union_encoder.pretrained=ckpts/beit3_large_patch16_224.pth \
#       model.union_encoder.spm_file=ckpts/beit3.spm
# Effective batch = GPUs x train_dataloader.batch_size x
# optim_wrapper.accumulative_counts (the paper: 8 x 1).
_base_ = ['./rs2sam2_rrsisd.py', './_base_/strategies/fsdp.py']
# bf16 autocast, AdamW and lr_mult as the DDP config; a clip_grad (the
# official recipe has none) would clip by the norm over all shards
# (FSDPOptimWrapperConstructor)
optim_wrapper = dict(constructor='FSDPOptimWrapperConstructor')
# Hiera-L at 1024 px: activation checkpointing of the adapted blocks (the
# activations, not the weights, dominate at this size)
model = dict(backbone=dict(with_cp=True))
# FlexibleRunner hands env_cfg to its strategy, which takes mmengine's keys
# only (flush_denormal is ours, for CPU training)
env_cfg = dict(
    _delete_=True,
    **{k: v
       for k, v in _base_.env_cfg.items() if k != 'flush_denormal'})
