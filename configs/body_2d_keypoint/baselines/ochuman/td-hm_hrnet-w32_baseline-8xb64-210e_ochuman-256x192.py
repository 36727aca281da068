# test only: `python tools/test.py <this> <COCO checkpoint>`
# The same-recipe HRNet-W32 256x192 baseline COCO model (the checkpoint of
# ../coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py) on OCHuman, which has no train split
# (docs/evaluation.md): ground-truth boxes, CocoMetric on the OCHuman json;
# val_dataloader / val_evaluator
# read OCHuman val, test_dataloader / test_evaluator OCHuman test. Model, pipelines and flip test
# are the COCO config's; train_dataloader stays COCO's, so tools/train.py with this file trains the
# COCO model and validates it on OCHuman val.
_base_ = ['../coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py']

# base dataset settings
dataset_type = 'OCHumanDataset'
data_root = 'data/ochuman/'
val_ann_file = 'annotations/ochuman_coco_format_val_range_0.00_1.00.json'
test_ann_file = 'annotations/ochuman_coco_format_test_range_0.00_1.00.json'

# data loaders: ground-truth boxes (no bbox_file), the COCO config's val pipeline
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=val_ann_file,
        bbox_file=None,
        data_prefix=dict(img='images/'),
    )
)
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=test_ann_file,
        bbox_file=None,
        data_prefix=dict(img='images/'),
    )
)

# evaluators
val_evaluator = dict(type='CocoMetric', ann_file=data_root + val_ann_file)
test_evaluator = dict(type='CocoMetric', ann_file=data_root + test_ann_file)
