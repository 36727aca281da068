# Drop-in: DAG's FGMH-GCN refinement around mmpose's SimCC head on ResNet-50
# (configs/body_2d_keypoint/simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py).
# FGMHGCNHead wraps the stock SimCCHead (`pose_cfg`, trained with its own KL loss), adds a
# multi-joint heatmap branch on the backbone features (training only) and refines the SimCC
# pose with a multi-hop GCN over the COCO skeleton. No attention neck: with a plain backbone
# output (F,), F serves as both F_m and F_t.
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['dag_mmpose'], allow_failed_imports=False)

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)

# optimizer
optim_wrapper = dict(
    optimizer=dict(
        type='Adam',
        lr=1e-3,
    )
)

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', milestones=[170, 200], gamma=0.1, by_epoch=True),
]

# automatically scaling LR based on the actual training batch size
auto_scale_lr = dict(base_batch_size=512)

# hooks
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))

# codec settings
# the SimCC labels supervise the wrapped SimCCHead, as in the mmpose recipe
codec = dict(type='SimCCLabel', input_size=(192, 256), sigma=6.0, simcc_split_ratio=2.0)
# multi-joint heatmaps (other people at peak 0.5) and normalized target coordinates for the
# DAG branches; no target heatmaps / weights, the SimCC codec supervises the base head
dag_codec = dict(
    type='DAGHeatmap',
    input_size=codec['input_size'],
    heatmap_size=(48, 64),
    sigma=2,
    with_target_heatmaps=False,
)

# model settings
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=dict(
        type='ResNet',
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
    ),
    head=dict(
        type='FGMHGCNHead',
        # the stock SimCC head of the mmpose recipe; its `loss` is unused (DAGLoss below
        # computes the same KL term as `loss_target`)
        pose_cfg=dict(
            type='SimCCHead',
            in_channels=2048,
            out_channels=17,
            input_size=codec['input_size'],
            in_featuremap_size=tuple([s // 32 for s in codec['input_size']]),
            simcc_split_ratio=codec['simcc_split_ratio'],
            loss=dict(type='KLDiscretLoss', use_target_weight=True),
            decoder=codec,
        ),
        # ResNet features are 8x6: three stride-2 deconvolutions bring the multi-joint
        # heatmaps to the 64x48 of `dag_codec` (a mismatch would be resized bilinearly)
        multi_cfg=dict(
            type='HeatmapHead',
            in_channels=2048,
            out_channels=17,
            deconv_out_channels=(256, 256, 256),
            deconv_kernel_sizes=(4, 4, 4),
        ),
        metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
        loss=dict(type='DAGLoss', target_loss=dict(type='KLDiscretLoss', use_target_weight=True)),
    ),
    test_cfg=dict(flip_test=True),
)

# base dataset settings
dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    # the other people of the image, flipped and warped into the crop like the target
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=[codec, dag_codec]),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]

# data loaders
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        bbox_file=f'{data_root}person_detection_results/'
        'COCO_val2017_detections_AP_H_56_person.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline,
    ),
)
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(
    type='CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json'
)
test_evaluator = val_evaluator
