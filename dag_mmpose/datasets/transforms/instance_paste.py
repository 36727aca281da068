# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Instance Paste: paste segmented people from an instance pool into the top-down crop."""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpose.registry import TRANSFORMS

from ...utils.checks import check_interval, check_number
from ..instance_pool import InstancePool
from .keypoint_utils import check_in_crop, crop_keypoints, labelled_inside_crop
from .paste_cover import PasteCover
from .paste_utils import (
    blend_rgba,
    check_paste_image,
    clipped_box,
    mask_box_side,
    open_pool,
    paste_matrix,
    pooled_body_size,
    shown_keypoints,
    target_body_size,
    warp_rgba,
)
from .pasted_keypoints import (
    append_other_people,
    check_keypoint_mapping,
    map_keypoints,
    paste_num_keypoints,
    pasted_keypoints,
)

# the center of a biased paste lands on a target joint moved by up to this fraction of
# the crop's width / height, so the joint is almost always under the pasted person
_ANCHOR_JITTER = 0.1


@TRANSFORMS.register_module()
class InstancePaste(BaseTransform):
    """Paste people from an instance pool into the crop to simulate person occlusion.

    DAG's *Instance Paste* (section 2.2 of the paper): with probability ``prob``, 1 to n
    people cut out of a segmented dataset (a pool built by ``tools/build_instance_pool.py``,
    format in ``docs/instance_pool.md``) are pasted over the training crop, each with a
    random rotation, scale and position, alpha-blended along its mask with softened edges.
    The target's own annotations are left unchanged, so the network learns to find joints
    hidden by another person; the pasted people's keypoints are appended to
    ``other_keypoints`` so DAG's multi-joint heatmaps contain them too.

    Place it after ``TopdownAffine`` and ``GetOtherInstances`` and before
    ``GenerateTarget``. It works on the crop only: it costs a warp of each pasted person
    into the box it covers and a blend inside that box.

    A pasted person is rotated (``rotation``) about its mask-box center, scaled so that its
    body is ``s`` times the target's body (``s`` from ``scale``; ``scale_reference``) and
    centered, with probability ``overlap_bias``, near a labelled target joint (else anywhere
    in the crop); it may stick out of the crop. A body's size is the longer side of the box
    of its labelled joints (the target's inside the crop; at least 4 joints, else the
    target counts as 0.8 crop heights and the pasted person by its mask box; the target's
    size is held to 0.25-1 crop heights). A pasted joint is labelled only where the pasted
    alpha is non-zero (a joint off the person's mask would be drawn over whatever lies
    there) and inside the crop.

    Pastes cannot bury the target: all pastes of a sample together may cover at most
    ``max_joint_cover`` of the target's labelled joints in the crop and ``max_center_cover``
    of its body centre (the central quarter of the crop's width and height). A paste beyond
    either cap is redrawn (new person, angle, scale and position) up to ``max_redraws``
    times, then skipped. Any image layout and dtype is accepted and kept. The geometry and
    image types in detail: ``docs/instance_pool.md``.

    Required Keys:

        - img
        - transformed_keypoints (optional: the target's joints in crop pixels, written by
          ``TopdownAffine``; the biased paste positions are drawn near them)
        - keypoints (optional: K, and the paste positions when there is no
          ``transformed_keypoints``)
        - keypoints_visible (optional)
        - other_keypoints (optional)
        - other_keypoints_visible (optional; missing with ``other_keypoints`` given means all
          visible, as in ``DAGHeatmap``)

    Modified Keys:

        - img
        - other_keypoints (one (K, 2) row appended per pasted person; created when missing
          and someone is pasted)
        - other_keypoints_visible (one (K,) row per pasted person, 1 for its labelled
          joints inside the crop where its alpha is non-zero, else 0)

    Added Keys:

        - pasted_instances (list[dict]): One dict per pasted person (empty when nothing
          was pasted): ``pool_index`` (int), ``angle`` (float, degrees), ``scale`` (float,
          the drawn ``s``), ``corners`` ((4, 2) float32, the rotated box of the person's
          mask in crop pixels, grown by the half pool pixel a bilinear warp reaches; it
          may lie partly outside the crop) and ``bbox`` ((4,) float32 ``[x1, y1, x2,
          y2]`` of the corners, clipped to the crop). Pixels outside every ``bbox`` are
          left unchanged.

    Args:
        pool (str | InstancePool): The pool folder (``index.json`` + its data file) or an
            opened :class:`~dag_mmpose.datasets.instance_pool.InstancePool`.
        prob (float): Probability of pasting into a sample. Defaults to 0.5, as Mask
            Joints: the released DAG config switches pasting off, so the paper gives no
            value; half of the samples stay clean.
        num_instances (Tuple[int, int]): Min and max people pasted per sample (uniform).
            Defaults to ``(1, 2)``.
        rotation (Tuple[float, float]): Range of the rotation in degrees (uniform).
            Defaults to ``(-30.0, 30.0)``.
        scale (Tuple[float, float]): Range of the pasted person's size relative to the
            reference (uniform). Defaults to ``(0.6, 1.25)``: 0.6 to 1.25 times the target.
        scale_reference (str): ``'body'``: the pasted body's keypoint extent is ``s`` times
            the target's; ``'crop'``: the longer side of the pasted person's mask box is
            ``s`` times the crop height (whatever the target's size; the behaviour before
            body sizes). Defaults to ``'body'``.
        overlap_bias (float): Probability in [0, 1] of centering a paste on a labelled
            target joint rather than anywhere in the crop. Defaults to 0.7.
        edge_softness (float): Sigma in crop pixels of the Gaussian that feathers the
            mask edges (inwards only, so no background of the source image shows).
            0 gives hard edges. Defaults to 1.0.
        num_keypoints (int, optional): K of the dataset, checked against the pool (or
            against ``keypoint_mapping``) at construction, so a pool of other joints fails
            when the pipeline is built (every dag_mmpose config gives it); without it the
            check waits for the first paste, in a dataloader worker. Defaults to ``None``.
        keypoint_mapping (Sequence[Tuple[int, int]], optional): ``(pool index, dataset
            index)`` pairs, like mmpose's ``KeypointConverter``, for a pool whose joints
            differ from the dataset's (e.g. a COCO pool for CrowdPose); dataset joints
            without a pair are unlabelled. ``None`` requires the pool's K to equal the
            dataset's. Defaults to ``None``.
        max_joint_cover (float, optional): Largest share in [0, 1] of the target's labelled
            joints in the crop that the pastes may cover (pasted alpha non-zero there).
            ``None``: no cap. Defaults to 0.5.
        max_center_cover (float, optional): Largest share in [0, 1] of the target's body
            centre the pastes may cover. ``None``: no cap. Defaults to 0.5.
        max_redraws (int): Redraws of a paste beyond a cap before it is skipped. Defaults
            to 3.
        label_pasted (bool): Append the pasted people's keypoints to ``other_keypoints``
            (so DAG's multi-joint heatmaps contain them). ``False`` pastes pixels only, as
            the multi-joint target of the authors' release (whose pasting is off) holds
            annotated people only. Defaults to ``True``.
    """

    def __init__(
        self,
        pool: Union[str, InstancePool],
        prob: float = 0.5,
        num_instances: Tuple[int, int] = (1, 2),
        rotation: Tuple[float, float] = (-30.0, 30.0),
        scale: Tuple[float, float] = (0.6, 1.25),
        overlap_bias: float = 0.7,
        edge_softness: float = 1.0,
        num_keypoints: Optional[int] = None,
        keypoint_mapping: Optional[Sequence[Tuple[int, int]]] = None,
        scale_reference: str = 'body',
        max_joint_cover: Optional[float] = 0.5,
        max_center_cover: Optional[float] = 0.5,
        max_redraws: int = 3,
        label_pasted: bool = True,
    ) -> None:
        super().__init__()
        owner = 'InstancePaste'
        prob = check_number(prob, 'prob', owner, ge=0, le=1)
        num_instances = check_interval(num_instances, 'num_instances', owner, ge=0, integer=True)
        if num_instances[1] < 1:
            raise ValueError(
                f'{owner}: num_instances must be (min, max) with max >= 1, got {num_instances}'
            )
        rotation = check_interval(rotation, 'rotation', owner)
        scale = check_interval(scale, 'scale', owner, gt=0)
        overlap_bias = check_number(overlap_bias, 'overlap_bias', owner, ge=0, le=1)
        edge_softness = check_number(edge_softness, 'edge_softness', owner, ge=0)
        if scale_reference not in ('body', 'crop'):
            raise ValueError(f"scale_reference must be 'body' or 'crop', got {scale_reference!r}")
        if max_joint_cover is not None:
            max_joint_cover = check_number(max_joint_cover, 'max_joint_cover', owner, ge=0, le=1)
        if max_center_cover is not None:
            max_center_cover = check_number(max_center_cover, 'max_center_cover', owner, ge=0, le=1)
        max_redraws = check_number(max_redraws, 'max_redraws', owner, ge=0, integer=True)

        self._pool, self.pool = open_pool(pool)
        self.prob = prob
        self.num_instances = tuple(int(n) for n in num_instances)
        self.rotation = tuple(float(r) for r in rotation)
        self.scale = tuple(float(s) for s in scale)
        self.overlap_bias = overlap_bias
        self.edge_softness = edge_softness
        self.num_keypoints = num_keypoints
        self.scale_reference = scale_reference
        self.max_joint_cover = max_joint_cover
        self.max_center_cover = max_center_cover
        self.max_redraws = int(max_redraws)
        self.label_pasted = bool(label_pasted)
        self.keypoint_mapping = None
        if keypoint_mapping is not None:
            self.keypoint_mapping = [(int(s), int(d)) for s, d in keypoint_mapping]
        check_keypoint_mapping(
            self._pool.num_keypoints, num_keypoints, self.keypoint_mapping, self._where
        )

    @property
    def _where(self) -> str:
        """``InstancePaste(pool=...)``, the start of the errors about the pool."""
        return f'InstancePaste(pool={self.pool!r})'

    @staticmethod
    def _target_joints(results: dict, width: int, height: int) -> np.ndarray:
        """The target's labelled joints inside the crop, (A, 2) (A may be 0)."""
        keypoints = crop_keypoints(results)
        if keypoints is not None and np.size(keypoints):
            visible = results.get('keypoints_visible', None)
            labelled = labelled_inside_crop(keypoints, visible, (width, height), 'InstancePaste')
            return np.asarray(keypoints[0, :, :2], dtype=np.float32)[labelled[0]]
        return np.zeros((0, 2), dtype=np.float32)

    @cache_randomness
    def _get_paste_params(
        self, anchors: np.ndarray, width: int, height: int
    ) -> List[List[Tuple[int, float, float, float, float]]]:
        """Draw what to paste.

        Args:
            anchors (np.ndarray): (A, 2) points a biased paste is centered near.
            width (int): Crop width.
            height (int): Crop height.

        Returns:
            list[list[tuple]]: Per paste its candidates ``(pool index, angle in degrees,
            scale, center x, center y)``: the first within the cover caps is pasted (one
            candidate plus ``max_redraws`` when a cap is set); empty when nothing is pasted.
        """
        if np.random.rand() >= self.prob:
            return []
        num = np.random.randint(self.num_instances[0], self.num_instances[1] + 1)
        capped = self.max_joint_cover is not None or self.max_center_cover is not None
        tries = 1 + (self.max_redraws if capped else 0)
        return [
            [self._draw_paste(anchors, width, height) for _ in range(tries)] for _ in range(num)
        ]

    def _draw_paste(
        self, anchors: np.ndarray, width: int, height: int
    ) -> Tuple[int, float, float, float, float]:
        """One candidate paste (pool index, angle, scale, center x, center y)."""
        index = int(np.random.randint(len(self._pool)))
        angle = float(np.random.uniform(*self.rotation))
        scale = float(np.random.uniform(*self.scale))
        if np.random.rand() < self.overlap_bias:
            anchor = anchors[np.random.randint(len(anchors))]
            jitter = np.random.uniform(-_ANCHOR_JITTER, _ANCHOR_JITTER, size=2)
            cx = float(anchor[0] + jitter[0] * width)
            cy = float(anchor[1] + jitter[1] * height)
        else:
            cx, cy = (float(v) for v in np.random.uniform(0, 1, size=2) * (width, height))
        return index, angle, scale, cx, cy

    def _scale_factor(
        self,
        rgba: np.ndarray,
        keypoints: np.ndarray,
        scale: float,
        target_size: float,
        img_height: int,
    ) -> float:
        """Crop pixels per pool pixel of a paste drawn at ``scale``."""
        if self.scale_reference == 'crop':
            return scale * img_height / mask_box_side(rgba, self._pool.margin)
        return scale * target_size / pooled_body_size(rgba, keypoints, self._pool.margin)

    def _mask_corners(self, crop_shape: Tuple[int, int], matrix: np.ndarray) -> np.ndarray:
        """The (4, 2) corners of the pool person's mask box in image pixels, grown by the
        half pool pixel a bilinear warp reaches (the margin is transparent, so the rest of
        the crop adds nothing)."""
        h, w = crop_shape
        m = self._pool.margin
        corners = np.array(
            [[m - 1, m - 1], [w - m, m - 1], [w - m, h - m], [m - 1, h - m]], dtype=np.float64
        )
        return corners @ matrix[:, :2].T + matrix[:, 2]

    def _paste_first(
        self,
        img: np.ndarray,
        candidates: List[Tuple[int, float, float, float, float]],
        cover: PasteCover,
        target_size: float,
    ) -> Optional[Tuple[dict, np.ndarray, np.ndarray]]:
        """Paste (into ``img``, in place) the first candidate within the cover caps.

        Returns:
            tuple | None: Its ``pasted_instances`` entry, its shown pool keypoints (K_pool, 3)
            and the 2x3 matrix from pool to crop pixels; ``None`` when every candidate is
            beyond a cap. A candidate that lands outside the crop counts as pasted.
        """
        img_h, img_w = img.shape[:2]
        for index, angle, scale, cx, cy in candidates:
            rgba, keypoints = self._pool[index]
            keypoints = shown_keypoints(rgba, keypoints)
            factor = self._scale_factor(rgba, keypoints, scale, target_size, img_h)
            matrix = paste_matrix(rgba.shape[:2], angle, factor, (cx, cy))
            box = self._mask_corners(rgba.shape[:2], matrix)
            x_min, y_min = box.min(axis=0).tolist()
            x_max, y_max = box.max(axis=0).tolist()
            warp = warp_rgba(
                (img_h, img_w),
                rgba,
                matrix,
                (x_min, y_min, x_max, y_max),
                self.edge_softness,
            )
            if warp is not None and not cover.add(*warp[1:]):
                continue  # beyond a cover cap: the next candidate
            if warp is not None:
                blend_rgba(img, *warp, self.edge_softness)
            info = dict(
                pool_index=int(index),
                angle=float(angle),
                scale=float(scale),
                corners=box.astype(np.float32),
                bbox=clipped_box(x_min, y_min, x_max, y_max, img_w, img_h),
            )
            return info, keypoints, matrix
        return None

    def transform(self, results: Dict) -> Optional[dict]:
        """Paste people into ``results['img']`` and append their keypoints.

        Args:
            results (dict): The result dict, after ``TopdownAffine`` (and
                ``GetOtherInstances``).

        Returns:
            dict: The result dict.
        """
        check_in_crop(results, 'InstancePaste')
        img = results['img']
        check_paste_image(img, 'InstancePaste')
        img_h, img_w = img.shape[:2]
        joints = self._target_joints(results, img_w, img_h)
        anchors = joints if len(joints) else np.array([[(img_w - 1) / 2, (img_h - 1) / 2]])
        params = self._get_paste_params(anchors, img_w, img_h)
        results['pasted_instances'] = []
        if not params:
            return results
        num_keypoints, with_keypoints = paste_num_keypoints(
            results,
            self._pool.num_keypoints,
            self.num_keypoints,
            self.keypoint_mapping,
            self.label_pasted,
            self._where,
        )

        img = img.copy()  # the caller's array (maybe a cached image) stays as it was
        cover = PasteCover(joints, img_w, img_h, self.max_joint_cover, self.max_center_cover)
        target_size = target_body_size(joints, img_h)
        new_keypoints, new_visible = [], []
        for candidates in params:
            pasted = self._paste_first(img, candidates, cover, target_size)
            if pasted is None:
                continue
            info, keypoints, matrix = pasted
            results['pasted_instances'].append(info)
            if with_keypoints:
                keypoints = map_keypoints(keypoints, self.keypoint_mapping, num_keypoints)
                points, visible = pasted_keypoints(keypoints, matrix, (img_w, img_h))
                new_keypoints.append(points)
                new_visible.append(visible)
        results['img'] = img
        if with_keypoints and new_keypoints:
            append_other_people(results, new_keypoints, new_visible, num_keypoints, 'InstancePaste')
        return results

    def __repr__(self) -> str:
        """print the basic information of the transform.

        Returns:
            str: Formatted string.
        """
        repr_str = self.__class__.__name__
        repr_str += f'(pool={self.pool!r}, '
        repr_str += f'prob={self.prob}, '
        repr_str += f'num_instances={self.num_instances}, '
        repr_str += f'rotation={self.rotation}, '
        repr_str += f'scale={self.scale}, '
        repr_str += f'overlap_bias={self.overlap_bias}, '
        repr_str += f'edge_softness={self.edge_softness}, '
        repr_str += f'num_keypoints={self.num_keypoints}, '
        repr_str += f'keypoint_mapping={self.keypoint_mapping}, '
        repr_str += f'scale_reference={self.scale_reference!r}, '
        repr_str += f'max_joint_cover={self.max_joint_cover}, '
        repr_str += f'max_center_cover={self.max_center_cover}, '
        repr_str += f'max_redraws={self.max_redraws}, '
        repr_str += f'label_pasted={self.label_pasted})'
        return repr_str
