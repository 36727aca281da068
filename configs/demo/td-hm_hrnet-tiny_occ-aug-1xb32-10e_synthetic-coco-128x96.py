# Demo recipe: the plain baseline trained on D-Slope's occluded twins, alone. Same network,
# schedule and data as td-hm_hrnet-tiny_dslope-1xb32-10e_synthetic-coco-128x96.py, whose
# expert network (ENet) sees exactly these images: OccludedTwin with twin_key='img' puts the
# twin in place of the crop (body-part patches from the instance pool at the elbows, knees
# and hip centre; a third of the crops left clean). So D-Slope's gain over this row is the
# mutual learning, not the augmentation. `python tools/run_demo.py` makes the data and pool.
_base_ = ['./td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py']

codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5)

# pipelines
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
        twin_key='img',
    ),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
