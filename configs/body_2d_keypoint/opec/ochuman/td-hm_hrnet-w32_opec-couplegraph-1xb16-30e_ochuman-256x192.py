# OPEC-Net's CoupleGraph for OCHuman (pairs of heavily overlapping people): trained on COCO
# train2017 on the predictions of the frozen COCO HRNet-W32, tested on OCHuman's with
# ground-truth boxes; 17 joints and OPEC-Net's 12. Predictions: tools/test.py with
# test_evaluator.outfile_prefix (COCO train, OCHuman val / test), as the CrowdPose CoupleGraph
# config shows.
_base_ = ['./td-hm_hrnet-w32_opec-1xb16-30e_ochuman-256x192.py']

predictions = 'work_dirs/coco_w32_predictions/'
codec = dict(type='DAGHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

model = dict(
    head=dict(
        _delete_=True,
        type='IGPGCNHead',
        pose_cfg=None,
        num_keypoints=17,
        input_size=codec['input_size'],
        metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
        level_channels=(256, 128, 128),
        hidden_channels=128,
        couple_graph=True,
    ),
)

meta_keys = (
    'id',
    'img_id',
    'img_path',
    'category_id',
    'crowd_index',
    'ori_shape',
    'img_shape',
    'input_size',
    'input_center',
    'input_scale',
    'flip',
    'flip_direction',
    'flip_indices',
    'raw_ann_info',
    'dataset_name',
    'initial_keypoints',
    'initial_keypoint_scores',
    'partner_keypoints',
    'partner_keypoint_scores',
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
        pred_file=predictions + 'coco_train.keypoints.json',
        input_size=codec['input_size'],
        with_partner=True,
    ),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]


val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(
        type='LoadInitialPose',
        pred_file=predictions + 'ochuman_val.keypoints.json',
        input_size=codec['input_size'],
        with_partner=True,
    ),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(
        type='LoadInitialPose',
        pred_file=predictions + 'ochuman_test.keypoints.json',
        input_size=codec['input_size'],
        with_partner=True,
    ),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
