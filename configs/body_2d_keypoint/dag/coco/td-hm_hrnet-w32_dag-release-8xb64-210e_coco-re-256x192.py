# DAG (release switches, HRNet-W32, 256x192) evaluated on COCO-RE: the DAG paper's relabelling
# of COCO val2017, which adds the occluded joints COCO left unlabelled, flagged v=3 ("labelled
# and occluded"). Only evaluation changes; train with the base config and test a checkpoint:
#
#     python tools/test.py <this config> <checkpoint>
#
# The COCO-RE annotation file is not public: obtain it from the DAG authors and save it as
# data/coco/annotations/person_keypoints_val2017_re.json. The person boxes stay the base
# config's detections (the paper's COCO numbers use them). docs/evaluation.md, "COCO-RE".
_base_ = ['./td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py']

data_root = 'data/coco/'
coco_re_ann_file = 'annotations/person_keypoints_val2017_re.json'

# same images, detections and pipeline as the base; the COCO-RE annotations
val_dataloader = dict(dataset=dict(ann_file=coco_re_ann_file))
test_dataloader = val_dataloader

# CocoMetric counts every v > 0 as labelled (v=3 included); OccludedKeypointMetric counts
# v=1 and v=3 as occluded with visibility_convention='coco-re' (the default 'coco' refuses
# a file holding v=3)
val_evaluator = [
    dict(type='CocoMetric', ann_file=data_root + coco_re_ann_file),
    dict(
        type='OccludedKeypointMetric',
        ann_file=data_root + coco_re_ann_file,
        visibility_convention='coco-re',
    ),
]
test_evaluator = val_evaluator
