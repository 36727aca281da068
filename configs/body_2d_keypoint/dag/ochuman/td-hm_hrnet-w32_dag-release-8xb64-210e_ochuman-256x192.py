# test only: `python tools/test.py <this> <converted release checkpoint>`
# The authors' released DAG W32 256x192 COCO model (DAG_w32_256x192.pth converted by
# tools/model_converters/dag_release2mmpose.py; the model of
# ../coco/td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py) on OCHuman: ground-truth
# boxes, CocoMetric on the OCHuman json, as td-hm_hrnet-w32_dag-8xb64-210e_ochuman-256x192.py
# evaluates our DAG (the paper's protocol). val_* read OCHuman val, test_* OCHuman test;
# model, pipelines and flip test are the release config's.
_base_ = ['../coco/td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py']

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
