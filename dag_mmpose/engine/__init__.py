# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Runner hooks (registered into mmpose's ``HOOKS``) and a fix that lets mmpose's pose
visualizer draw under numpy >= 2.4 (applied on import, see :mod:`.visualizer_compat`)."""
from .hooks import RefinementVisualizationHook, draw_refinement, initial_keypoints_in_image
from .visualizer_compat import patch_pose_visualizer_radius

patch_pose_visualizer_radius()

__all__ = [
    'RefinementVisualizationHook', 'draw_refinement', 'initial_keypoints_in_image',
    'patch_pose_visualizer_radius'
]
