# Demo recipe: DAG (ADAM neck + FGMH-GCN head + multi-joint targets) on the generated
# occluded-pose data. Same backbone, schedule and data as the plain baseline
# td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py, so their APs compare directly.
_base_ = ['./td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py']

# codec settings: target heatmaps as MSRAHeatmap, plus multi-joint heatmaps (other people at
# peak 0.5) and the normalised target coordinates for the L1 term
codec = dict(type='DAGHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5)

# model settings
model = dict(
    neck=dict(type='ADAM', in_channels=16),
    head=dict(
        _delete_=True,
        type='FGMHGCNHead',
        pose_cfg=dict(
            type='HeatmapHead',
            in_channels=16,
            out_channels=17,
            deconv_out_channels=None,
            decoder=codec),
        metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
        gcn_cfg=dict(hidden_channels=64, num_blocks=2),
        loss=dict(type='DAGLoss')),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True, refine=True))

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
