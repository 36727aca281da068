# Copyright (c) dag_mmpose contributors. All rights reserved.
from . import transforms  # noqa: F401
from .instance_pool import InstancePool, InstancePoolWriter  # noqa: F401
from .instance_pool_builder import build_instance_pool, format_summary  # noqa: F401
from .ocpose import OCPoseDataset, convert_ocpose  # noqa: F401
