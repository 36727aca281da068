# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Synthetic occluded-pose datasets in COCO, CrowdPose and OCHuman layouts.

Draws front-facing, people-like figures (thick limbs, a torso polygon, a head with face
marks, joint markers) on random backgrounds, lets them overlap each other and puts object
occluders on top, and writes JPEG images plus COCO-format keypoint json with visibility
labels (2 visible, 1 hidden by a later person or an occluder, 0 outside the image with
x = y = 0), amodal person boxes and polygon segmentations of each person's visible region.
The files load with mmpose's ``CocoDataset``, ``CrowdPoseDataset`` and ``OCHumanDataset``,
so the whole pipeline can be trained and evaluated end to end in minutes on a CPU.

Everything is seeded: the same arguments give byte-identical json and identical images.
Each image draws from its own random stream derived from (seed, layout, split, index), so
splits never share images and image ``i`` does not depend on how many images are written.

Made to be learnable by a tiny model: figures are front-facing (the person's left is on the
image right when upright), left limbs are lighter with a light center stripe and light joint
markers, right limbs darker with dark ones, the neck marker is green and the nose red.
Note that a horizontal flip keeps the geometry rule (front-facing) but swaps the shading code.

Example:
    >>> import tempfile
    >>> from dag_mmpose.datasets.synthetic import generate_coco_style
    >>> with tempfile.TemporaryDirectory() as root:
    ...     ann_file = generate_coco_style(root, num_images=2, split='val', seed=0)
