# OPEC + DAG parts, combined: the IGP-GCN as the refiner of a DAG model's predictions, trained
# with DAG's data part (Mask Joints, Instance Paste from the COCO pool, as in
# ../../dag/crowdpose/td-hm_hrnet-w32_dag-8xb64-210e_crowdpose-256x192.py). The poses to refine
# are the DAG CrowdPose model's (tools/test.py on it with test_evaluator.outfile_prefix, train
# and test splits, as td-hm_hrnet-w32_opec-couplegraph-1xb16-30e_crowdpose-256x192.py shows); the
# image features come from the frozen CrowdPose HRNet-W32 backbone. One person at a time
# (couple_graph=False); ADAM is not part of it (the IGP-GCN reads CFA's maps, not a target map).
_base_ = ['./td-hm_hrnet-w32_opec-couplegraph-1xb16-30e_crowdpose-256x192.py']

predictions = 'work_dirs/crowdpose_w32_dag_predictions/'
codec = dict(type='DAGHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

model = dict(head=dict(couple_graph=False))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(
        type='LoadInitialPose',
        pred_file=predictions + 'trainval.keypoints.json',
        input_size=codec['input_size'],
    ),
    dict(type='MaskJoints', prob=0.5, num_joints=2, box_size=(0.104, 0.198)),
    dict(
        type='InstancePaste',
        pool='data/coco/dag_instance_pool/',
        prob=0.5,
        num_keypoints=14,
        keypoint_mapping=[(i + 5, i) for i in range(12)],
    ),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=_base_.meta_keys[:-2]),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(
        type='LoadInitialPose',
        pred_file=predictions + 'test.keypoints.json',
        input_size=codec['input_size'],
    ),
    dict(type='PackPoseInputs', meta_keys=_base_.meta_keys[:-2]),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
