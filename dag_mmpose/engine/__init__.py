# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Runner hooks, registered into mmpose's ``HOOKS``."""

from .hooks import RefinementVisualizationHook, draw_refinement, initial_keypoints_in_image

__all__ = [
    'RefinementVisualizationHook',
    'draw_refinement',
    'initial_keypoints_in_image',
]
