# Copyright (c) dag_mmpose contributors. All rights reserved.
from .dual_sample_estimator import (
    DualSampleEstimator,
    default_mimic_modules,
    enet_state_dict,
    export_enet_checkpoint,
)

__all__ = [
    'DualSampleEstimator',
    'default_mimic_modules',
    'enet_state_dict',
    'export_enet_checkpoint',
]
