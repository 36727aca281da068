# Copyright (c) dag_mmpose contributors. All rights reserved.
from .occluded_keypoint_metric import OccludedKeypointMetric
from .opec_coco_metric import OPECCocoMetric

__all__ = ['OPECCocoMetric', 'OccludedKeypointMetric']
