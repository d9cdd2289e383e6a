# RRSIS-D (published layout, see RRSISDDataset): one sample per sentence.
dataset_type = 'RRSISDDataset'
data_root = 'data/rrsisd'
img_size = 1024  # SAM2 input side; the data preprocessor pads to a square
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferringAnnotations'),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=True),
    # A horizontal flip that swaps left/right in the sentence is available
    # but off: the official RS2-SAM2 RRSIS-D recipe does not flip.
    # dict(type='ReferringRandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomBoxErase', prob=0.2, num_boxes=(20, 60),
        box_size=(32, 32)),
    dict(type='PackReferSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=True),
    # Annotations load AFTER Resize so the GT keeps the original resolution:
    # the model resizes its prediction to ori_shape and the metric scores
    # it there.
    dict(type='LoadReferringAnnotations'),
    dict(type='PackReferSegInputs'),
]
# tools/test.py --tta: the image as is and flipped both ways, each flip
# with its sentence flipped ('left' <-> 'right', ...); ReferSegTTAModel
# averages the three mask logits
tta_flips = [
    dict(type='ReferringRandomFlip', prob=0., direction='horizontal'),
    dict(type='ReferringRandomFlip', prob=1., direction='horizontal'),
    dict(type='ReferringRandomFlip', prob=1., direction='vertical'),
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[[test_pipeline[1]], tta_flips,
                    [dict(type='LoadReferringAnnotations')],
                    [dict(type='PackReferSegInputs')]])
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline))
# the val loader on the test split
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
val_evaluator = dict(type='ReferSegMetric')
test_evaluator = val_evaluator
