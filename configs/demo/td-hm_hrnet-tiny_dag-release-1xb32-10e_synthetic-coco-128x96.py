# Demo DAG with every release switch set (docs/release_deviations.md): the sibling of
# td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py that the ablation tool compares with
# ours (`tools/analysis/ablation.py --configs <baseline> <dag> <this>`). Same backbone, schedule,
# data and Mask Joints probability; Instance Paste off as released.
_base_ = ['./td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py']

codec = _base_.codec

model = dict(
    backbone=dict(type='HRNetWithStages', extra_stage_outputs=('stage3',)),
    neck=dict(in_index=0, attention_index=1, use_spatial_attention=False, fuse_input=True),
    head=dict(
        joint_features='regressed',
        feature_position='last',
        use_scores=False,
        gcn_cfg=dict(non_local='once', hop_combination='gated', symmetric_adjacency=True),
    ),
)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='MaskJoints', prob=0.25, num_joints=2, box_size=(0.104, 0.198)),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
