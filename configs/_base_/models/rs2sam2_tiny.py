# RS2-SAM2 at CPU scale: the same components as rs2sam2.py (union encoder,
# SAM2 Hiera + BHF, mask prompt generator + SAM2 decoder, boundary loss)
# with a tiny Hiera built from SAM2's own hiera_t config, tiny open_clip
# towers and 96 px input, trained from scratch. Used by the tests and by
# `make demo`.
_base_ = ['./rs2sam2.py']

sam2_input_size = 96
text_dims = 64
sam2_cfg = 'sam2.1_hiera_t'
sam2_overrides = dict(
    image_size=sam2_input_size,
    image_encoder=dict(
        trunk=dict(
            embed_dim=24,
            num_heads=1,
            stages=[1, 2, 2, 1],
            global_att_blocks=[],
            window_spec=[8, 4, 6, 3]),
        neck=dict(
            d_model=32,
            backbone_channel_list=[192, 96, 48, 24],
            position_encoding=dict(num_pos_feats=32))))
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
        decoder_cfg=dict(mlp_dim=128, num_heads=4, iou_head_hidden_dim=32),
        text_dims=text_dims,
        mpg_heads=4))
