# DAG as the authors released it, W32 at 384x288 (their `w32_384x288_gcn_adam_lr1e-3.yaml`):
# td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py at the larger input, heatmaps
# 144x192 (2x the backbone's 72x96) with sigma 3 + 1 as released, 8 x 32 images per step.
# Validation batches of 20 crops, the release's per-GPU test batch, so that
# `model.test_cfg.gcn_norm_stats=batch` normalizes over the batches it tested with.
_base_ = ['./td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py']

auto_scale_lr = dict(base_batch_size=256)

codec = dict(
    type='DAGHeatmap',
    input_size=(288, 384),
    heatmap_size=(144, 192),
    sigma=4,
    other_peak=0.5,
    legacy_decode=True,
)

model = dict(head=dict(pose_cfg=dict(decoder=codec)))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='MaskJoints', prob=0.5, num_joints=2, box_size=(0.104, 0.198)),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=20, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
