# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Part Paste: D-Slope's occluders, body-part patches pasted at the target's elbows, knees
and hip centre."""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpose.registry import TRANSFORMS

from ...utils.checks import check_interval, check_number
from ..instance_pool import InstancePool
from .keypoint_utils import check_in_crop, crop_keypoints, labelled_inside_crop
from .paste_utils import (
    blend_rgba,
    check_paste_image,
    clipped_box,
    open_pool,
    paste_matrix,
    pooled_body_size,
    shown_keypoints,
    target_body_size,
    warp_rgba,
)

# COCO's left / right elbow, left / right knee and the hip centre (mean of both hips)
COCO_PART_ANCHORS = ((7,), (8,), (13,), (14,), (11, 12))


@TRANSFORMS.register_module()
class PartPaste(BaseTransform):
    """Paste body-part patches over the target's elbows, knees and hip centre.

    D-Slope's occluded twins are made by pasting body-part patches (RGBA) at the target's
    elbows, knees and hip centre, each about 0.4 times the person's size; its patch pool was
    never released. Here the patches are cut from the people of an instance pool (the one
    ``InstancePaste`` uses, ``docs/instance_pool.md``): a square window around one of a
    pooled person's labelled joints on its mask, ``part_extent`` times that person's body
    size on a side, with the person's mask as alpha, so a patch is a piece of a body (an
    arm, a knee, a hip) and never background.

    With probability ``prob``, ``num_parts`` patches are pasted, each centred on an anchor
    of the target drawn uniformly (a group of ``anchor_joints``: the mean of its labelled
    joints inside the crop; groups with none are not drawn), moved by up to ``jitter``
    times the target's body size, rotated by an angle from ``rotation`` and scaled so that
    the window's side is ``size`` times the target's body size (the longer side of the box
    of its labelled joints, as ``InstancePaste`` measures it). The keypoints and every label
    stay as they are: the patch hides joints, it adds no person. A sample without any
    anchor in the crop is left unchanged (``pasted_parts`` empty).

    Place it after ``TopdownAffine`` (it works in crop pixels), usually inside
    ``OccludedTwin``.

    Required Keys:

        - img
        - transformed_keypoints (optional: the target's joints in crop pixels, written by
          ``TopdownAffine``)
        - keypoints (optional, when there is no ``transformed_keypoints``)
        - keypoints_visible (optional: all joints count as labelled when missing)

    Modified Keys:

        - img

    Added Keys:

        - pasted_parts (list[dict]): One dict per pasted patch: ``pool_index`` (int),
          ``pool_joint`` (int, the pooled person's joint the window is centred on),
          ``anchor`` (int, index into ``anchor_joints``), ``angle`` (float, degrees),
          ``scale`` (float, the drawn ``size``) and ``bbox`` ((4,) float32 ``[x1, y1, x2,
          y2]`` in crop pixels, clipped to the crop: no pixel outside it changed).

    Args:
        pool (str | InstancePool): The pool folder or an opened pool.
        prob (float): Probability of pasting into a sample. Defaults to 1.0 (inside
            ``OccludedTwin``, whose ``clean_prob`` leaves a share of twins clean).
        num_parts (Tuple[int, int]): Min and max patches per sample (uniform). Defaults to
            ``(1, 3)``.
        anchor_joints (Sequence[Sequence[int]]): Groups of target joints whose mean is a
            paste centre. Defaults to COCO's elbows, knees and hip centre
            (:data:`COCO_PART_ANCHORS`); CrowdPose's are ``((2,), (3,), (8,), (9,), (6, 7))``.
        part_extent (float): Side of the window cut from a pooled person, as a fraction of
            its body size. Defaults to 0.4.
        size (Tuple[float, float]): Range of the pasted patch's side as a fraction of the
            target's body size (uniform). Defaults to ``(0.3, 0.5)``, D-Slope's 0.4 times a
            factor.
        rotation (Tuple[float, float]): Range of the rotation in degrees. Defaults to
            ``(-45.0, 45.0)``.
        jitter (float): Largest shift of a patch centre from its anchor, as a fraction of
            the target's body size. Defaults to 0.05.
        edge_softness (float): Sigma in crop pixels of the feathering of the patch edges
            (0: hard edges). Defaults to 1.0.
        num_keypoints (int, optional): K of the dataset: every anchor joint is checked to
            lie below it when the pipeline is built. Defaults to ``None`` (checked on the
            first sample).
    """

    def __init__(
        self,
        pool: Union[str, InstancePool],
        prob: float = 1.0,
        num_parts: Tuple[int, int] = (1, 3),
        anchor_joints: Sequence[Sequence[int]] = COCO_PART_ANCHORS,
        part_extent: float = 0.4,
        size: Tuple[float, float] = (0.3, 0.5),
        rotation: Tuple[float, float] = (-45.0, 45.0),
        jitter: float = 0.05,
        edge_softness: float = 1.0,
        num_keypoints: Optional[int] = None,
    ) -> None:
        super().__init__()
        owner = 'PartPaste'
        prob = check_number(prob, 'prob', owner, ge=0, le=1)
        num_parts = check_interval(num_parts, 'num_parts', owner, ge=1, integer=True)
        groups = [tuple(int(j) for j in group) for group in anchor_joints]
        if not groups or any(not group or min(group) < 0 for group in groups):
            raise ValueError(
                f'anchor_joints must be non-empty groups of joint indices >= 0, got {anchor_joints}'
            )
        if num_keypoints is not None and max(max(g) for g in groups) >= num_keypoints:
            raise ValueError(
                f"PartPaste: anchor_joints {groups} name joints beyond the dataset's "
                f'{num_keypoints} keypoints'
            )
        part_extent = check_number(part_extent, 'part_extent', owner, gt=0)
        size = check_interval(size, 'size', owner, gt=0)
        rotation = check_interval(rotation, 'rotation', owner)
        jitter = check_number(jitter, 'jitter', owner, ge=0)
        edge_softness = check_number(edge_softness, 'edge_softness', owner, ge=0)
        self._pool, self.pool = open_pool(pool)
        if not len(self._pool) or not self._pool.num_keypoints:
            raise ValueError(
                f'PartPaste(pool={self.pool!r}): the pool needs people with keypoints to cut '
                f'parts around, it has {len(self._pool)} people with '
                f'{self._pool.num_keypoints} keypoints'
            )
        self.prob = prob
        self.num_parts = (int(num_parts[0]), int(num_parts[1]))
        self.anchor_joints = groups
        self.part_extent = float(part_extent)
        self.size = (float(size[0]), float(size[1]))
        self.rotation = (float(rotation[0]), float(rotation[1]))
        self.jitter = float(jitter)
        self.edge_softness = float(edge_softness)
        self.num_keypoints = num_keypoints

    def _anchors(
        self, results: dict, width: int, height: int
    ) -> Tuple[np.ndarray, List[int], np.ndarray]:
        """The target's anchors in crop pixels (A, 2), their indices into ``anchor_joints``
        and its labelled joints inside the crop (J, 2)."""
        keypoints = crop_keypoints(results)
        if keypoints is None or not np.size(keypoints):
            return np.zeros((0, 2), np.float32), [], np.zeros((0, 2), np.float32)
        num_keypoints = keypoints.shape[1]
        if max(max(g) for g in self.anchor_joints) >= num_keypoints:
            raise ValueError(
                f'PartPaste: anchor_joints {self.anchor_joints} name joints beyond the '
                f"sample's {num_keypoints} keypoints; give the dataset's elbows, knees and hips"
            )
        labelled = labelled_inside_crop(
            keypoints, results.get('keypoints_visible', None), (width, height), 'PartPaste'
        )[0]
        points = keypoints[0, :, :2]
        anchors, names = [], []
        for index, group in enumerate(self.anchor_joints):
            members = [j for j in group if labelled[j]]
            if members:
                anchors.append(points[members].mean(axis=0))
                names.append(index)
        anchors = np.asarray(anchors, np.float32).reshape(-1, 2)
        return anchors, names, points[labelled]

    @cache_randomness
    def _get_paste_params(self, num_anchors: int) -> List[tuple]:
        """Per patch ``(anchor, pool index, joint draw in [0, 1), angle, size, jitter (2,))``;
        empty when nothing is pasted."""
        if num_anchors == 0 or np.random.rand() >= self.prob:
            return []
        num = np.random.randint(self.num_parts[0], self.num_parts[1] + 1)
        params = []
        for _ in range(num):
            params.append(
                (
                    int(np.random.randint(num_anchors)),
                    int(np.random.randint(len(self._pool))),
                    float(np.random.rand()),
                    float(np.random.uniform(*self.rotation)),
                    float(np.random.uniform(*self.size)),
                    np.random.uniform(-self.jitter, self.jitter, size=2),
                )
            )
        return params

    def _cut_part(self, index: int, joint_draw: float) -> Optional[Tuple[np.ndarray, int]]:
        """The window around a labelled joint (on its mask) of pooled person ``index``:
        its BGRA pixels and the joint; ``None`` when the person has no such joint."""
        rgba, keypoints = self._pool[index]
        keypoints = shown_keypoints(rgba, keypoints)
        joints = np.flatnonzero(keypoints[:, 2] > 0)
        if not len(joints):
            return None
        joint = int(joints[min(int(joint_draw * len(joints)), len(joints) - 1)])
        body = pooled_body_size(rgba, keypoints, self._pool.margin)
        half = max(self.part_extent * body / 2, 1.0)
        x, y = keypoints[joint, :2]
        h, w = rgba.shape[:2]
        x0, y0 = max(int(round(x - half)), 0), max(int(round(y - half)), 0)
        x1, y1 = min(int(round(x + half)) + 1, w), min(int(round(y + half)) + 1, h)
        window = rgba[y0:y1, x0:x1]
        if not window[..., 3].any():
            return None
        return window, joint

    def transform(self, results: Dict) -> Optional[dict]:
        """Paste body-part patches into ``results['img']``.

        Args:
            results (dict): The result dict, after ``TopdownAffine``.

        Returns:
            dict: The result dict.
        """
        check_in_crop(results, 'PartPaste')
        img = results['img']
        check_paste_image(img, 'PartPaste')
        img_h, img_w = img.shape[:2]
        anchors, names, joints = self._anchors(results, img_w, img_h)
        params = self._get_paste_params(len(anchors))
        results['pasted_parts'] = []
        if not params:
            return results
        target_size = target_body_size(joints, img_h)
        img = img.copy()  # the caller's array (maybe a cached image) stays as it was
        for anchor, index, joint_draw, angle, size, jitter in params:
            part = self._cut_part(index, joint_draw)
            if part is None:
                continue
            window, joint = part
            factor = size * target_size / max(window.shape[:2])
            center = anchors[anchor] + jitter * target_size
            matrix = paste_matrix(window.shape[:2], angle, factor, tuple(center))
            h, w = window.shape[:2]
            # the window's pixel edges, grown by the half pixel a bilinear warp reaches
            corners = np.array([[-1, -1], [w, -1], [w, h], [-1, h]], np.float64)
            corners = corners @ matrix[:, :2].T + matrix[:, 2]
            (x_min, y_min), (x_max, y_max) = corners.min(axis=0), corners.max(axis=0)
            warp = warp_rgba(
                (img_h, img_w), window, matrix, (x_min, y_min, x_max, y_max), self.edge_softness
            )
            if warp is None:
                continue
            blend_rgba(img, *warp, self.edge_softness)
            results['pasted_parts'].append(
                dict(
                    pool_index=index,
                    pool_joint=joint,
                    anchor=names[anchor],
                    angle=angle,
                    scale=size,
                    bbox=clipped_box(x_min, y_min, x_max, y_max, img_w, img_h),
                )
            )
        results['img'] = img
        return results

    def __repr__(self) -> str:
        """print the basic information of the transform.

        Returns:
            str: Formatted string.
        """
        repr_str = self.__class__.__name__
        repr_str += f'(pool={self.pool!r}, '
        repr_str += f'prob={self.prob}, '
        repr_str += f'num_parts={self.num_parts}, '
        repr_str += f'anchor_joints={self.anchor_joints}, '
        repr_str += f'part_extent={self.part_extent}, '
        repr_str += f'size={self.size}, '
        repr_str += f'rotation={self.rotation}, '
        repr_str += f'jitter={self.jitter}, '
        repr_str += f'edge_softness={self.edge_softness}, '
        repr_str += f'num_keypoints={self.num_keypoints})'
        return repr_str
