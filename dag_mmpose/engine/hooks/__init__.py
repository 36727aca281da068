# Copyright (c) dag_mmpose contributors. All rights reserved.
from .refinement_visualization_hook import (
    RefinementVisualizationHook,
    draw_refinement,
    initial_keypoints_in_image,
)

__all__ = ['RefinementVisualizationHook', 'draw_refinement', 'initial_keypoints_in_image']
