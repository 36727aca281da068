# D-Slope's baseline: the same network as td-hm_hrnet-w32_dslope-8xb64-210e_coco-256x192.py's
# ENet (the W32 baseline ../../baselines/coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py)
# trained alone on exactly the images ENet sees: OccludedTwin(twin_key='img') puts the occluded twin
# in place of the crop (body-part patches at the elbows, knees and hip centre, a third left
# clean). D-Slope's gain over this config is the mutual learning, not the augmentation. The
# heatmap loss in D-Slope's units (loss_weight 0.5), as its ENet.
_base_ = ['../../baselines/coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py']

model = dict(head=dict(loss=dict(loss_weight=0.5)))

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size={{_base_.codec.input_size}}),
    dict(
        type='OccludedTwin',
        transforms=[
            dict(type='PartPaste', pool='data/coco/dag_instance_pool/', num_keypoints=17),
        ],
        clean_prob=1 / 3,
        twin_key='img',
    ),
    dict(type='GenerateTarget', encoder={{_base_.codec}}),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
