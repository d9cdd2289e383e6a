# The CPU demo model (configs/rs2sam2_tiny_synthetic.py) trained with FSDP
# through mmengine's FlexibleRunner: the CPU check of the sharded recipe of
# configs/rs2sam2_rrsisd_fsdp.py (gloo; the tools set device_id='cpu').
#   tools/dist_train.sh configs/rs2sam2_tiny_synthetic_fsdp.py 2
_base_ = ['./rs2sam2_tiny_synthetic.py', './_base_/strategies/fsdp.py']
optim_wrapper = dict(constructor='FSDPOptimWrapperConstructor')
# FlexibleRunner hands env_cfg to its strategy, which takes mmengine's keys
# only: denormals are not flushed here
env_cfg = dict(
    _delete_=True,
    **{k: v
       for k, v in _base_.env_cfg.items() if k != 'flush_denormal'})
