# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The caps of ``InstancePaste``: how much of the target the pastes of one sample cover."""

from typing import Optional

import numpy as np

from .keypoint_utils import on_mask

__all__ = ['CENTER_BOX', 'PasteCover']

# the target's body centre: the box of this fraction of the crop's width and height around
# the crop centre (a top-down crop is centred on the target's box)
CENTER_BOX = 0.25


class PasteCover:
    """What the pastes of one sample cover of the target: its labelled joints in the crop
    and its body centre (:data:`CENTER_BOX`), against the caps of ``InstancePaste``.

    Args:
        joints (np.ndarray): The target's labelled joints inside the crop, (J, 2).
        width (int): Crop width.
        height (int): Crop height.
        max_joint_cover (float, optional): Largest share of ``joints`` the pastes may
            cover; ``None`` (or no joints): no cap.
        max_center_cover (float, optional): Largest share of the body centre the pastes
            may cover; ``None``: no cap.
    """

    def __init__(
        self,
        joints: np.ndarray,
        width: int,
        height: int,
        max_joint_cover: Optional[float],
        max_center_cover: Optional[float],
    ) -> None:
        self.joints = joints
        self.joint_covered = np.zeros(len(joints), dtype=bool)
        self.max_joint_cover = max_joint_cover if len(joints) else None
        half_w = max(int(round(CENTER_BOX * width / 2)), 1)
        half_h = max(int(round(CENTER_BOX * height / 2)), 1)
        cx, cy = width // 2, height // 2
        self.center = (max(cx - half_w, 0), max(cy - half_h, 0), cx + half_w, cy + half_h)
        x0, y0, x1, y1 = self.center
        self.center_covered = np.zeros((min(y1, height) - y0, min(x1, width) - x0), dtype=bool)
        self.max_center_cover = max_center_cover

    def add(self, mask: np.ndarray, x0: int, y0: int) -> bool:
        """Count a paste whose alpha ``mask`` has its top-left pixel at ``(x0, y0)``; False
        (and nothing counted) when the pastes would then cover more than a cap allows."""
        joints = self.joint_covered
        if self.max_joint_cover is not None:
            joints = joints | on_mask(mask, self.joints - (x0, y0))
            if joints.mean() > self.max_joint_cover + 1e-9:
                return False
        center = self.center_covered
        if self.max_center_cover is not None and center.size:
            cx0, cy0, _, _ = self.center
            ch, cw = center.shape
            # the paste's alpha over the centre box, in the box's frame
            region = np.zeros_like(center)
            sx0, sy0 = max(cx0, x0), max(cy0, y0)
            sx1, sy1 = min(cx0 + cw, x0 + mask.shape[1]), min(cy0 + ch, y0 + mask.shape[0])
            if sx0 < sx1 and sy0 < sy1:
                region[sy0 - cy0 : sy1 - cy0, sx0 - cx0 : sx1 - cx0] = (
                    mask[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] > 0
                )
            center = center | region
            if center.mean() > self.max_center_cover + 1e-9:
                return False
        self.joint_covered, self.center_covered = joints, center
        return True
