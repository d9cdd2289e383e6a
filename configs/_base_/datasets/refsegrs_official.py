# RefSegRS with the official RS2-SAM2 data pipeline
# (data/refsegrs_refer_bert.py): as rrsisd_official.py without box erasing;
# every phrase line is a sample (one sentence each).
_base_ = ['./rrsisd_official.py']
dataset_type = 'RefSegRSDataset'
data_root = 'data/refsegrs'
train_pipeline = [
    step for step in _base_.train_pipeline
    if step['type'] not in ('RandomRefSentence', 'RandomBoxErase')
]
# replaces the RRSIS-D datasets and their options
refsegrs = dict(_delete_=True, type=dataset_type, data_root=data_root)
train_dataloader = dict(
    dataset=dict(refsegrs, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(refsegrs, split='val', pipeline=_base_.test_pipeline))
test_dataloader = dict(
    dataset=dict(refsegrs, split='test', pipeline=_base_.test_pipeline))