"""

import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

__all__ = [
    'COCO_KEYPOINT_NAMES',
    'COCO_SKELETON',
    'CROWDPOSE_KEYPOINT_NAMES',
    'CROWDPOSE_SKELETON',
    'FIGURE_POINT_NAMES',
    'LAYOUTS',
    'LayoutSpec',
    'SplitSummary',
    'SyntheticPerson',
    'crowd_index',
    'dataset_cfg',
    'generate_all',
    'generate_coco_style',
    'mask_to_polygons',
    'render_scene',
    'summarize_annotations',
]

COCO_KEYPOINT_NAMES: Tuple[str, ...] = (
    'nose',
    'left_eye',
    'right_eye',
    'left_ear',
    'right_ear',
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
)
# 1-based, as in COCO's person_keypoints json.
COCO_SKELETON: Tuple[Tuple[int, int], ...] = (
    (16, 14),
    (14, 12),
    (17, 15),
    (15, 13),
    (12, 13),
    (6, 12),
    (7, 13),
    (6, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (9, 11),
    (2, 3),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
)

# Names and order of mmpose's configs/_base_/datasets/crowdpose.py ('top_head' is the
# "head" joint of the CrowdPose paper).
CROWDPOSE_KEYPOINT_NAMES: Tuple[str, ...] = (
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
    'top_head',
    'neck',
)
# 1-based, the links of mmpose's crowdpose.py skeleton_info.
CROWDPOSE_SKELETON: Tuple[Tuple[int, int], ...] = (
    (11, 9),
    (9, 7),
    (12, 10),
    (10, 8),
    (7, 8),
    (1, 7),
    (2, 8),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (13, 14),
    (2, 14),
    (1, 14),
)

# Every point a figure has: the COCO joints, then the two extra CrowdPose joints.
FIGURE_POINT_NAMES: Tuple[str, ...] = COCO_KEYPOINT_NAMES + ('top_head', 'neck')
_P = {name: i for i, name in enumerate(FIGURE_POINT_NAMES)}
_SIDES = (('left', 1.0), ('right', -1.0))

# Image ids are ``split code * 10**6 + index + 1``: unique over all splits of a layout.
_SPLIT_CODES = {'train': 1, 'val': 2, 'test': 3, 'trainval': 4}
_MAX_IMAGES = 10**6 - 1
# Annotation ids are ``image id * 100 + person number``.
_MAX_PEOPLE = 99
_SHIFT = 4  # cv2 drawing with 4 fractional bits
_ONE = 1 << _SHIFT
_OCCLUDER = 255  # owner-map value of object occluders; people are 1..n in drawing order

_LIGHT = (235, 250, 255)  # BGR colors of the left / right / center markers
_DARK = (45, 25, 20)
_NECK = (60, 190, 60)
_NOSE = (40, 40, 225)


@dataclass(frozen=True)
class LayoutSpec:
    """How one dataset flavour is laid out on disk and what it annotates.

    Args:
        name (str): ``'coco'``, ``'crowdpose'`` or ``'ochuman'``.
        dataset_type (str): The mmpose dataset class that reads it.
        code (int): A small number that makes the layout part of the random streams.
        keypoint_names (tuple[str]): Annotated joints, in order.
        skeleton (tuple[tuple[int, int]]): 1-based links for the json ``categories``.
        splits (tuple[str]): The splits ``generate_all`` writes.
        ann_file (str): Annotation path under the root, with ``{split}``.
        img_dir (str): Image folder under the root, with ``{split}`` where it has one.
        detection_splits (tuple[str]): Splits that get a person detection file.
        default_num_images (tuple[int]): Images per split of ``splits``.
        default_people (tuple[int, int]): Min / max people per image.
        default_occlusion (float): Occlusion level in [0, 1].
        pairs (bool): People come in heavily overlapping pairs (OCHuman style).
    """

    name: str
    dataset_type: str
    code: int
    keypoint_names: Tuple[str, ...]
    skeleton: Tuple[Tuple[int, int], ...]
    splits: Tuple[str, ...]
    ann_file: str
    img_dir: str
    detection_splits: Tuple[str, ...]
    default_num_images: Tuple[int, ...]
    default_people: Tuple[int, int]
    default_occlusion: float
    pairs: bool = False

    @property
    def point_index(self) -> List[int]:
        """list[int]: Index into :data:`FIGURE_POINT_NAMES` of each annotated joint."""
        return [_P[name] for name in self.keypoint_names]

    def ann_path(self, root: str, split: str) -> str:
        """Path of the annotation json of ``split`` under ``root``."""
        return osp.join(root, self.ann_file.format(split=split))

    def img_path(self, root: str, split: str) -> str:
        """Image folder of ``split`` under ``root`` (what ``data_prefix['img']`` names)."""
        return osp.join(root, self.img_dir.format(split=split))

    @staticmethod
    def detection_path(root: str, split: str) -> str:
        """Path of the person detection file (mmpose's ``bbox_file``) of ``split``."""
        return osp.join(root, 'person_detection_results', f'{split}_detections.json')


LAYOUTS: Dict[str, LayoutSpec] = {
    'coco': LayoutSpec(
        name='coco',
        dataset_type='CocoDataset',
        code=1,
        keypoint_names=COCO_KEYPOINT_NAMES,
        skeleton=COCO_SKELETON,
        splits=('train', 'val', 'test'),
        ann_file='annotations/person_keypoints_{split}.json',
        img_dir='images/{split}',
        detection_splits=('val', 'test'),
        default_num_images=(200, 100, 100),
        default_people=(1, 4),
        default_occlusion=0.5,
    ),
    'crowdpose': LayoutSpec(
        name='crowdpose',
        dataset_type='CrowdPoseDataset',
        code=2,
        keypoint_names=CROWDPOSE_KEYPOINT_NAMES,
        skeleton=CROWDPOSE_SKELETON,
        splits=('trainval', 'test'),
        ann_file='annotations/mmpose_crowdpose_{split}.json',
        img_dir='images',
        detection_splits=('test',),
        default_num_images=(300, 100),
        default_people=(2, 5),
        default_occlusion=0.6,
    ),
    'ochuman': LayoutSpec(
        name='ochuman',
        dataset_type='OCHumanDataset',
        code=3,
        keypoint_names=COCO_KEYPOINT_NAMES,
        skeleton=COCO_SKELETON,
        splits=('val', 'test'),
        ann_file='annotations/ochuman_coco_format_{split}_range_0.00_1.00.json',
        img_dir='images',
        detection_splits=(),
        default_num_images=(100, 100),
        default_people=(2, 4),
        default_occlusion=0.6,
        pairs=True,
    ),
}


@dataclass
class SyntheticPerson:
    """One drawn figure.

    Args:
        points (np.ndarray): (P, 2) image coordinates of the :data:`FIGURE_POINT_NAMES`
            points (cv2 convention: pixel ``i`` is centered at ``i``).
        visibility (np.ndarray): (P, ) 2 visible, 1 hidden by something drawn later,
            0 outside the image.
        bbox (tuple[int, int, int, int]): Amodal box ``(x, y, w, h)`` of the whole figure,
            clipped to the image.
        visible_mask (np.ndarray): (H, W) bool, the pixels that show this figure.
        height (float): Nominal figure height in pixels (head top to ankles when upright).
    """

    points: np.ndarray
    visibility: np.ndarray
    bbox: Tuple[int, int, int, int]
    visible_mask: np.ndarray
    height: float


@dataclass
class SplitSummary:
    """What one annotation file holds.

    Args:
        split (str): Split name.
        ann_file (str): Path of the json.
        num_images (int): Images.
        num_instances (int): Annotated people.
        num_labelled (int): Joints with v > 0.
        num_occluded (int): Joints with v == 1.
        skipped (bool): The file existed and was kept.
    """

    split: str
    ann_file: str
    num_images: int
    num_instances: int
    num_labelled: int
    num_occluded: int
    skipped: bool = False

    @property
    def occluded_fraction(self) -> float:
        """float: Fraction of labelled joints that are occluded (v == 1)."""
        return self.num_occluded / max(self.num_labelled, 1)

    def __str__(self) -> str:
        state = 'kept existing' if self.skipped else 'wrote'
        return (
            f'{self.split}: {state} {self.ann_file} - {self.num_images} images, '
            f'{self.num_instances} instances, {self.num_labelled} labelled joints, '
            f'{self.occluded_fraction:.1%} of them occluded'
        )


# ----------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------


def _fixed(point: np.ndarray) -> Tuple[int, int]:
    """A point as cv2 fixed-point integers (``_SHIFT`` fractional bits)."""
    return int(round(float(point[0]) * _ONE)), int(round(float(point[1]) * _ONE))


def _blend(color: Sequence[float], target: Sequence[float], amount: float) -> Tuple[int, ...]:
    return tuple(int(round(c + (t - c) * amount)) for c, t in zip(color, target))


def _random_color(rng: np.random.Generator, low: int = 30, high: int = 230) -> Tuple[int, ...]:
    return tuple(int(c) for c in rng.integers(low, high + 1, size=3))


@dataclass
class _Figure:
    """A posed figure before it is placed: points relative to the pelvis, style."""

    points: np.ndarray  # (P, 2) relative to the pelvis
    height: float
    tilt: float
    thickness: int
    head_axes: Tuple[float, float]
    colors: Dict[str, Tuple[int, ...]]
    layer_order: Tuple[str, ...]
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))

    @property
    def extent(self) -> np.ndarray:
        """(x0, y0, x1, y1) of the figure relative to the pelvis, with a margin."""
        margin = self.thickness + max(self.head_axes)
        return np.concatenate([self.points.min(0) - margin, self.points.max(0) + margin])

    def box(self) -> np.ndarray:
        """Placed extent (x0, y0, x1, y1) in image coordinates."""
        return self.extent + np.tile(self.offset, 2)


