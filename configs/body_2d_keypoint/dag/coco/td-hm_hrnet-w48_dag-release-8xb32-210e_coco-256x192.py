# DAG as the authors released it, W48 at 256x192 (their `w48_256x192_gcn_adam_lr1e-3.yaml`):
# td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py with the W48 backbone, 8 x 32
# images per step. Validation batches of 16 crops, the release's per-GPU test batch, so that
# `model.test_cfg.gcn_norm_stats=batch` normalizes over the batches it tested with.
_base_ = ['./td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py']

auto_scale_lr = dict(base_batch_size=256)

model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384)),
        ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmpose/'
            'pretrain_models/hrnet_w48-8ef0771d.pth',
        ),
    ),
    neck=dict(in_channels=48),
    head=dict(pose_cfg=dict(in_channels=48), multi_cfg=dict(in_channels=48)),
)

train_dataloader = dict(batch_size=32)
val_dataloader = dict(batch_size=16)
test_dataloader = val_dataloader
