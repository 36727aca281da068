# Copyright (c) dag_mmpose contributors. All rights reserved.
from .instance_paste import InstancePaste
from .mask_joints import MaskJoints
from .other_instances import GetOtherInstances

__all__ = ['GetOtherInstances', 'InstancePaste', 'MaskJoints']
