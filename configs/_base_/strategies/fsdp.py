# PyTorch FSDP through mmengine's FlexibleRunner (no extra package; CUDA
# with NCCL, or the CPU with gloo: the tools set device_id='cpu' there).
# Parameters, gradients and AdamW state are sharded over the processes
# (FULL_SHARD); each wrap unit's weights are gathered only while it runs.
# Wrap units are the modules the model calls as a whole (their forward):
# SAM2 Hiera's attention and MLP (MultiScaleAttention, MLP; the BHF adapter
# uses the blocks' parts, so a whole MultiScaleBlock cannot be a unit),
# the union encoder's transformer layers (BEiT-3: MultiwayEncoderLayer;
# the open_clip variant: CLIP's ResidualAttentionBlock and the fusion
# MultiwayLayer); names absent from a model wrap nothing. Everything else
# (adapters, the SAM2 decoder, embeddings) is one root unit, sharded too.
# use_orig_params: parameter groups with their own lr_mult and frozen SAM2
# weights may share a unit. Checkpoints hold the full model (rank 0 writes
# one file): tools/test.py and --resume read them as any other.
runner_type = 'FlexibleRunner'
fsdp_wrap_classes = [
    'MultiScaleAttention', 'MLP', 'MultiwayEncoderLayer',
    'ResidualAttentionBlock', 'MultiwayLayer'
]
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy=dict(
            type='class_name_wrap_policy', class_names=fsdp_wrap_classes),
        use_orig_params=True),
    state_dict_cfg='full')
