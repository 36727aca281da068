# D-Slope (dual-sample mutual learning) on HRNet-W32, COCO 256x192, as its release starts it.
# GNet is a trained pose network, mmpose's COCO HRNet-W32 (74.4 AP, `gnet_checkpoint`): the
# release's MODEL.TEACHER, which its `distilling` mode freezes (mode='distill' here, the
# release's variant). ENet is the same-recipe baseline network
# ../../baselines/coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py started from that same
# checkpoint (the fine-tuning reading of the release's MODEL.PRETRAINED), as the benchmark
# favours: with GNet the trained base, ENet from the base gained +0.002 AP [-0.002, +0.006] over
# the same network alone on the twins, ENet from the base's initial weights (the ImageNet
# reading) -0.016 AP [-0.068, +0.037] (occ/AP over test images -0.012 [-0.018, -0.005]) at less
# than half the accuracy (`tools/analysis/ablation.py --rows dslope dslope-init`, 4 seeds,
# docs/benchmark.md); trained for the recipe's 210 epochs at Adam 1e-3 (a shorter fine-tune is
# not measured at W32). Its reference is the occ-aug config from the same start
# (`--cfg-options load_from=<the checkpoint below>`). ENet learns on the occluded twin, GNet on
# the clean crop, both from the clean labels, each mimicking the other's HRNet stages 2-4 (every
# branch) and heatmaps, MSE to the other's detached output, weights 1e-3 (ENet) and 1e-5 (GNet)
# as D-Slope, relative to the release's heatmap loss (HRNet's JointsMSELoss: half mmpose's
# KeypointMSELoss, hence loss_weight=0.5). The twin: body-part patches (PartPaste) from the
# COCO instance pool at the elbows, knees and hip centre, a third of the twins clean
# (D-Slope's share; its patch pool was never released). Validation and test run ENet only;
# export it with tools/misc/export_enet.py to use it with the baseline config.
# Two networks per step: about twice the baseline's memory and time (docs/benchmark.md).
# The same network trained alone on the twins: td-hm_hrnet-w32_occ-aug-8xb64-210e_coco-256x192.py
# ENet is the network of the occ-aug config (the baseline, heatmap loss in the release's units)
_base_ = ['./td-hm_hrnet-w32_occ-aug-8xb64-210e_coco-256x192.py']

# model settings
model = dict(
    _delete_=True,
    type='DualSampleEstimator',
    # ENet: the occ-aug network from the same COCO checkpoint as GNet (not ImageNet weights)
    enet=dict(
        _base_.model,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmpose/top_down/hrnet/'
            'hrnet_w32_coco_256x192-c78dce93_20200708.pth',
        ),
        backbone=dict(_base_.model.backbone, init_cfg=None),
    ),
    mode='mutual',
    mimic_modules=[
        'backbone.stage2',
        'backbone.stage3',
        'backbone.stage4',
        'head.final_layer',
    ],
    enet_mimic_weight=1e-3,
    gnet_mimic_weight=1e-5,
    gnet_checkpoint=(
        'https://download.openmmlab.com/mmpose/top_down/hrnet/'
        'hrnet_w32_coco_256x192-c78dce93_20200708.pth'
    ),
)

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size={{_base_.codec.input_size}}),
    # the pool of InstancePaste, built once with `python tools/build_instance_pool.py
    # data/coco/annotations/person_keypoints_train2017.json data/coco/train2017/
    # data/coco/dag_instance_pool/`
    dict(
        type='OccludedTwin',
        transforms=[
            dict(type='PartPaste', pool='data/coco/dag_instance_pool/', num_keypoints=17),
        ],
        clean_prob=1 / 3,
    ),
    dict(type='GenerateTarget', encoder={{_base_.codec}}),
    dict(type='PackDualPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
