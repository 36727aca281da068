# Copyright (c) dag_mmpose contributors. All rights reserved.
from .metrics import OccludedKeypointMetric
from .occlusion_statistics import max_box_ious, occlusion_statistics

__all__ = ['OccludedKeypointMetric', 'max_box_ious', 'occlusion_statistics']
