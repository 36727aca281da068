# Copyright (c) dag_mmpose contributors. All rights reserved.
from .occluded_keypoint_metric import OccludedKeypointMetric

__all__ = ['OccludedKeypointMetric']
