# The release's model (every switch of td-hm_hrnet-tiny_dag-release-1xb32-10e_synthetic-coco-
# 128x96.py) trained on our DAG data, Instance Paste included: with the release row and ours it
# separates the release's architecture from its switched-off pasting in the ablation
# (`tools/analysis/ablation.py --protocol from-scratch --configs <baseline> <dag> <dag-release>
# <this>`).
_base_ = ['./td-hm_hrnet-tiny_dag-release-1xb32-10e_synthetic-coco-128x96.py']

codec = _base_.codec

# the train pipeline of td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='MaskJoints', prob=0.25, num_joints=2, box_size=(0.104, 0.198)),
    dict(
        type='InstancePaste', pool='data/synthetic_coco/instance_pool/', prob=0.25, num_keypoints=17
    ),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
