# Paper Table 2, row "+ADAM" (COCO val2017, HRNet-W32 256x192; paper AP 74.8): DAG's attention
# part alone. The full DAG config td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py with the
# FGMH-GCN refinement switched off (use_gcn=False: no GCN, no loss_coord; the pose is the
# HeatmapHead's own) and without Mask Joints / Instance Paste. What stays: the ADAM neck, the
# multi-joint heatmaps on F_m (loss_multi, hence GetOtherInstances + DAGHeatmap) and the target
# heatmaps on F_t (loss_target).
_base_ = ['./td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py']

codec = _base_.codec

# model settings: the inherited gcn_cfg, skeleton and coord_loss go unused; refine=False says
# so to the tools (tools/test.py --show-refinement refuses a model that refines nothing)
model = dict(head=dict(use_gcn=False), test_cfg=dict(refine=False))

# pipelines: the DAG config's without its data part
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    # the other annotated people of the image, for the multi-joint heatmaps
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
