# OPEC-Net's CoupleGraph on OCPose (OPEC-Net reports 33.6 mAP with it, 32.8 without): as in the
# paper it runs after OPEC-Net, refining the predictions of
# td-hm_hrnet-w32_opec-1xb16-30e_ocpose-256x192.py, every person together with its partner on the
# 2K-node graph; the frozen backbone of the OCPose baseline
# ../../baselines/ocpose/td-hm_hrnet-w32_baseline-8xb64-210e_ocpose-256x192.py gives the features
# (load_from its last checkpoint). Write the OPEC-Net predictions on train and test with
# tools/test.py and test_evaluator.outfile_prefix, as the CrowdPose CoupleGraph config shows.
_base_ = ['../crowdpose/td-hm_hrnet-w32_opec-couplegraph-1xb16-30e_crowdpose-256x192.py']

# the base model's last checkpoint, in mmpose's default work_dir of (from the repository root)
#   python tools/train.py \
#   configs/body_2d_keypoint/baselines/ocpose/td-hm_hrnet-w32_baseline-8xb64-210e_ocpose-256x192.py
load_from = 'work_dirs/td-hm_hrnet-w32_baseline-8xb64-210e_ocpose-256x192/epoch_210.pth'
predictions = 'work_dirs/ocpose_w32_opec_predictions/'
codec = dict(type='DAGHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

default_hooks = dict(checkpoint=dict(save_best='ocpose/AP', rule='greater'))

model = dict(
    neck=dict(num_keypoints=12),
    head=dict(num_keypoints=12, metainfo=dict(from_file='dag_mmpose/datasets/metainfo/ocpose.py')),
)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(
        type='LoadInitialPose',
        pred_file=predictions + 'train.keypoints.json',
        input_size=codec['input_size'],
        with_partner=True,
    ),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=_base_.meta_keys),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(
        type='LoadInitialPose',
        pred_file=predictions + 'test.keypoints.json',
        input_size=codec['input_size'],
        with_partner=True,
    ),
    dict(type='PackPoseInputs', meta_keys=_base_.meta_keys),
]

dataset_type = 'OCPoseDataset'
data_root = 'data/ocpose/'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/ocpose_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    )
)
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/ocpose_test.json',
        bbox_file=None,
        data_prefix=dict(img='images/'),
        pipeline=val_pipeline,
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
