# RS2-SAM2 as published (github rongfu-dsb/RS2-SAM2 @7321e75, lib/evf_sam.py):
# - union encoder: BEiT-3 large over [CLS; 14 x 14 patches of a 224 px copy
#   of the image; the sentence tokenized with BEiT-3's sentencepiece model],
#   its text tokens projected to 256 (the official text_feat_linear);
# - SAM2 (v1, 'sam2_hiera_l') Hiera-L image encoder at 1024 px, frozen, with
#   the official adapters in all 48 blocks (Space adapter on the attention
#   output before its residual, MLP adapter in parallel on norm2(x), PyTorch
#   default init, no text LayerNorm, no post-trunk fusion);
# - decoder-side text fusion E * MHA(E + PE, T, T), the mask prompt
#   generator at 1024-d, the sparse prompt Linear(1024, 1024)-ReLU-Linear,
#   SAM2's prompt encoder and mask decoder (both trained);
# - losses: 0.9 two-class CE (class weights 0.9 / 1.1) + 0.1 two-class Dice
#   + 0.2 official boundary loss; no pseudo-mask loss;
# - prediction z > 0.5 on the mask logit, at the 1024 x 1024 input
#   (test_cfg.pred_scale='input': the official evaluation protocol, with
#   the datasets' ReferSegMetric(eval_scale=1024)).
#
# Pretrained weights are local files (nothing is downloaded), each in a
# model key, loaded when the model is initialised (by our tools and by
# MMSeg's): model.union_encoder.pretrained (unilm BEiT-3 large,
# beit3_large_patch16_224.pth), model.union_encoder.spm_file (beit3.spm,
# required to build the model) and model.sam2_checkpoint (SAM2 Hiera-L,
# sam2_hiera_large.pt, for the backbone and the decode head).

sam2_input_size = 1024
sam2_cfg = 'sam2_hiera_l'
union_image_size = 224
# BEiT-3 large width (cls and vis: mask prompt generator, sparse prompt)
union_dims = 1024
# projected text width = SAM2's D (adapters, decoder fusion, boundary loss)
text_dims = 256
data_preprocessor = dict(
    type='ReferSegDataPreProcessor',
    size=(sam2_input_size, sam2_input_size))
model = dict(
    type='RS2SAM2',
    sam2_checkpoint=None,
    data_preprocessor=data_preprocessor,
    union_encoder=dict(
        type='BEiT3UnionEncoder',
        spm_file=None,
        arch='large',
        image_size=union_image_size,
        text_out_dims=text_dims,
        pretrained=None),
    backbone=dict(
        type='SAM2HieraBHF',
        sam2_cfg=sam2_cfg,
        text_dims=text_dims,
        adapter_blocks='all',
        adapter_layout='official',
        text_norm=False,
        zero_init=False,
        with_gate=False,
        with_cp=False),
    decode_head=dict(
        type='SAM2MaskPromptHead',
        sam2_cfg=sam2_cfg,
        text_dims=text_dims,
        mpg_dims=union_dims,
        mpg_heads=8,
        sparse_hidden_dims=union_dims,
        sparse_act=dict(type='ReLU'),
        text_fusion=True,
        logit_threshold=0.5,
        loss_decode=[
            dict(type='TwoClassCrossEntropyLoss', loss_weight=0.9),
            dict(type='TwoClassDiceLoss', loss_weight=0.1)
        ],
        loss_boundary=dict(
            type='TextGuidedBoundaryLoss',
            mode='official',
            text_dims=text_dims,
            loss_weight=0.2),
        loss_pseudo=None),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', pred_scale='input'))
