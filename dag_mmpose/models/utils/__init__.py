# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Building blocks shared by the graph refinement heads (FGMH-GCN, IGP-GCN): skeleton graphs,
graph layers, joint-feature sampling and coordinate frames, and helpers for wrapping a base
mmpose head."""

from .graph_layers import (
    GraphConvBNAct,
    JointNonLocal,
    MultiHopGCN,
    MultiHopModulatedGraphConv,
    NodeAttention,
    ProgressiveGCN,
    ResidualGraphBlock,
    ResidualSemGraphBlock,
    SemGraphConv,
    SemGraphConvBNAct,
    skeleton_mask,
)
from .joint_sampling import (
    HeadOutputs,
    RegressedPointSampler,
    flip_normalized,
    heatmap_to_pixels,
    normalized_to_pixels,
    pixels_to_normalized,
    sample_joint_features,
    soft_argmax,
)
from .norm import batch_statistics
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
    simcc_split_ratio,
)

__all__ = [
    'GraphConvBNAct',
    'HeadOutputs',
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
    'heatmap_to_pixels',
    'hop_distances',
    'k_hop_adjacency',
    'move_base_head_keys',
    'multi_hop_adjacencies',
    'normalized_to_pixels',
    'outputs_to_pred_fields',
    'pixels_to_normalized',
    'resolve_skeleton_links',
    'sample_joint_features',
    'simcc_split_ratio',
    'skeleton_adjacency',
    'skeleton_mask',
    'soft_argmax',
]
