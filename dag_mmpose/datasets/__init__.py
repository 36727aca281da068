# Copyright (c) dag_mmpose contributors. All rights reserved.
from . import transforms  # noqa: F401
from .instance_pool import InstancePool, build_instance_pool  # noqa: F401
