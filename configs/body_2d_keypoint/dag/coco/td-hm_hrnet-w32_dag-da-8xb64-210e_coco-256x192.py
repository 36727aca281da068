# Paper Table 2, row "+DA" (COCO val2017, HRNet-W32 256x192; paper AP 74.7): DAG's data part
# alone. The same-recipe baseline
# ../../baselines/coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py with Mask Joints
# and Instance Paste added to its training pipeline, set as in the full DAG config
# td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py; model (no neck, plain HeatmapHead), codec,
# loss and schedule are the baseline's.
_base_ = ['../../baselines/coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py']

custom_imports = dict(imports=['dag_mmpose'], allow_failed_imports=False)

codec = _base_.codec
data_root = _base_.data_root

# pipelines: the baseline's, with the occlusion augmentation on the crop
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    # as in the DAG config (see its comments; the pool is built once with
    # tools/build_instance_pool.py, docs/instance_pool.md)
    dict(type='MaskJoints', prob=0.5, num_joints=2, box_size=(0.104, 0.198)),
    dict(type='InstancePaste', pool=data_root + 'dag_instance_pool/', prob=0.5, num_keypoints=17),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
