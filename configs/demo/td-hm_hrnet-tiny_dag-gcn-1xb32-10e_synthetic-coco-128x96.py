# Demo Table 2 row "+FGMH-GCN": the DAG demo's GCN refinement alone: no neck, no multi-joint
# branch, no data part; the target heatmaps and keypoint coordinates come from DAGHeatmap.
_base_ = ['./td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py']

codec = _base_.codec

model = dict(neck=None, head=dict(use_multi_branch=False))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