def _sample_figure(rng: np.random.Generator, height: float) -> _Figure:
    """Draw proportions, a pose and colors for one front-facing figure.

    Angles of limbs are measured from "straight down", positive away from the body's
    midline, so ranges are the same for both sides.
    """
    tilt = rng.normal(0.0, 0.12)
    if rng.random() < 0.1:
        tilt = rng.uniform(-0.5, 0.5)
    up = np.array([np.sin(tilt), -np.cos(tilt)])
    right = np.array([np.cos(tilt), np.sin(tilt)])  # the person's left when upright
    h = height
    build = rng.uniform(0.85, 1.15)

    def direction(angle: float, side: float) -> np.ndarray:
        return np.cos(angle) * -up + np.sin(angle) * side * right

    pts = np.zeros((len(FIGURE_POINT_NAMES), 2))
    neck = up * 0.30 * h
    pts[_P['neck']] = neck
    head_center = neck + up * 0.11 * h
    rx, ry = 0.058 * h * rng.uniform(0.9, 1.1), 0.072 * h * rng.uniform(0.9, 1.1)
    pts[_P['top_head']] = head_center + up * ry
    yaw = rng.uniform(-0.35, 0.35)
    pts[_P['nose']] = head_center - up * 0.12 * ry + right * yaw * rx
    for side_name, side in _SIDES:
        pts[_P[f'{side_name}_eye']] = (
            head_center + up * 0.25 * ry + right * (side * 0.4 + yaw * 0.7) * rx
        )
        pts[_P[f'{side_name}_ear']] = head_center + right * side * 0.98 * rx
        shoulder = neck - up * 0.02 * h + right * side * 0.11 * h * build
        hip = right * side * 0.075 * h * build
        arm_angle = rng.uniform(-0.35, 2.8)
        forearm_angle = arm_angle + rng.uniform(-2.2, 2.2)
        thigh_angle = rng.uniform(-0.2, 0.6) if rng.random() > 0.1 else rng.uniform(0.6, 1.6)
        shin_angle = thigh_angle + rng.uniform(-1.0, 0.8)
        elbow = shoulder + direction(arm_angle, side) * 0.16 * h
        knee = hip + direction(thigh_angle, side) * 0.24 * h
        pts[_P[f'{side_name}_shoulder']] = shoulder
        pts[_P[f'{side_name}_hip']] = hip
        pts[_P[f'{side_name}_elbow']] = elbow
        pts[_P[f'{side_name}_wrist']] = elbow + direction(forearm_angle, side) * 0.14 * h
        pts[_P[f'{side_name}_knee']] = knee
        pts[_P[f'{side_name}_ankle']] = knee + direction(shin_angle, side) * 0.23 * h

    shirt, pants = _random_color(rng), _random_color(rng)
    skin = _blend(_random_color(rng, 60, 200), (140, 170, 220), 0.5)
    colors = {
        'shirt': shirt,
        'sleeve_left': _blend(shirt, (255, 255, 255), 0.35),
        'sleeve_right': _blend(shirt, (0, 0, 0), 0.35),
        'leg_left': _blend(pants, (255, 255, 255), 0.35),
        'leg_right': _blend(pants, (0, 0, 0), 0.35),
        'skin': skin,
        'hair': _random_color(rng, 10, 120),
        'mark_left': _LIGHT,
        'mark_right': _DARK,
        'neck_mark': _NECK,
        'nose': _NOSE,
    }
    legs = ('leg_left', 'leg_right') if rng.random() < 0.5 else ('leg_right', 'leg_left')
    arms = ('arm_left', 'arm_right') if rng.random() < 0.5 else ('arm_right', 'arm_left')
    return _Figure(
        points=pts,
        height=h,
        tilt=tilt,
        thickness=max(3, int(round(0.055 * h))),
        head_axes=(rx, ry),
        colors=colors,
        layer_order=legs + ('torso', 'head') + arms + ('markers',),
    )


class _AllSame(dict):
    """A color table that answers one value for every role (to draw masks)."""

    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = (value, value, value)

    def __missing__(self, key: str) -> Tuple[int, int, int]:
        return self.value


