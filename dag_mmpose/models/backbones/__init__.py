# Copyright (c) dag_mmpose contributors. All rights reserved.
from .hrnet_stages import HRNetWithStages

__all__ = ['HRNetWithStages']
