# Copyright (c) dag_mmpose contributors. All rights reserved.
from .metrics import OccludedKeypointMetric, OPECCocoMetric
from .occlusion_statistics import max_box_ious, occlusion_statistics

__all__ = ['OPECCocoMetric', 'OccludedKeypointMetric', 'max_box_ious', 'occlusion_statistics']
