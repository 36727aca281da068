# Copyright (c) dag_mmpose contributors. All rights reserved.
"""One generated person: a random figure (joint positions) and its painting."""

from dataclasses import dataclass, field
from typing import Dict, Mapping, Sequence, Tuple

import cv2
import numpy as np

from .layout import FIGURE_POINT_NAMES, POINT_INDEX, SIDES

SHIFT = 4  # cv2 drawing with 4 fractional bits
ONE = 1 << SHIFT
OCCLUDER = 255  # owner-map value of object occluders; people are 1..n in drawing order

_LIGHT = (235, 250, 255)  # BGR colors of the left / right / center markers
_DARK = (45, 25, 20)
_NECK = (60, 190, 60)
_NOSE = (40, 40, 225)


def to_fixed(point: np.ndarray) -> Tuple[int, int]:
    """A point as cv2 fixed-point integers (``SHIFT`` fractional bits)."""
    return int(round(float(point[0]) * ONE)), int(round(float(point[1]) * ONE))


def _blend(color: Sequence[float], target: Sequence[float], amount: float) -> Tuple[int, ...]:
    return tuple(int(round(c + (t - c) * amount)) for c, t in zip(color, target))


def random_color(rng: np.random.Generator, low: int = 30, high: int = 230) -> Tuple[int, ...]:
    return tuple(int(c) for c in rng.integers(low, high + 1, size=3))


@dataclass
class Figure:
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


def sample_figure(rng: np.random.Generator, height: float) -> Figure:
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
    pts[POINT_INDEX['neck']] = neck
    head_center = neck + up * 0.11 * h
    rx, ry = 0.058 * h * rng.uniform(0.9, 1.1), 0.072 * h * rng.uniform(0.9, 1.1)
    pts[POINT_INDEX['top_head']] = head_center + up * ry
    yaw = rng.uniform(-0.35, 0.35)
    pts[POINT_INDEX['nose']] = head_center - up * 0.12 * ry + right * yaw * rx
    for side_name, side in SIDES:
        pts[POINT_INDEX[f'{side_name}_eye']] = (
            head_center + up * 0.25 * ry + right * (side * 0.4 + yaw * 0.7) * rx
        )
        pts[POINT_INDEX[f'{side_name}_ear']] = head_center + right * side * 0.98 * rx
        shoulder = neck - up * 0.02 * h + right * side * 0.11 * h * build
        hip = right * side * 0.075 * h * build
        arm_angle = rng.uniform(-0.35, 2.8)
        forearm_angle = arm_angle + rng.uniform(-2.2, 2.2)
        thigh_angle = rng.uniform(-0.2, 0.6) if rng.random() > 0.1 else rng.uniform(0.6, 1.6)
        shin_angle = thigh_angle + rng.uniform(-1.0, 0.8)
        elbow = shoulder + direction(arm_angle, side) * 0.16 * h
        knee = hip + direction(thigh_angle, side) * 0.24 * h
        pts[POINT_INDEX[f'{side_name}_shoulder']] = shoulder
        pts[POINT_INDEX[f'{side_name}_hip']] = hip
        pts[POINT_INDEX[f'{side_name}_elbow']] = elbow
        pts[POINT_INDEX[f'{side_name}_wrist']] = elbow + direction(forearm_angle, side) * 0.14 * h
        pts[POINT_INDEX[f'{side_name}_knee']] = knee
        pts[POINT_INDEX[f'{side_name}_ankle']] = knee + direction(shin_angle, side) * 0.23 * h

    shirt, pants = random_color(rng), random_color(rng)
    skin = _blend(random_color(rng, 60, 200), (140, 170, 220), 0.5)
    colors = {
        'shirt': shirt,
        'sleeve_left': _blend(shirt, (255, 255, 255), 0.35),
        'sleeve_right': _blend(shirt, (0, 0, 0), 0.35),
        'leg_left': _blend(pants, (255, 255, 255), 0.35),
        'leg_right': _blend(pants, (0, 0, 0), 0.35),
        'skin': skin,
        'hair': random_color(rng, 10, 120),
        'mark_left': _LIGHT,
        'mark_right': _DARK,
        'neck_mark': _NECK,
        'nose': _NOSE,
    }
    legs = ('leg_left', 'leg_right') if rng.random() < 0.5 else ('leg_right', 'leg_left')
    arms = ('arm_left', 'arm_right') if rng.random() < 0.5 else ('arm_right', 'arm_left')
    return Figure(
        points=pts,
        height=h,
        tilt=tilt,
        thickness=max(3, int(round(0.055 * h))),
        head_axes=(rx, ry),
        colors=colors,
        layer_order=legs + ('torso', 'head') + arms + ('markers',),
    )


