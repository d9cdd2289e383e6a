default_scope = 'mmseg'
custom_imports = dict(imports=['rs2sam2_mmseg'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/ switch to 'gloo' on machines without CUDA
    dist_cfg=dict(backend='nccl'),
    # denormal floats flushed to zero on the CPU: CPU training slowed down
    # by 20% as they accumulated (rs2sam2_mmseg.utils.configure_denormals)
    flush_denormal=True,
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='ReferSegVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
# a NaN/inf loss stops training with the iteration and the batch's sent_ids;
# action='skip' skips such steps instead (rs2sam2_mmseg.engine)
custom_hooks = [dict(type='NonFiniteLossHook', action='raise')]
log_level = 'INFO'
# wraps the model for tools/test.py --tta (with the dataset's tta_pipeline)
tta_model = dict(type='ReferSegTTAModel')
load_from = None
resume = False
