# Copyright (c) dag_mmpose contributors. All rights reserved.
from .config import drop_pretrained, loader_dataset_cfg, synthetic_dataset_cfg, use_demo_data
from .version_check import check_openmmlab_versions, check_version

__all__ = [
    'check_openmmlab_versions',
    'check_version',
    'drop_pretrained',
    'loader_dataset_cfg',
    'synthetic_dataset_cfg',
    'use_demo_data',
]
