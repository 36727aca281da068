# Copyright (c) dag_mmpose contributors. All rights reserved.
from .config import (
    POOL_TRANSFORMS,
    drop_pretrained,
    loader_dataset_cfg,
    pipeline_steps,
)
from .version_check import check_openmmlab_versions, check_version

__all__ = [
    'POOL_TRANSFORMS',
    'check_openmmlab_versions',
    'check_version',
    'drop_pretrained',
    'loader_dataset_cfg',
    'pipeline_steps',
]
