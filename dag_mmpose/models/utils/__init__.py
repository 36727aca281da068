# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Building blocks shared by the graph refinement heads (FGMH-GCN, IGP-GCN): skeleton graphs,
graph layers (DAG's multi-hop GCN in :mod:`.multi_hop_gcn`, OPEC-Net's SemGCN in
:mod:`.sem_gcn`, what both share in :mod:`.graph_common`), joint-feature sampling and coordinate
frames, and helpers for wrapping a base mmpose head."""

from .graph_common import JointConvBNAct, joint_batch_norm
from .joint_sampling import (
    HeadOutputs,
    RegressedPointSampler,
    flip_normalized,
    flip_pixels,
    heatmap_to_pixels,
    normalized_to_pixels,
    pixels_to_normalized,
    sample_joint_features,
    soft_argmax,
)
from .multi_hop_gcn import (
    GraphConvBNAct,
    JointNonLocal,
    MultiHopGCN,
    MultiHopModulatedGraphConv,
    ResidualGraphBlock,
)
from .norm import batch_statistics
from .sem_gcn import (
    NodeAttention,
    ProgressiveGCN,
    ResidualSemGraphBlock,
    SemGraphConv,
    SemGraphConvBNAct,
    skeleton_mask,
)
from .skeleton_graph import (
    check_skeleton_links,
    couple_links,
    hop_distances,
    k_hop_adjacency,
    multi_hop_adjacencies,
    resolve_skeleton_links,
    skeleton_adjacency,
)
from .wrapped_head import (
    base_head_frame,
    decode_base_pose,
    flip_average_outputs,
    move_base_head_keys,
    outputs_to_pred_fields,
    pose_instances,
    simcc_split_ratio,
)

__all__ = [
    'GraphConvBNAct',
    'HeadOutputs',
    'JointConvBNAct',
    'JointNonLocal',
    'MultiHopGCN',
    'MultiHopModulatedGraphConv',
    'NodeAttention',
    'ProgressiveGCN',
    'RegressedPointSampler',
    'ResidualGraphBlock',
    'ResidualSemGraphBlock',
    'SemGraphConv',
    'SemGraphConvBNAct',
    'base_head_frame',
    'batch_statistics',
    'check_skeleton_links',
    'couple_links',
    'decode_base_pose',
    'flip_average_outputs',
    'flip_normalized',
    'flip_pixels',
    'heatmap_to_pixels',
    'hop_distances',
    'joint_batch_norm',
    'k_hop_adjacency',
    'move_base_head_keys',
    'multi_hop_adjacencies',
    'normalized_to_pixels',
    'outputs_to_pred_fields',
    'pixels_to_normalized',
    'pose_instances',
    'resolve_skeleton_links',
    'sample_joint_features',
    'simcc_split_ratio',
    'skeleton_adjacency',
    'skeleton_mask',
    'soft_argmax',
]
