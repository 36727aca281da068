# Copyright (c) dag_mmpose contributors. All rights reserved.
from .dag_heatmap import DAGHeatmap

__all__ = ['DAGHeatmap']
