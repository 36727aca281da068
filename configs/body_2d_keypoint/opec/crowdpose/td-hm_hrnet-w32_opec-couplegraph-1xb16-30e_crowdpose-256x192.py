# OPEC-Net's CoupleGraph on CrowdPose: the IGP-GCN as a refiner of another model's predictions,
# each person refined together with the person it interacts with (the other prediction of the
# image whose box overlaps its own most, at IoU >= 0.1: our choice, the paper does not say how
# pairs are formed) on a 2K-node graph. The poses come from COCO keypoint result files of the
# base model (here the CrowdPose HRNet-W32 of the OPEC config, whose frozen backbone also gives
# the image features); write them with tools/test.py, e.g. for the train split:
#   BASELINES=configs/body_2d_keypoint/baselines/crowdpose
#   python tools/test.py $BASELINES/td-hm_hrnet-w32_baseline-8xb64-210e_crowdpose-256x192.py \
#       <checkpoint> --cfg-options \
#       test_dataloader.dataset.ann_file=annotations/mmpose_crowdpose_trainval.json \
#       test_dataloader.dataset.bbox_file=None \
#       test_evaluator.ann_file=data/crowdpose/annotations/mmpose_crowdpose_trainval.json \
#       test_evaluator.outfile_prefix=work_dirs/crowdpose_w32_predictions/trainval
# (and .../test with the test split and its detections). Set couple_graph=False and
# with_partner=False for the single-person refiner (docs/opec_net.md).
_base_ = ['./td-hm_hrnet-w32_opec-1xb16-30e_crowdpose-256x192.py']

predictions = 'work_dirs/crowdpose_w32_predictions/'
codec = dict(type='DAGHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

model = dict(
    head=dict(
        _delete_=True,
        type='IGPGCNHead',
        pose_cfg=None,
        num_keypoints=14,
        input_size=codec['input_size'],
        metainfo=dict(from_file='configs/_base_/datasets/crowdpose.py'),
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
        pred_file=predictions + 'trainval.keypoints.json',
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
        pred_file=predictions + 'test.keypoints.json',
        input_size=codec['input_size'],
        with_partner=True,
    ),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
