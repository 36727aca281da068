# Copyright (c) dag_mmpose contributors. All rights reserved.
from .metrics import OccludedKeypointMetric

__all__ = ['OccludedKeypointMetric']
