# D-Slope + DAG: dual-sample mutual learning whose two networks are the DAG model
# ../../dag/coco/td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py (HRNet-W32, ADAM neck,
# FGMH-GCN head, DAG loss with multi-joint targets). GNet learns on the clean crop, ENet (the
# DAG model that is evaluated) on the occluded twin. DAG's data part moves into the twin:
# Mask Joints and Instance Paste (p=0.5 each, as in the DAG config) plus D-Slope's body-part
# patches (p=0.5), a third of the twins clean; the targets are the clean crop's, so people
# pasted into the twin do not join the multi-joint heatmaps (our choice: the labels are
# shared by the two samples). Mimicked: HRNet stages 2-4 and the base head's heatmaps
# (head.pose_head.final_layer), weights 1e-3 / 1e-5 as D-Slope.
_base_ = ['../../dag/coco/td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py']

# model settings
model = dict(
    _delete_=True,
    type='DualSampleEstimator',
    enet={{_base_.model}},
    mode='mutual',
    mimic_modules=[
        'backbone.stage2',
        'backbone.stage3',
        'backbone.stage4',
        'head.pose_head.final_layer',
    ],
    enet_mimic_weight=1e-3,
    gnet_mimic_weight=1e-5,
)

# pipelines
pool = 'data/coco/dag_instance_pool/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size={{_base_.codec.input_size}}),
    dict(type='GetOtherInstances', input_size={{_base_.codec.input_size}}),
    dict(
        type='OccludedTwin',
        transforms=[
            dict(type='MaskJoints', prob=0.5, num_joints=2, box_size=(0.104, 0.198)),
            dict(type='InstancePaste', pool=pool, prob=0.5, num_keypoints=17),
            dict(type='PartPaste', pool=pool, prob=0.5, num_keypoints=17),
        ],
        clean_prob=1 / 3,
    ),
    dict(type='GenerateTarget', encoder={{_base_.codec}}),
    dict(type='PackDualPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
