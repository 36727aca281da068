# OPEC-Net (ECCV 2020) on HRNet-W32 256x192, CrowdPose, as OPEC-Net trains it: the base model
# (mmpose's CrowdPose HRNet-W32, 67.5 AP) frozen, Cascaded Feature Adaption over its stage-4
# maps and the Image-Guided Progressive GCN trained on top for 30 epochs (Adam 1e-3, cosine
# with one warm-up epoch, gradient clipping at 1.0). Test: OPEC-Net's rule (the GCN replaces
# joints whose initial score is below 0.2), scored on CrowdPose's 14 joints and on OPEC-Net's 12
# (head and neck dropped, sigmas[:12], AP .8 / AP .9). Its same-recipe baseline is the base model
# itself: ../../baselines/crowdpose/td-hm_hrnet-w32_baseline-8xb64-210e_crowdpose-256x192.py.
_base_ = ['../../baselines/crowdpose/td-hm_hrnet-w32_baseline-8xb64-210e_crowdpose-256x192.py']

custom_imports = dict(imports=['dag_mmpose'], allow_failed_imports=False)

# the frozen base model (mmpose checkpoint keys load into the wrapped base head)
load_from = (
    'https://download.openmmlab.com/mmpose/top_down/hrnet/'
    'hrnet_w32_crowdpose_256x192-960be101_20201227.pth'
)

# runtime
train_cfg = dict(max_epochs=30, val_interval=5)

# optimizer: only CFA and the GCN learn
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(
        type='LinearLR',
        begin=0,
        end=1,
        start_factor=0.001,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        begin=1,
        end=30,
        T_max=29,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
]
# batch: 16 crops per step at Adam 1e-3 for 30 epochs, the release's setting (its train.sh
# feeds 14 per step at lr 1e-3, the paper 10), so that the GCN gets the release's number of
# updates per epoch: at 8x64 = 512 per step it would get 32x fewer (a 30-epoch schedule of ~9k
# steps on COCO instead of ~280k). On N GPUs the batch is 16N: keep lr 1e-3 (Adam, what we
# recommend up to N = 2) or pass --auto-scale-lr, which scales it by 16N / 16.
auto_scale_lr = dict(base_batch_size=16)

default_hooks = dict(checkpoint=dict(save_best='crowdpose12/AP', rule='greater'))

# the base model's MSRA heatmaps (DAGHeatmap delegates them, bit for bit) plus the joints in
# [-1, 1] for the GCN's L1 terms
codec = dict(type='DAGHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

model = dict(
    # mmpose's HRNet (same weights), also returning stage 4's branches before their fusion:
    # (X4, B4_0 @1/4, B4_1 @1/8, B4_2 @1/16, B4_3 @1/32), frozen whole as OPEC-Net freezes its
    # base. CFA reads B4_2, B4_1 and X4 (the head's input): the maps a plain checkpoint trained
    # for its head, the closest to the release's decoder maps. On the benchmark's frozen base
    # they made the GCN alone +0.037 AP [+0.003, +0.071] better than stage 3's maps (every
    # joint refined; with the 0.2 rule both equal the base; docs/benchmark.md); stage 3:
    # extra_stage_outputs=('stage3',), in_indices=(3, 2, 1)
    backbone=dict(
        type='HRNetWithStages', extra_stage_outputs=('stage4_branches',), frozen_stages=4
    ),
    neck=dict(
        type='CFANeck',
        in_channels=(128, 64, 32),
        in_indices=(3, 2, 0),
        out_channels=(256, 128, 128),
        num_keypoints=14,
        base_index=0,
    ),
    head=dict(
        _delete_=True,
        type='IGPGCNHead',
        pose_cfg=dict(
            type='HeatmapHead',
            in_channels=32,
            out_channels=14,
            deconv_out_channels=None,
            loss=dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=0.5),
            decoder=codec,
        ),
        metainfo=dict(from_file='configs/_base_/datasets/crowdpose.py'),
        level_channels=(256, 128, 128),
        hidden_channels=128,
        freeze_base=True,
    ),
    test_cfg=dict(
        flip_test=True,
        flip_mode='heatmap',
        shift_heatmap=True,
        refine_joints='low_score',
        score_thr=0.2,
    ),
)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))

# CrowdPose's protocol (14 joints) and OPEC-Net's (12 joints, no area, AP .8 / .9)
data_root = 'data/crowdpose/'
twelve_joints = dict(num_keypoints=12, mapping=[(i, i) for i in range(12)])
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
        use_area=False,
        iou_type='keypoints_crowd',
        prefix='crowdpose',
    ),
    dict(
        type='OPECCocoMetric',
        ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
        use_area=False,
        iou_type='keypoints_crowd',
        gt_converter=twelve_joints,
        pred_converter=twelve_joints,
        prefix='crowdpose12',
    ),
    dict(
        type='OccludedKeypointMetric',
        ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
        use_area=False,
    ),
]
test_evaluator = val_evaluator
