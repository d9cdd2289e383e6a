# The paper model (configs/rs2sam2_rrsisd.py) trained as the authors did:
# DeepSpeed ZeRO-2, bf16, 8 GPUs x 1 image. Needs CUDA and
# `pip install -e .[deepspeed]` (see docs/distributed.md).
#   tools/dist_train.sh configs/rs2sam2_rrsisd_zero2.py 8 --cfg-options \
#       model.sam2_checkpoint=ckpts/sam2_hiera_large.pt \
#       model.union_encoder.pretrained=ckpts/beit3_large_patch16_224.pth \
#       model.union_encoder.spm_file=ckpts/beit3.spm
# On N < 8 GPUs keep the paper's batch of 8 with
#   strategy.gradient_accumulation_steps=$((8 / N))
_base_ = ['./rs2sam2_rrsisd.py', './_base_/strategies/zero2.py']
# the paper config's AdamW and parameter groups (no clipping, as the
# official code); mixed precision is DeepSpeed's (strategy.bf16)
optim_wrapper = dict(
    _delete_=True,
    type='DeepSpeedOptimWrapper',
    optimizer=_base_.optim_wrapper.optimizer,
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
# FlexibleRunner hands env_cfg to its strategy, which takes mmengine's keys
# only (flush_denormal is ours, for CPU training)
env_cfg = dict(
    _delete_=True,
    **{k: v
       for k, v in _base_.env_cfg.items() if k != 'flush_denormal'})
