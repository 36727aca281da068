# Copyright (c) dag_mmpose contributors. All rights reserved.
from .fgmh_gcn_head import FGMHGCNHead
from .gcn import (
    GraphConvBNAct,
    JointNonLocal,
    MultiHopGCN,
    MultiHopModulatedGraphConv,
    ResidualGraphBlock,
    hop_distances,
    k_hop_adjacency,
    multi_hop_adjacencies,
    skeleton_adjacency,
)

__all__ = [
    'FGMHGCNHead',
    'GraphConvBNAct',
    'JointNonLocal',
    'MultiHopGCN',
    'MultiHopModulatedGraphConv',
    'ResidualGraphBlock',
    'hop_distances',
    'k_hop_adjacency',
    'multi_hop_adjacencies',
    'skeleton_adjacency',
]
