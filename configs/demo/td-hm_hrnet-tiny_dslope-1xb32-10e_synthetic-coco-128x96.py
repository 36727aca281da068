# Demo recipe: D-Slope on the generated occluded-pose data. GNet and ENet are both the plain
# baseline td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py; GNet trains on the clean
# crop, ENet on its occluded twin (body-part patches from the instance pool at the elbows,
# knees and hip centre, a third of the twins clean), each mimicking the other's HRNet stages
# 2-4 and heatmaps (weights 1e-3 for ENet, 1e-5 for GNet, as D-Slope). Evaluation runs ENet.
# The same network trained alone on the twins: td-hm_hrnet-tiny_occ-aug-1xb32-10e_...
_base_ = ['./td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py']

codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5)

# model settings: the two networks are ordinary mmpose models (here the baseline's)
model = dict(
    _delete_=True,
    type='DualSampleEstimator',
    enet={{_base_.model}},
    mode='mutual',
    enet_mimic_weight=1e-3,
    gnet_mimic_weight=1e-5,
)

# pipelines: the twin after the crop, both packed into one (6, H, W) input
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(
        type='OccludedTwin',
        transforms=[
            dict(type='PartPaste', pool='data/synthetic_coco/instance_pool/', num_keypoints=17)
        ],
        clean_prob=1 / 3,
    ),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackDualPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
