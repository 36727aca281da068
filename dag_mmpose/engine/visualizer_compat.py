# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Let mmpose 1.3's ``PoseLocalVisualizer`` draw keypoints under numpy >= 2.4.

``PoseLocalVisualizer._draw_instances_kpts`` passes ``radius=np.array([r])`` to
``OpencvBackendVisualizer.draw_circles``, which calls ``int(radius)``. numpy 2.4 turned the
long-deprecated conversion of a 1-element, 1-d array to a Python scalar into a
``TypeError``, so every keypoint drawing crashes: ``tools/test.py --show-dir``,
``MMPoseInferencer(...)(..., vis_out_dir=...)`` / ``return_vis=True`` and
``visualizer.add_datasample``. The patch hands ``draw_circles`` a scalar radius when the
opencv backend gets a 1-element array, and is applied only where numpy refuses the
conversion.
"""
import functools

import numpy as np

_PATCHED_FLAG = '_dag_mmpose_scalar_radius'


def _numpy_refuses_size_one_arrays() -> bool:
    try:
        int(np.array([1]))
    except TypeError:
        return True
    return False


def patch_pose_visualizer_radius() -> bool:
    """Patch ``OpencvBackendVisualizer.draw_circles`` once, if numpy needs it.

    Returns:
        bool: Whether the method is patched (now or before).
    """
    from mmpose.visualization.opencv_backend_visualizer import OpencvBackendVisualizer

    original = OpencvBackendVisualizer.draw_circles
    if getattr(original, _PATCHED_FLAG, False):
        return True
    if not _numpy_refuses_size_one_arrays():
        return False

    @functools.wraps(original)
    def draw_circles(self, center, radius, *args, **kwargs):
        if (getattr(self, 'backend', None) == 'opencv' and isinstance(radius, np.ndarray)
                and radius.size == 1):
            radius = radius.item()
        return original(self, center, radius, *args, **kwargs)

    setattr(draw_circles, _PATCHED_FLAG, True)
    OpencvBackendVisualizer.draw_circles = draw_circles
    return True
