# OPEC-Net on HRNet-W32 256x192, OCPose: CFA + IGP-GCN trained for 30 epochs on the frozen
# OCPose baseline ../../baselines/ocpose/td-hm_hrnet-w32_baseline-8xb64-210e_ocpose-256x192.py
# (train it first: load_from names its last checkpoint; there is no public OCPose model).
# Schedule, test rule and modules as
# ../crowdpose/td-hm_hrnet-w32_opec-1xb16-30e_crowdpose-256x192.py, 12 joints.
_base_ = ['../crowdpose/td-hm_hrnet-w32_opec-1xb16-30e_crowdpose-256x192.py']

# the base model's last checkpoint, in mmpose's default work_dir of (from the repository root)
#   python tools/train.py \
#   configs/body_2d_keypoint/baselines/ocpose/td-hm_hrnet-w32_baseline-8xb64-210e_ocpose-256x192.py
load_from = 'work_dirs/td-hm_hrnet-w32_baseline-8xb64-210e_ocpose-256x192/epoch_210.pth'

default_hooks = dict(checkpoint=dict(save_best='ocpose/AP', rule='greater'))

model = dict(
    neck=dict(num_keypoints=12),
    head=dict(
        pose_cfg=dict(out_channels=12),
        metainfo=dict(from_file='dag_mmpose/datasets/metainfo/ocpose.py'),
    ),
)

dataset_type = 'OCPoseDataset'
data_root = 'data/ocpose/'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/ocpose_train.json',
        data_prefix=dict(img='images/'),
    )
)
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/ocpose_test.json',
        bbox_file=None,
        data_prefix=dict(img='images/'),
    )
)
test_dataloader = val_dataloader

val_evaluator = [
    dict(
        type='OPECCocoMetric',
        ann_file=data_root + 'annotations/ocpose_test.json',
        use_area=False,
        prefix='ocpose',
    ),
    dict(
        type='OccludedKeypointMetric',
        ann_file=data_root + 'annotations/ocpose_test.json',
        use_area=False,
    ),
]
test_evaluator = val_evaluator
