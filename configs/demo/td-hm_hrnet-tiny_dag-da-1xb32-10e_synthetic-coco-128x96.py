# Demo Table 2 row "+DA": the plain baseline with DAG's data part only (Mask Joints and
# Instance Paste at the DAG demo's p=0.25, which val also chose for this row: mean val AP
# 0.145 at p=0.25 vs 0.140 at p=0.5, seeds 0-2); model, codec and schedule are the baseline's.
_base_ = ['./td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py']

codec = _base_.codec

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='MaskJoints', prob=0.25, num_joints=2, box_size=(0.104, 0.198)),
    dict(
        type='InstancePaste', pool='data/synthetic_coco/instance_pool/', prob=0.25, num_keypoints=17
    ),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
