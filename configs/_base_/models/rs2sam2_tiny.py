# RS2-SAM2 at CPU scale: the same components as rs2sam2_openclip.py (union
# encoder, SAM2 Hiera + BHF, mask prompt generator + SAM2 decoder, boundary
# loss) with a tiny Hiera built from SAM2's own hiera_t config, tiny open_clip
# towers and 96 px input, trained from scratch. Used by the tests and by
# `make demo`.
_base_ = ['./rs2sam2_openclip.py', './sam2_hiera_tiny.py']

sam2_input_size = _base_.sam2_tiny_input_size
text_dims = 64
sam2_cfg = 'sam2.1_hiera_t'
sam2_overrides = _base_.sam2_tiny_overrides
model = dict(
    data_preprocessor=dict(size=(sam2_input_size, sam2_input_size)),
    union_encoder=dict(
        model_name='ViT-B-32',
        image_size=64,
        context_length=24,
        model_kwargs=dict(
            embed_dim=64,
            vision_cfg=dict(
                image_size=64, layers=2, width=64, patch_size=8,
                head_width=32),
            text_cfg=dict(
                context_length=24, vocab_size=49408, width=64, heads=2,
                layers=2)),
        embed_dims=text_dims,
        num_heads=4),
    backbone=dict(
        sam2_cfg=sam2_cfg,
        sam2_overrides=sam2_overrides,
        text_dims=text_dims,
        adapter_heads=2,
        gate_heads=4),
    decode_head=dict(
        sam2_cfg=sam2_cfg,
        sam2_overrides=sam2_overrides,
        decoder_cfg=_base_.sam2_tiny_decoder_cfg,
        text_dims=text_dims,
        mpg_heads=4))
