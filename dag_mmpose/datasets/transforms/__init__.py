# Copyright (c) dag_mmpose contributors. All rights reserved.
from .initial_pose import LoadInitialPose, load_keypoint_results
from .instance_paste import InstancePaste
from .mask_joints import MaskJoints
from .other_instances import GetOtherInstances

__all__ = [
    'GetOtherInstances',
    'InstancePaste',
    'LoadInitialPose',
    'MaskJoints',
    'load_keypoint_results',
]