class AllSame(dict):
    """A color table that answers one value for every role (to draw masks)."""

    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = (value, value, value)

    def __missing__(self, key: str) -> Tuple[int, int, int]:
        return self.value


def paint_figure(
    canvas: np.ndarray, fig: Figure, colors: Mapping[str, Tuple[int, ...]], line_type: int
) -> None:
    """Draw a placed figure; with an :class:`AllSame` table this draws its mask."""
    pts = fig.points + fig.offset
    t = fig.thickness
    stripe = max(1, t // 4)
    marker = fig.thickness * 0.6 * ONE

    def limb(a: str, b: str, color: str, mark: str, width: int = t) -> None:
        cv2.line(
            canvas,
            to_fixed(pts[POINT_INDEX[a]]),
            to_fixed(pts[POINT_INDEX[b]]),
            colors[color],
            width,
            line_type,
            SHIFT,
        )
        cv2.line(
            canvas,
            to_fixed(pts[POINT_INDEX[a]]),
            to_fixed(pts[POINT_INDEX[b]]),
            colors[mark],
            stripe,
            line_type,
            SHIFT,
        )

    def dot(name: str, color: str, radius: float) -> None:
        cv2.circle(
            canvas,
            to_fixed(pts[POINT_INDEX[name]]),
            max(int(round(radius)), ONE),
            colors[color],
            -1,
            line_type,
            SHIFT,
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
                pts[POINT_INDEX['right_shoulder']] - widen,
                pts[POINT_INDEX['left_shoulder']] + widen,
                pts[POINT_INDEX['left_hip']] + widen,
                pts[POINT_INDEX['right_hip']] - widen,
            ]
            poly = np.array([to_fixed(p) for p in corners], dtype=np.int32)
            cv2.fillPoly(canvas, [poly], colors['shirt'], line_type, SHIFT)
        elif layer == 'head':
            center = pts[POINT_INDEX['neck']] + up * 0.11 * fig.height
            cv2.line(
                canvas,
                to_fixed(pts[POINT_INDEX['neck']]),
                to_fixed(center),
                colors['skin'],
                max(2, int(0.05 * fig.height)),
                line_type,
                SHIFT,
            )
            axes = (int(round(rx * ONE)), int(round(ry * ONE)))
            cv2.ellipse(
                canvas, to_fixed(center), axes, angle, 0, 360, colors['hair'], -1, line_type, SHIFT
            )
            face_axes = (int(round(rx * 0.88 * ONE)), int(round(ry * 0.78 * ONE)))
            cv2.ellipse(
                canvas,
                to_fixed(center - up * 0.2 * ry),
                face_axes,
                angle,
                0,
                360,
                colors['skin'],
                -1,
                line_type,
                SHIFT,
            )
            for side in ('left', 'right'):
                dot(f'{side}_ear', f'mark_{side}', 0.22 * rx * ONE)
                dot(f'{side}_eye', f'mark_{side}', 0.16 * rx * ONE)
            dot('nose', 'nose', 0.16 * rx * ONE)
        elif layer == 'markers':
            for side in ('left', 'right'):
                for joint in ('shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle'):
                    dot(f'{side}_{joint}', f'mark_{side}', marker)
            dot('neck', 'neck_mark', marker * 0.8)