def _paint_figure(
    canvas: np.ndarray, fig: _Figure, colors: Mapping[str, Tuple[int, ...]], line_type: int
) -> None:
    """Draw a placed figure; with an :class:`_AllSame` table this draws its mask."""
    pts = fig.points + fig.offset
    t = fig.thickness
    stripe = max(1, t // 4)
    marker = fig.thickness * 0.6 * _ONE

    def limb(a: str, b: str, color: str, mark: str, width: int = t) -> None:
        cv2.line(
            canvas,
            _fixed(pts[_P[a]]),
            _fixed(pts[_P[b]]),
            colors[color],
            width,
            line_type,
            _SHIFT,
        )
        cv2.line(
            canvas, _fixed(pts[_P[a]]), _fixed(pts[_P[b]]), colors[mark], stripe, line_type, _SHIFT
        )

    def dot(name: str, color: str, radius: float) -> None:
        cv2.circle(
            canvas,
            _fixed(pts[_P[name]]),
            max(int(round(radius)), _ONE),
            colors[color],
            -1,
            line_type,
            _SHIFT,
        )

    up = np.array([np.sin(fig.tilt), -np.cos(fig.tilt)])
    right = np.array([np.cos(fig.tilt), np.sin(fig.tilt)])
    rx, ry = fig.head_axes
    angle = float(np.degrees(fig.tilt))
    for layer in fig.layer_order:
        if layer.startswith('leg_'):
            side = layer[4:]
            limb(f'{side}_hip', f'{side}_knee', layer, f'mark_{side}', int(t * 1.2))
            limb(f'{side}_knee', f'{side}_ankle', layer, f'mark_{side}')
        elif layer.startswith('arm_'):
            side = layer[4:]
            limb(f'{side}_shoulder', f'{side}_elbow', f'sleeve_{side}', f'mark_{side}')
            limb(f'{side}_elbow', f'{side}_wrist', f'sleeve_{side}', f'mark_{side}')
        elif layer == 'torso':
            widen = right * 0.03 * fig.height
            corners = [
                pts[_P['right_shoulder']] - widen,
                pts[_P['left_shoulder']] + widen,
                pts[_P['left_hip']] + widen,
                pts[_P['right_hip']] - widen,
            ]
            poly = np.array([_fixed(p) for p in corners], dtype=np.int32)
            cv2.fillPoly(canvas, [poly], colors['shirt'], line_type, _SHIFT)
        elif layer == 'head':
            center = pts[_P['neck']] + up * 0.11 * fig.height
            cv2.line(
                canvas,
                _fixed(pts[_P['neck']]),
                _fixed(center),
                colors['skin'],
                max(2, int(0.05 * fig.height)),
                line_type,
                _SHIFT,
            )
            axes = (int(round(rx * _ONE)), int(round(ry * _ONE)))
            cv2.ellipse(
                canvas, _fixed(center), axes, angle, 0, 360, colors['hair'], -1, line_type, _SHIFT
            )
            face_axes = (int(round(rx * 0.88 * _ONE)), int(round(ry * 0.78 * _ONE)))
            cv2.ellipse(
                canvas,
                _fixed(center - up * 0.2 * ry),
                face_axes,
                angle,
                0,
                360,
                colors['skin'],
                -1,
                line_type,
                _SHIFT,
            )
            for side in ('left', 'right'):
                dot(f'{side}_ear', f'mark_{side}', 0.22 * rx * _ONE)
                dot(f'{side}_eye', f'mark_{side}', 0.16 * rx * _ONE)
            dot('nose', 'nose', 0.16 * rx * _ONE)
        elif layer == 'markers':
            for side in ('left', 'right'):
                for joint in ('shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle'):
                    dot(f'{side}_{joint}', f'mark_{side}', marker)
            dot('neck', 'neck_mark', marker * 0.8)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A random gradient, optional blotches and a few flat shapes."""
    c0 = np.array(_random_color(rng, 0, 255), dtype=np.float32)
    c1 = np.array(_random_color(rng, 0, 255), dtype=np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    xs = np.arange(width, dtype=np.float32) * np.cos(theta)
    ys = np.arange(height, dtype=np.float32) * np.sin(theta)
    ramp = ys[:, None] + xs[None, :]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    img = c0 + (c1 - c0) * ramp[..., None]
    if rng.random() < 0.6:
        coarse = rng.normal(
            0,
            rng.uniform(10, 40),
            size=(4 + int(rng.integers(0, 8)), 4 + int(rng.integers(0, 8)), 3),
        )
        img += cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(1, 7))):
        color = _random_color(rng, 0, 255)
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        size = int(rng.integers(4, max(5, min(width, height) // 3)))
        kind = rng.random()
        if kind < 0.4:
            cv2.circle(img, center, size, color, -1, cv2.LINE_AA)
        elif kind < 0.8:
            cv2.rectangle(
                img,
                center,
                (center[0] + size, center[1] + int(size * rng.uniform(0.3, 2.0))),
                color,
                -1,
            )
        else:
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(img, center, end, color, int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


def _paint_occluder(
    rng: np.random.Generator,
    img: np.ndarray,
    owner: np.ndarray,
    scratch: np.ndarray,
    center: np.ndarray,
    size: float,
) -> None:
    """Draw one object occluder (rectangle, ellipse or polygon; flat, striped or shaded)."""
    scratch[:] = 0
    w = size * rng.uniform(0.4, 1.0)
    h = size * rng.uniform(0.4, 1.0)
    angle = rng.uniform(0, 180) if rng.random() < 0.5 else 0.0
    kind = rng.random()
    if kind < 0.45:
        rect = ((float(center[0]), float(center[1])), (w, h), angle)
        corners = cv2.boxPoints(rect)
        poly = np.round(corners * _ONE).astype(np.int32)
        cv2.fillPoly(scratch, [poly], 1, cv2.LINE_8, _SHIFT)
    elif kind < 0.8:
        axes = (int(w / 2 * _ONE), int(h / 2 * _ONE))
        cv2.ellipse(scratch, _fixed(center), axes, angle, 0, 360, 1, -1, cv2.LINE_8, _SHIFT)
    else:
        n = int(rng.integers(3, 7))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(0.3, 0.6, n) * size
        poly = center + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)
        cv2.fillPoly(scratch, [np.round(poly * _ONE).astype(np.int32)], 1, cv2.LINE_8, _SHIFT)
    ys, xs = np.nonzero(scratch)
    if len(ys) == 0:
        return
    base = np.array(_random_color(rng, 0, 255), dtype=np.float32)
    style = rng.random()
    if style < 0.4:
        colors = np.broadcast_to(base, (len(ys), 3))
    elif style < 0.7:
        other = np.array(_random_color(rng, 0, 255), dtype=np.float32)
        period = rng.uniform(3, 10)
        phase = xs * np.cos(angle) + ys * np.sin(angle)
        colors = np.where(((phase // period) % 2 == 0)[:, None], base, other)
    else:
        other = np.array(_random_color(rng, 0, 255), dtype=np.float32)
        t = (ys - ys.min()) / max(int(np.ptp(ys)), 1)
        colors = base + (other - base) * t[:, None]
    img[ys, xs] = colors.astype(np.uint8)
    owner[ys, xs] = _OCCLUDER


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (x0, y0, x1, y1) boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union)


def _place_free(
    rng: np.random.Generator,
    fig: _Figure,
    placed: List[_Figure],
    width: int,
    height: int,
    truncate: bool,
) -> None:
    """Put ``fig`` where it overlaps the placed figures least (of a few random tries)."""
    x0, y0, x1, y1 = fig.extent
    slack = 0.35 * (x1 - x0) if truncate else 0.0
    slack_y = 0.35 * (y1 - y0) if truncate else 0.0

    def axis_range(lo: float, hi: float, size: int, pad: float) -> Tuple[float, float]:
        low, high = -lo - pad, size - 1 - hi + pad
        if low > high:  # larger than the image: center it
            low = high = (low + high) / 2
        return low, high

    xr = axis_range(x0, x1, width, slack)
    yr = axis_range(y0, y1, height, slack_y)
    best, best_cost = None, np.inf
    for _ in range(12):
        offset = np.array([rng.uniform(*xr), rng.uniform(*yr)])
        fig.offset = offset
        box = fig.box()
        cost = max([_iou(box, other.box()) for other in placed], default=0.0)
        if cost < best_cost:
            best, best_cost = offset, cost
        if cost == 0.0:
            break
    fig.offset = best


def _place_near(
    rng: np.random.Generator,
    fig: _Figure,
    anchor: _Figure,
    width: int,
    height: int,
    min_iou: float,
    max_shift: float,
) -> None:
    """Put ``fig`` overlapping ``anchor`` (box IoU at least ``min_iou`` if possible)."""
    side = 1.0 if rng.random() < 0.5 else -1.0
    shift = rng.uniform(0.05, max_shift)
    x0, y0, x1, y1 = fig.extent
    for _ in range(20):
        dx = side * shift * anchor.height
        dy = rng.uniform(-0.12, 0.12) * anchor.height
        offset = anchor.offset + np.array([dx, dy])
        # Keep the figure inside the image as far as it fits.
        offset[0] = np.clip(offset[0], min(-x0, width - 1 - x1), max(-x0, width - 1 - x1))
        offset[1] = np.clip(offset[1], min(-y0, height - 1 - y1), max(-y0, height - 1 - y1))
        fig.offset = offset
        if _iou(fig.box(), anchor.box()) >= min_iou:
            return
        shift *= 0.7


def render_scene(
    rng: np.random.Generator,
    img_size: Tuple[int, int],
    num_people: int,
    occlusion: float,
    pairs: bool = False,
) -> Tuple[np.ndarray, List[SyntheticPerson]]:
    """Draw one image with ``num_people`` figures, occluders and noise.

    Args:
        rng (np.random.Generator): The random stream of this image.
        img_size (tuple[int, int]): ``(width, height)``.
        num_people (int): Figures to draw.
        occlusion (float): In [0, 1]; the probability that a figure is placed over another
            one, the probability and size of object occluders, and of truncation.
        pairs (bool): Place figures in pairs that overlap heavily (box IoU >= 0.5 where it
            fits), pairs away from each other (OCHuman style).

    Returns:
        tuple[np.ndarray, list[SyntheticPerson]]: The BGR image (H, W, 3) uint8 and the
        figures, in drawing order (later ones in front).
    """
    width, height = img_size
    img = _background(rng, width, height)
    # How crowded this image is varies around the requested level, so that one split has
    # loose and packed scenes (CrowdPose's easy / medium / hard).
    overlap = min(1.0, occlusion * rng.uniform(0.0, 2.0))
    figures: List[_Figure] = []
    for k in range(num_people):
        if pairs and k % 2 == 1:
            scale = figures[-1].height * rng.uniform(0.85, 1.15) / height
        elif pairs:
            scale = rng.uniform(0.4, 0.8)
        else:
            scale = rng.uniform(0.3, 0.8) if k == 0 else rng.uniform(0.3, 0.7)
        fig = _sample_figure(rng, scale * height)
        if pairs and k % 2 == 1:
            _place_near(rng, fig, figures[-1], width, height, 0.5, 0.3)
        elif not pairs and figures and rng.random() < overlap:
            anchor = figures[int(rng.integers(len(figures)))]
            _place_near(rng, fig, anchor, width, height, 0.1, 0.5)
        else:
            truncate = (not pairs) and rng.random() < 0.1 + 0.2 * occlusion
            _place_free(rng, fig, figures, width, height, truncate)
        figures.append(fig)

    # People lower in the picture are nearer: drawn later, in front.
    bottoms = np.array([f.box()[3] for f in figures]) + rng.normal(0, 0.05 * height, len(figures))
    figures = [figures[i] for i in np.argsort(bottoms, kind='stable')]

    owner = np.zeros((height, width), dtype=np.uint8)
    scratch = np.zeros((height, width), dtype=np.uint8)
    boxes = []
    for rank, fig in enumerate(figures, start=1):
        scratch[:] = 0
        _paint_figure(scratch, fig, _AllSame(1), cv2.LINE_8)
        _paint_figure(img, fig, fig.colors, cv2.LINE_AA)
        owner[scratch > 0] = rank
        boxes.append(cv2.boundingRect(scratch))

    # Object occluders: on the people (so they hide joints), and a few anywhere.
    for fig in figures:
        count = int(rng.random() < occlusion) + int(rng.random() < occlusion**2)
        for _ in range(count):
            target = fig.points[int(rng.integers(5, 17))] + fig.offset
            center = target + rng.normal(0, 0.06 * fig.height, 2)
            size = fig.height * rng.uniform(0.12, 0.3) * (0.7 + 0.6 * occlusion)
            _paint_occluder(rng, img, owner, scratch, center, size)
    for _ in range(int(rng.binomial(2, 0.5 * occlusion))):
        center = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        _paint_occluder(rng, img, owner, scratch, center, rng.uniform(0.1, 0.3) * height)

    noise = rng.normal(0.0, rng.uniform(2, 8), size=img.shape).astype(np.float32)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)

    people = []
    for rank, (fig, box) in enumerate(zip(figures, boxes), start=1):
        pts = fig.points + fig.offset
        ix = np.round(pts[:, 0]).astype(int)
        iy = np.round(pts[:, 1]).astype(int)
        inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
        visibility = np.zeros(len(pts), dtype=np.int64)
        # Hidden means covered by something drawn after this figure; a point on the rim of
        # its own drawing (the head top) may land on the background and is still visible.
        covered = owner[iy.clip(0, height - 1), ix.clip(0, width - 1)] > rank
        visibility[inside] = np.where(covered[inside], 1, 2)
        people.append(
            SyntheticPerson(
                points=pts,
                visibility=visibility,
                bbox=tuple(int(v) for v in box),
                visible_mask=owner == rank,
                height=fig.height,
            )
        )
    return img, people


# ----------------------------------------------------------------------------------------
# Annotation
# ----------------------------------------------------------------------------------------


def _offset_contour(pts: np.ndarray, distance: float) -> np.ndarray:
    """Move a closed pixel contour outward by ``distance`` (mitred corners).

    Returns:
        np.ndarray: (M, 2) vertices; a one-pixel-wide spike gets a square end.
    """
    if len(pts) == 1:
        x, y = pts[0]
        d = distance
        return np.array([[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d]])
    nxt = np.roll(pts, -1, axis=0)
    edges = nxt - pts
    lengths = np.linalg.norm(edges, axis=1, keepdims=True)
    tangents = edges / lengths
    signed_area = 0.5 * float(np.sum(pts[:, 0] * nxt[:, 1] - nxt[:, 0] * pts[:, 1]))
    orient = 1.0 if signed_area >= 0 else -1.0
    normals = orient * np.stack([tangents[:, 1], -tangents[:, 0]], axis=1)
    out = []
    for i in range(len(pts)):
        n_in, n_out = normals[i - 1], normals[i]
        cos = float(np.dot(n_in, n_out))
        if cos < -0.999:  # the contour turns back on itself: square end
            t_in = tangents[i - 1]
            out.append(pts[i] + distance * (n_in + t_in))
            out.append(pts[i] + distance * (n_out + t_in))
        else:
            out.append(pts[i] + distance * (n_in + n_out) / (1.0 + cos))
    return np.array(out)


def mask_to_polygons(mask: np.ndarray) -> Tuple[List[List[float]], int]:
    """COCO polygons of a binary mask, and the area they cover.

    Each outer contour (``cv2.findContours``) is moved out by half a pixel so that its
    vertices lie on pixel corners, which is how COCO polygons are rasterised
    (``pycocotools.mask.frPyObjects``): decoding gives back the mask. Holes cannot be
    expressed by COCO polygons and are filled.

    Args:
        mask (np.ndarray): (H, W) mask, non-zero inside.

    Returns:
        tuple[list[list[float]], int]: Flat ``[x1, y1, x2, y2, ...]`` polygons and the
        pixel count of the hole-filled mask they describe (COCO ``area``).
    """
    mask = (mask > 0).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return [], 0
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=-1)
    polygons = []
    for contour in contours:
        pts = contour.reshape(-1, 2).astype(np.float64)
        poly = _offset_contour(pts, 0.5) + 0.5
        polygons.append([round(float(v), 2) for v in poly.reshape(-1)])
    return polygons, int(filled.sum())


def crowd_index(keypoints: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> float:
    """CrowdPose's crowd index of one image.

    The mean over people of (labelled joints of *other* people inside this person's box) /
    (labelled joints of this person).

    Args:
        keypoints (list[np.ndarray]): Per person (K, 3) ``[x, y, v]``.
        boxes (list): Per person ``[x, y, w, h]``.

    Returns:
        float: 0 for a single or no person.
    """
    if len(keypoints) < 2:
        return 0.0
    ratios = []
    for i, (kpts, (x, y, w, h)) in enumerate(zip(keypoints, boxes)):
        own = int(np.count_nonzero(kpts[:, 2] > 0))
        if own == 0:
            continue
        others = 0
        for j, other in enumerate(keypoints):
            if j == i:
                continue
            lab = other[other[:, 2] > 0]
            others += int(
                np.count_nonzero(
                    (lab[:, 0] >= x)
                    & (lab[:, 0] <= x + w)
                    & (lab[:, 1] >= y)
                    & (lab[:, 1] <= y + h)
                )
            )
        ratios.append(others / own)
    return float(np.mean(ratios)) if ratios else 0.0


def _annotation(
    person: SyntheticPerson, layout: LayoutSpec, ann_id: int, image_id: int
) -> Optional[dict]:
    """COCO annotation of one figure; ``None`` if nothing of it can be seen."""
    index = layout.point_index
    vis = person.visibility[index]
    if not np.any(vis == 2):
        return None
    polygons, area = mask_to_polygons(person.visible_mask)
    if not polygons:
        return None
    pts = person.points[index]
    keypoints = []
    for (x, y), v in zip(pts, vis):
        if v == 0:
            keypoints += [0, 0, 0]
        else:
            keypoints += [round(float(x), 2), round(float(y), 2), int(v)]
    return {
        'id': ann_id,
        'image_id': image_id,
        'category_id': 1,
        'keypoints': keypoints,
        'num_keypoints': int(np.count_nonzero(vis)),
        'bbox': [int(v) for v in person.bbox],
        'area': float(area),
        'iscrowd': 0,
        'segmentation': polygons,
    }


def _detections(
    rng: np.random.Generator, annotations: List[dict], image_id: int, img_size: Tuple[int, int]
) -> List[dict]:
    """Fake person detections: jittered ground-truth boxes and a few low-score false ones."""
    width, height = img_size
    dets = []

    def clipped(cx: float, cy: float, w: float, h: float) -> List[float]:
        x0, y0 = max(cx - w / 2, 0.0), max(cy - h / 2, 0.0)
        x1, y1 = min(cx + w / 2, width - 1.0), min(cy + h / 2, height - 1.0)
        return [
            round(x0, 2),
            round(y0, 2),
            round(max(x1 - x0, 1.0), 2),
            round(max(y1 - y0, 1.0), 2),
        ]

    for ann in annotations:
        x, y, w, h = ann['bbox']
        cx = x + w / 2 + rng.normal(0, 0.04 * w)
        cy = y + h / 2 + rng.normal(0, 0.04 * h)
        w, h = w * np.exp(rng.normal(0, 0.06)), h * np.exp(rng.normal(0, 0.06))
        dets.append(
            {
                'image_id': image_id,
                'category_id': 1,
                'bbox': clipped(float(cx), float(cy), float(w), float(h)),
                'score': round(float(rng.uniform(0.6, 0.99)), 4),
            }
        )
    for _ in range(int(rng.binomial(2, 0.3))):
        w, h = rng.uniform(0.1, 0.4) * width, rng.uniform(0.2, 0.6) * height
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        dets.append(
            {
                'image_id': image_id,
                'category_id': 1,
                'bbox': clipped(float(cx), float(cy), float(w), float(h)),
                'score': round(float(rng.uniform(0.02, 0.3)), 4),
            }
        )
    return dets


def _image_rng(
    seed: int, layout: LayoutSpec, split: str, index: int, purpose: int = 0
) -> np.random.Generator:
    """The random stream of one image (``purpose`` 1: its detections)."""
    seq = np.random.SeedSequence(seed, spawn_key=(layout.code, _SPLIT_CODES[split], index, purpose))
    return np.random.default_rng(seq)


def _check_args(
    layout: str,
    split: str,
    num_images: int,
    img_size: Sequence[int],
    people: Sequence[int],
    occlusion: float,
    seed: int,
) -> LayoutSpec:
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, got {layout!r}')
    spec = LAYOUTS[layout]
    if split not in spec.splits:
        raise ValueError(f'the {layout} layout has splits {spec.splits}, got {split!r}')
    if not 0 <= num_images <= _MAX_IMAGES:
        raise ValueError(f'num_images must be in [0, {_MAX_IMAGES}], got {num_images}')
    if len(img_size) != 2 or min(img_size) < 32:
        raise ValueError(f'img_size must be (width, height), each >= 32, got {img_size}')
    if len(people) != 2 or not 1 <= people[0] <= people[1] <= _MAX_PEOPLE:
        raise ValueError(
            f'people must be (min, max) with 1 <= min <= max <= {_MAX_PEOPLE}, got {people}'
        )
    if not 0.0 <= occlusion <= 1.0:
        raise ValueError(f'occlusion must be in [0, 1], got {occlusion}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    return spec


def _write_json(path: str, data: Union[dict, list]) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, separators=(',', ':'))


def generate_coco_style(
    out_dir: str,
    num_images: int,
    split: str = 'train',
    seed: int = 0,
    img_size: Tuple[int, int] = (192, 256),
    people: Optional[Tuple[int, int]] = None,
    occlusion: Optional[float] = None,
    layout: str = 'coco',
    detections: Optional[bool] = None,
    jpeg_quality: int = 92,
) -> str:
    """Write one split of a synthetic dataset: JPEG images and a COCO-format json.

    Paths follow the layout (see :data:`LAYOUTS`): for ``'coco'``
    ``annotations/person_keypoints_{split}.json`` and ``images/{split}/``; for
    ``'crowdpose'`` ``annotations/mmpose_crowdpose_{split}.json`` (with a ``crowdIndex`` per
    image) and ``images/``; for ``'ochuman'``
    ``annotations/ochuman_coco_format_{split}_range_0.00_1.00.json`` and ``images/``.
    Image files are named ``{split}_{index:06d}.jpg``. An existing json is overwritten.

    Args:
        out_dir (str): Dataset root.
        num_images (int): Images to draw.
        split (str): One of the layout's splits (``'train'``, ``'val'``, ``'test'`` for COCO;
            ``'trainval'``, ``'test'`` for CrowdPose; ``'val'``, ``'test'`` for OCHuman).
        seed (int): Base seed; splits and layouts derive their own streams from it.
        img_size (tuple[int, int]): ``(width, height)`` of every image.
        people (tuple[int, int], optional): Min / max people per image (OCHuman: at least
            2, rounded up to even, in overlapping pairs). Defaults to the layout's default.
        occlusion (float, optional): In [0, 1]; how often people overlap and how many and
            how large object occluders are. Defaults to the layout's default.
        layout (str): ``'coco'``, ``'crowdpose'`` or ``'ochuman'``.
        detections (bool, optional): Also write
            ``person_detection_results/{split}_detections.json`` (mmpose ``bbox_file``
            format). Defaults to the layout's detection splits (COCO val / test, CrowdPose
            test).
        jpeg_quality (int): JPEG quality.

    Returns:
        str: Path of the annotation json.
    """
    spec = LAYOUTS.get(layout)
    people = tuple(people if people is not None else (spec.default_people if spec else (1, 1)))
    occlusion = float(
        occlusion if occlusion is not None else (spec.default_occlusion if spec else 0.0)
    )
    spec = _check_args(layout, split, num_images, img_size, people, occlusion, seed)
    if spec.pairs:
        people = (max(2, people[0]), max(2, people[1]))
    width, height = int(img_size[0]), int(img_size[1])
    img_dir = spec.img_path(out_dir, split)
    os.makedirs(img_dir, exist_ok=True)
    if detections is None:
        detections = split in spec.detection_splits

    images, annotations, dets = [], [], []
    for index in range(num_images):
        rng = _image_rng(seed, spec, split, index)
        image_id = _SPLIT_CODES[split] * 10**6 + index + 1
        file_name = f'{split}_{index:06d}.jpg'
        num_people = int(rng.integers(people[0], people[1] + 1))
        if spec.pairs:
            num_people += num_people % 2  # everyone has a partner
        img, persons = render_scene(rng, (width, height), num_people, occlusion, spec.pairs)
        cv2.imwrite(osp.join(img_dir, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        anns = []
        for number, person in enumerate(persons, start=1):
            ann = _annotation(person, spec, image_id * 100 + number, image_id)
            if ann is not None:
                anns.append(ann)
        info = {'id': image_id, 'file_name': file_name, 'width': width, 'height': height}
        if spec.name == 'crowdpose':
            kpts = [np.array(a['keypoints'], dtype=np.float64).reshape(-1, 3) for a in anns]
            info['crowdIndex'] = round(crowd_index(kpts, [a['bbox'] for a in anns]), 4)
        images.append(info)
        annotations += anns
        if detections:
            dets += _detections(
                _image_rng(seed, spec, split, index, purpose=1), anns, image_id, (width, height)
            )

    data = {
        'info': {
            'description': f'dag_mmpose synthetic occluded-pose dataset ({spec.name}, {split})',
            'version': '1.0',
            'generator': 'dag_mmpose.datasets.synthetic',
            'seed': seed,
            'img_size': [width, height],
            'people': list(people),
            'occlusion': occlusion,
        },
        'licenses': [],
        'images': images,
        'annotations': annotations,
        'categories': [
            {
                'supercategory': 'person',
                'id': 1,
                'name': 'person',
                'keypoints': list(spec.keypoint_names),
                'skeleton': [list(link) for link in spec.skeleton],
            }
        ],
    }
    ann_path = spec.ann_path(out_dir, split)
    _write_json(ann_path, data)
    if detections:
        _write_json(spec.detection_path(out_dir, split), dets)
    return ann_path


def summarize_annotations(ann_file: str, split: str = '', skipped: bool = False) -> SplitSummary:
    """Count images, instances and labelled / occluded joints of a COCO keypoint json.

    Args:
        ann_file (str): Path of the json.
        split (str): Split name to report.
        skipped (bool): Mark the summary as "kept existing file".

    Returns:
        SplitSummary: The counts.
    """
    with open(ann_file, encoding='utf-8') as f:
        data = json.load(f)
    labelled = occluded = 0
    for ann in data['annotations']:
        vis = np.asarray(ann['keypoints']).reshape(-1, 3)[:, 2]
        labelled += int(np.count_nonzero(vis > 0))
        occluded += int(np.count_nonzero(vis == 1))
    return SplitSummary(
        split=split,
        ann_file=ann_file,
        num_images=len(data['images']),
        num_instances=len(data['annotations']),
        num_labelled=labelled,
        num_occluded=occluded,
        skipped=skipped,
    )


def generate_all(
    root: str,
    layout: str = 'coco',
    num_images: Optional[Sequence[int]] = None,
    img_size: Tuple[int, int] = (192, 256),
    people: Optional[Tuple[int, int]] = None,
    occlusion: Optional[float] = None,
    seed: int = 0,
    force: bool = False,
) -> List[SplitSummary]:
    """Write every split of one layout under ``root``; keep splits whose json exists.

    Args:
        root (str): Dataset root, e.g. ``data/synthetic_coco``.
        layout (str): ``'coco'`` (train / val / test), ``'crowdpose'`` (trainval / test) or
            ``'ochuman'`` (val / test).
        num_images (Sequence[int], optional): Images per split, one number for all splits or
            one per split in the order above. Defaults to the layout's defaults.
        img_size (tuple[int, int]): ``(width, height)``.
        people (tuple[int, int], optional): Min / max people per image.
        occlusion (float, optional): Occlusion level in [0, 1].
        seed (int): Base seed.
        force (bool): Regenerate splits whose json already exists.

    Returns:
        list[SplitSummary]: One per split, ``skipped`` where an existing file was kept.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, got {layout!r}')
    spec = LAYOUTS[layout]
    counts = list(num_images) if num_images is not None else list(spec.default_num_images)
    if len(counts) == 1:
        counts = counts * len(spec.splits)
    if len(counts) != len(spec.splits):
        raise ValueError(
            f'the {layout} layout has splits {spec.splits}: give one image count '
            f'or {len(spec.splits)}, got {counts}'
        )
    summaries = []
    for split, count in zip(spec.splits, counts):
        ann_path = spec.ann_path(root, split)
        if osp.exists(ann_path) and not force:
            summaries.append(summarize_annotations(ann_path, split, skipped=True))
            continue
        ann_path = generate_coco_style(
            root,
            num_images=count,
            split=split,
            seed=seed,
            img_size=img_size,
            people=people,
            occlusion=occlusion,
            layout=layout,
        )
        summaries.append(summarize_annotations(ann_path, split))
    return summaries


