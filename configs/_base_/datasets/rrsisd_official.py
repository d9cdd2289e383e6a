# RRSIS-D with the official RS2-SAM2 data pipeline
# (data/dataset_refer_bert.py, train.py, test.py):
# - training visits each ref once per epoch with one of its sentences drawn
#   at random, as written (the `raw` field);
# - a fixed 20% of the refs (drawn once) get 20-60 black 32 px boxes on the
#   ORIGINAL image each time they are loaded (RRSIS-D only);
# - the union encoder's 224 px image and SAM2's 1024 px image are both
#   stretched from that image with PIL bilinear (images decoded by PIL too);
# - evaluation on every sentence, at 1024 x 1024 against the GT resized
#   there (PIL nearest), IoU 0 for an empty union, Pr@t with IoU >= t; the
#   model must predict at its input (test_cfg.pred_scale='input').
_base_ = ['./rrsisd.py']
img_size = 1024
union_img_size = 224
load_image = dict(type='LoadImageFromFile', imdecode_backend='pillow')
union_image = dict(type='UnionImageResize', size=union_img_size)
stretch = dict(
    type='Resize',
    scale=(img_size, img_size),
    keep_ratio=False,
    backend='pillow',
    interpolation='bilinear')
box_erase = dict(
    type='RandomBoxErase',
    prob=0.2,
    num_boxes=(20, 60),
    box_size=(32, 32),
    subset_seed=0)
train_pipeline = [
    load_image,
    dict(type='LoadReferringAnnotations'),
    dict(type='RandomRefSentence'),
    box_erase,
    union_image,
    stretch,
    dict(type='PackReferSegInputs'),
]
# Annotations load after the resizes: the metric resizes the GT itself
test_pipeline = [
    load_image,
    union_image,
    stretch,
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferSegInputs'),
]
tta_pipeline = [
    load_image,
    dict(
        type='TestTimeAug',
        transforms=[[union_image], [stretch], _base_.tta_flips,
                    [dict(type='LoadReferringAnnotations')],
                    [dict(type='PackReferSegInputs')]])
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(text_field='raw', sample_per='ref', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(text_field='raw', pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(text_field='raw', pipeline=test_pipeline))
val_evaluator = dict(type='ReferSegMetric', eval_scale=img_size)
test_evaluator = val_evaluator
