# Copyright (c) dag_mmpose contributors. All rights reserved.
from .formatting import PackDualPoseInputs
from .initial_pose import LoadInitialPose, load_keypoint_results
from .instance_paste import InstancePaste
from .mask_joints import MaskJoints
from .occluded_twin import OccludedTwin
from .other_instances import GetOtherInstances
from .part_paste import PartPaste

__all__ = [
    'GetOtherInstances',
    'InstancePaste',
    'LoadInitialPose',
    'MaskJoints',
    'OccludedTwin',
    'PackDualPoseInputs',
    'PartPaste',
    'load_keypoint_results',
]
