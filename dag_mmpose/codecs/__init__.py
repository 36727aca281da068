# Copyright (c) dag_mmpose contributors. All rights reserved.
from .dag_heatmap import DAGHeatmap
from .legacy_msra_heatmap import LegacyMSRAHeatmap

__all__ = ['DAGHeatmap', 'LegacyMSRAHeatmap']
