# Demo OPEC-Net (ECCV 2020): the plain baseline td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-
# 128x96.py with Cascaded Feature Adaption over HRNet's stage-3 maps and the Image-Guided
# Progressive GCN correcting the base head's pose. Same backbone weights, base head, data,
# schedule and augmentation as the baseline (the "same recipe" of the ablation). OPEC-Net
# trains its GCN on a frozen, trained base model; the benchmark has none, so here both train
# in one run with CFA's inputs detached: the backbone and base head learn from the base loss
# alone, as the baseline does, and CFA + GCN learn on their features.
_base_ = ['./td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py']

# the baseline's MSRAHeatmap targets and decoding (DAGHeatmap delegates both to it, bit for
# bit) plus the target joints in [-1, 1] (`keypoint_coords`) for the GCN's L1 terms; without
# GetOtherInstances its multi-joint heatmaps are the target's and go unused
codec = dict(type='DAGHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5)

model = dict(
    # HRNet as mmpose builds it, also returning stage 3 (X4, X3_0 @1/4, X3_1 @1/8, X3_2 @1/16):
    # three pretrained levels for CFA, while the base head keeps reading X4
    backbone=dict(type='HRNetWithStages', extra_stage_outputs=('stage3',)),
    neck=dict(
        type='CFANeck',
        in_channels=(64, 32, 16),
        in_indices=(3, 2, 1),
        out_channels=(64, 32, 32),
        num_keypoints=17,
        base_index=0,
        detach_inputs=True,
    ),
    head=dict(
        _delete_=True,
        type='IGPGCNHead',
        pose_cfg=dict(
            type='HeatmapHead',
            in_channels=16,
            out_channels=17,
            deconv_out_channels=None,
            loss=dict(type='KeypointMSELoss', use_target_weight=True),
            decoder=codec,
        ),
        metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
        level_channels=(64, 32, 32),
        hidden_channels=64,
    ),
    # OPEC-Net's rule: the GCN replaces the joints whose initial score is below 0.2
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
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
