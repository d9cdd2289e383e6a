# RefSegRS (published layout, see RefSegRSDataset): one sample per phrase
# line. Pipelines, loaders and evaluators are those of RRSIS-D; only the
# dataset differs.
_base_ = ['./rrsisd.py']
dataset_type = 'RefSegRSDataset'
data_root = 'data/refsegrs'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
