# Copyright (c) dag_mmpose contributors. All rights reserved.
from .other_instances import GetOtherInstances

__all__ = ['GetOtherInstances']
