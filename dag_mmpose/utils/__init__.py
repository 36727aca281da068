# Copyright (c) dag_mmpose contributors. All rights reserved.
from .config import drop_pretrained
from .version_check import check_openmmlab_versions, check_version

__all__ = [
    'check_openmmlab_versions',
    'check_version',
    'drop_pretrained',
]
