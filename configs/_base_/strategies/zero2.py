# DeepSpeed ZeRO stage 2 through mmengine's FlexibleRunner, as the official
# RS2-SAM2 training (bf16, ZeRO-2, buckets of 5e8, no gradient clipping).
# Needs CUDA and
# `pip install -e .[deepspeed]`. The DeepSpeed engine keeps the model in
# bf16 (inputs cast with inputs_to_half) and the fp32 master weights,
# gradients and AdamW state partitioned over the GPUs. The optimizer wrapper
# of the config including this must be a DeepSpeedOptimWrapper (no
# clip_grad / dtype there: gradient_clipping is DeepSpeed's).
# Checkpoints are DeepSpeed folders (iter_N.pth/ or epoch_N.pth/); --resume
# reads them, tools/test.py reads the fp32 weights exported from them (see
# docs/distributed.md).
runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    bf16=dict(enabled=True),
    inputs_to_half=['inputs'],
    gradient_accumulation_steps=1,
    zero_optimization=dict(
        stage=2,
        allgather_partitions=True,
        allgather_bucket_size=5e8,
        reduce_scatter=True,
        reduce_bucket_size=5e8,
        overlap_comm=True,
        contiguous_gradients=True))
