# Same-recipe HRNet-W32 256x192 baseline on OCPose (OPEC-Net's 12 joints, two intertwined people
# per image): the CrowdPose baseline
# ../crowdpose/td-hm_hrnet-w32_baseline-8xb64-210e_crowdpose-256x192.py with 12 output joints,
# trained on OCPose train and tested on OCPose test (the split
# of the OPEC-Net repository's lists; OCPose has no val split, so val reads test as mmpose's
# CrowdPose configs do; choose nothing on it). Make the COCO-format files from the raw
# annotations with tools/dataset_converters/ocpose2coco.py (docs/opec_net.md). Also the base
# model of ../../opec/ocpose/td-hm_hrnet-w32_opec-1xb16-30e_ocpose-256x192.py, which loads its last
# checkpoint (epoch_210.pth: nothing is chosen on test).
_base_ = ['../crowdpose/td-hm_hrnet-w32_baseline-8xb64-210e_crowdpose-256x192.py']

custom_imports = dict(imports=['dag_mmpose'], allow_failed_imports=False)

default_hooks = dict(checkpoint=dict(save_best='ocpose/AP', rule='greater'))

model = dict(head=dict(out_channels=12))

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
