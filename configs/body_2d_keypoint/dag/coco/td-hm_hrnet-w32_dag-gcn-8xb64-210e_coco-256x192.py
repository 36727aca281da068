# Paper Table 2, row "+FGMH-GCN" (COCO val2017, HRNet-W32 256x192; paper AP 75.1): DAG's graph
# part alone. The full DAG config td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py without the
# ADAM neck (F_m = F_t = the backbone map), with the multi-joint branch switched off
# (use_multi_branch=False: no multi_head, no loss_multi) and without Mask Joints / Instance
# Paste. What stays: the target heatmaps (loss_target) and the GCN refinement of their pose
# (loss_coord), with the DAG config's GCN, loss weights and refine=True.
_base_ = ['./td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py']

codec = _base_.codec

# model settings: the inherited multi_loss goes unused
model = dict(neck=None, head=dict(use_multi_branch=False))

# pipelines: the DAG config's without its data part and without GetOtherInstances (the other
# people only feed the multi-joint heatmaps). DAGHeatmap makes the target heatmaps (as
# MSRAHeatmap) and the normalized pose for loss_coord.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