def dataset_cfg(
    root: str, layout: str = 'coco', split: str = 'val', detections: bool = False, **kwargs
) -> dict:
    """An mmpose dataset config (top-down) for one split written by this module.

    Args:
        root (str): Dataset root given to :func:`generate_coco_style` / :func:`generate_all`.
        layout (str): ``'coco'``, ``'crowdpose'`` or ``'ochuman'``.
        split (str): One of the layout's splits.
        detections (bool): Use the split's person detection file as ``bbox_file`` (and
            ``test_mode=True``, which mmpose requires with it).
        **kwargs: Further dataset arguments (``pipeline``, ``test_mode``, ...).

    Returns:
        dict: ``dict(type=..., data_root=..., data_mode='topdown', ann_file=...,
        data_prefix=dict(img=...), [bbox_file=...], **kwargs)`` for
        ``mmpose.registry.DATASETS.build``.

    Example:
        >>> cfg = dataset_cfg('data/synthetic_coco', 'coco', 'val', pipeline=[])
        >>> cfg['ann_file'], cfg['data_prefix']
        ('annotations/person_keypoints_val.json', {'img': 'images/val/'})
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, got {layout!r}')
    spec = LAYOUTS[layout]
    if split not in spec.splits:
        raise ValueError(f'the {layout} layout has splits {spec.splits}, got {split!r}')
    cfg = dict(
        type=spec.dataset_type,
        data_root=root,
        data_mode='topdown',
        ann_file=spec.ann_file.format(split=split),
        data_prefix=dict(img=spec.img_dir.format(split=split) + '/'),
    )
    if detections:
        # mmpose does not join ``bbox_file`` to ``data_root``, and reads it in test mode only.
        cfg['bbox_file'] = spec.detection_path(root, split)
        cfg['test_mode'] = True
    cfg.update(kwargs)
    return cfg


# Filters for pools cut from the generated data: its stick people are smaller (median area
# ~2700 px at 256x192) and overlap more than COCO's, so the COCO defaults keep almost nobody.
DEMO_POOL_FILTERS = dict(min_area=1000, min_keypoints=8, max_overlap=0.5)


def generate_demo_data(
    root: str,
    num_images: Sequence[int] = (600, 100, 100),
    seed: int = 0,
    pool_dir: str = 'instance_pool',
    progress: bool = False,
) -> List[str]:
    """The README's main-job data: the COCO layout plus an instance pool of its train people.

    Both are kept when they already exist, so repeated runs cost nothing.

    Args:
        root (str): Dataset root, e.g. ``data/synthetic_coco``.
        num_images (Sequence[int]): Images of the train / val / test splits.
        seed (int): Base seed.
        pool_dir (str): Pool folder, relative to ``root``, for ``InstancePaste``.
        progress (bool): Show the pool builder's progress bar.

    Returns:
        list[str]: One human-readable line per split and one for the pool.
    """
    from .instance_pool import build_instance_pool, format_summary

    lines = [str(summary) for summary in generate_all(root, 'coco', num_images, seed=seed)]
    pool = osp.join(root, pool_dir)
    if osp.exists(osp.join(pool, 'index.json')):
        lines.append(f'pool: kept existing {pool}')
    else:
        spec = LAYOUTS['coco']
        summary = build_instance_pool(
            spec.ann_path(root, 'train'),
            spec.img_path(root, 'train'),
            pool,
            progress=progress,
            **DEMO_POOL_FILTERS,
        )
        lines.append('pool: ' + format_summary(summary).replace('\n', '; '))
    return lines


def use_demo_data(cfg: Any, root: str, pool_dir: str = 'instance_pool') -> None:
    """Point a COCO-layout config at data written by :func:`generate_demo_data` (in place):
    the three dataloaders, the val / test evaluators and the ``InstancePaste`` pool.

    Args:
        cfg (mmengine.Config): A config such as the demo configs.
        root (str): The root given to :func:`generate_demo_data`.
        pool_dir (str): Its ``pool_dir``.
    """
    root = osp.join(root, '')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    for split in ('val', 'test'):
        cfg[f'{split}_evaluator'].ann_file = LAYOUTS['coco'].ann_path(root, split)
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'InstancePaste':
            step['pool'] = osp.join(root, pool_dir, '')
