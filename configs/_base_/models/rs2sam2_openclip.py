# RS2-SAM2, open_clip variant (ours; the paper model is rs2sam2_beit3.py):
# SAM2.1 Hiera-L image encoder at 1024 px (frozen, BHF adapters in every
# block), CLIP ViT-L/14 towers at 224 px in the union encoder, mask prompt
# generator + SAM2 decoder.
#
# Pretrained weights are local files (nothing is downloaded), each in a
# model key (loaded when the model is initialised, by our tools and MMSeg's):
#   --cfg-options model.sam2_checkpoint=/path/sam2.1_hiera_large.pt \
#       model.union_encoder.pretrained=/path/open_clip_vit_l14.bin

# SAM2's input side; the dataset pipelines resize to at most this size and
# the data preprocessor pads to it
sam2_input_size = 1024
sam2_cfg = 'sam2.1_hiera_l'
text_dims = 512
data_preprocessor = dict(
    type='ReferSegDataPreProcessor',
    size=(sam2_input_size, sam2_input_size))
model = dict(
    type='RS2SAM2',
    data_preprocessor=data_preprocessor,
    # official SAM2 checkpoint for the backbone and the decode head
    sam2_checkpoint=None,
    union_encoder=dict(
        type='UnionEncoder',
        model_name='ViT-L-14',
        pretrained=None,
        image_size=224,
        embed_dims=text_dims,
        num_fusion_layers=2,
        num_heads=8),
    backbone=dict(
        type='SAM2HieraBHF',
        sam2_cfg=sam2_cfg,
        text_dims=text_dims,
        adapter_blocks='all',
        with_cp=False),
    decode_head=dict(
        type='SAM2MaskPromptHead',
        sam2_cfg=sam2_cfg,
        text_dims=text_dims,
        loss_decode=[
            dict(
                type='CrossEntropyLoss',
                use_sigmoid=True,
                avg_non_ignore=True,
                loss_weight=0.9),
            dict(type='BinaryDiceLoss', loss_weight=0.1)
        ],
        loss_boundary=dict(
            type='TextGuidedBoundaryLoss', mode='pixel', loss_weight=0.2),
        loss_pseudo=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            avg_non_ignore=True,
            loss_weight=0.1,
            loss_name='loss_pseudo')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
