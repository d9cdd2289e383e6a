# A tiny SAM2 Hiera for CPU: SAM2's own hiera_t config with a 24-wide,
# 6-block trunk, a 32-wide neck (D = 32) and a small mask decoder, at 96 px.
# Shared by the tiny open_clip model (rs2sam2_tiny.py, the demo) and the
# tiny paper-layout config (rs2sam2_beit3_tiny_synthetic.py).
sam2_tiny_input_size = 96
sam2_tiny_overrides = dict(
    image_size=sam2_tiny_input_size,
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
sam2_tiny_decoder_cfg = dict(mlp_dim=128, num_heads=4, iou_head_hidden_dim=32)
