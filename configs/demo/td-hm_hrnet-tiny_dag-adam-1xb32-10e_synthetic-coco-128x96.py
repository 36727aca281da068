# Demo Table 2 row "+ADAM": the DAG demo without its data part and without the GCN: ADAM neck
# and the multi-joint branch (GetOtherInstances gives the other people), base-head pose.
_base_ = ['./td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py']

codec = _base_.codec

model = dict(head=dict(use_gcn=False), test_cfg=dict(refine=False))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
