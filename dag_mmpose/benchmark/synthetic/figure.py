# Copyright (c) dag_mmpose contributors. All rights reserved.
"""One generated person: a posed 3D skeleton, its projection, and its painting.

A person is built in a body frame (x: the person's left, y: up, z: forward, units are
pixels), posed (standing, walking, arms raised, reaching across the body, sitting, bending,
lying), turned to a random viewing direction (front, profile, back) and projected
orthographically. Its body parts are painted far to near, each with a depth, so a figure
hides its own joints (the far arm behind the torso, a hand in front of the face, the face
of a person seen from behind). Nothing marks a joint: left and right limbs share one
clothing color and texture, and joints are found only from the shapes of the parts.
"""

from dataclasses import dataclass, field
from typing import Callable, List, Tuple

import cv2
import numpy as np

from .layout import FIGURE_POINT_NAMES, POINT_INDEX, SIDES

SHIFT = 4  # cv2 drawing with 4 fractional bits
ONE = 1 << SHIFT
OCCLUDER = 255  # owner-map value of object occluders; people are 1..n in drawing order
FACE_POINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'top_head')
POSES = ('stand', 'walk', 'raise', 'reach', 'sit', 'bend', 'lie')
POSE_WEIGHTS = (0.25, 0.2, 0.15, 0.12, 0.12, 0.1, 0.06)
# How much figures vary. 'full' is the benchmark: every pose, seen from any direction.
# 'upright' is its fast setting, learnable on a short CPU schedule: the upright poses only
# (standing, walking, arms raised, reaching across the body), seen from the front or the
# back. Both keep the textures, clutter, occluders and self-occlusion.
VARIETIES = ('full', 'upright')
UPRIGHT_POSE_WEIGHTS = (0.4, 0.3, 0.15, 0.15, 0.0, 0.0, 0.0)


def to_fixed(point: np.ndarray) -> Tuple[int, int]:
    """A point as cv2 fixed-point integers (``SHIFT`` fractional bits)."""
    return int(round(float(point[0]) * ONE)), int(round(float(point[1]) * ONE))


def random_color(rng: np.random.Generator, low: int = 30, high: int = 230) -> Tuple[int, ...]:
    return tuple(int(c) for c in rng.integers(low, high + 1, size=3))


Texture = Callable[[np.ndarray, np.ndarray], np.ndarray]


def random_texture(rng: np.random.Generator, base: Tuple[int, ...]) -> Texture:
    """A function ``(xs, ys) -> (N, 3) float colors``: flat, stripes, checks or noise."""
    base_arr = np.asarray(base, dtype=np.float32)
    other = np.asarray(random_color(rng, 0, 255), dtype=np.float32)
    kind = rng.choice(4, p=(0.35, 0.25, 0.15, 0.25))
    period = rng.uniform(2.5, 8.0)
    theta = rng.uniform(0, np.pi)
    amount = rng.uniform(0.25, 0.7)
    mixed = base_arr + (other - base_arr) * amount
    if kind == 0:
        return _flat(base)
    if kind == 1:

        def stripes(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
            phase = (xs * np.cos(theta) + ys * np.sin(theta)) // period
            return np.where((phase % 2 == 0)[:, None], base_arr, mixed)

        return stripes
    if kind == 2:

        def checks(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
            cell = (xs // period + ys // period) % 2
            return np.where((cell == 0)[:, None], base_arr, mixed)

        return checks
    field_size = 16
    grain = rng.normal(0, rng.uniform(15, 40), size=(field_size, field_size)).astype(np.float32)
    scale = rng.uniform(1.0, 4.0)

    def noise(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        values = grain[(ys / scale).astype(int) % field_size, (xs / scale).astype(int) % field_size]
        return base_arr + values[:, None]

    return noise


@dataclass
class Part:
    """One painted body part.

    Args:
        kind (str): ``'limb'`` (a capsule between two points), ``'torso'`` (a polygon),
            ``'head'`` (an ellipse with a face toward ``facing``), ``'neck'`` (a capsule from
            the neck to the head's center) or ``'blob'`` (a disc).
        points (tuple[str]): Figure points that define its shape.
        width (float): Capsule width or disc radius in pixels.
        depth (float): Distance toward the camera; nearer parts are painted later.
        texture (str): Which of the person's textures fills it.
    """

    kind: str
    points: Tuple[str, ...]
    width: float
    depth: float
    texture: str


@dataclass
class Figure:
    """A posed, projected figure before it is placed: points relative to the pelvis."""

    points: np.ndarray  # (P, 2) image-frame offsets from the pelvis
    depth: np.ndarray  # (P, ) toward the camera, pixels
    height: float
    parts: List[Part]
    textures: dict
    head_radius: float
    facing: np.ndarray  # (3, ) image-frame direction the face points to (x, y, depth)
    roll: float
    pose: str = 'stand'
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))

    @property
    def thickness(self) -> float:
        return max(part.width for part in self.parts if part.kind == 'limb')

    @property
    def extent(self) -> np.ndarray:
        """(x0, y0, x1, y1) of the figure relative to the pelvis, with a margin."""
        margin = max(self.thickness / 2, self.head_radius * 1.3) + 1
        return np.concatenate([self.points.min(0) - margin, self.points.max(0) + margin])

    def box(self) -> np.ndarray:
        """Placed extent (x0, y0, x1, y1) in image coordinates."""
        return self.extent + np.tile(self.offset, 2)

    def joint_tolerance(self) -> np.ndarray:
        """(P, ) how far in front of a point its own surface may lie and still show it:
        half a limb for body joints, a third of the head's radius for face points."""
        tol = np.full(len(self.depth), 0.5 * self.thickness + 0.02 * self.height)
        tol[[POINT_INDEX[name] for name in FACE_POINTS]] = self.head_radius / 3
        return tol


def _limb_direction(flex: float, abduct: float, side: float) -> np.ndarray:
    """Unit vector in the body frame: straight down, swung forward by ``flex`` and away from
    the midline by ``abduct`` (negative crosses the body; ``pi`` points up)."""
    return np.array(
        [side * np.sin(abduct), -np.cos(abduct) * np.cos(flex), np.cos(abduct) * np.sin(flex)]
    )


def _arm_angles(rng: np.random.Generator, pose: str, swing: float) -> Tuple[float, float, float]:
    """(flex, abduct, elbow bend) of one arm."""
    style = pose if pose in ('raise', 'reach') and rng.random() < 0.75 else 'rest'
    if pose == 'walk':
        return swing + rng.normal(0, 0.1), rng.uniform(0.05, 0.3), rng.uniform(0.1, 0.8)
    if style == 'raise':
        return rng.uniform(-0.3, 0.8), rng.uniform(1.3, 3.0), rng.uniform(0.0, 1.6)
    if style == 'reach':
        return rng.uniform(0.6, 1.7), rng.uniform(-0.7, 0.3), rng.uniform(0.0, 1.3)
    if pose == 'sit':
        return rng.uniform(0.2, 1.0), rng.uniform(0.0, 0.4), rng.uniform(0.3, 1.4)
    return rng.uniform(-0.4, 0.5), rng.uniform(0.05, 0.6), rng.uniform(0.0, 1.0)


def _leg_angles(rng: np.random.Generator, pose: str, swing: float) -> Tuple[float, float, float]:
    """(flex, abduct, knee bend) of one leg."""
    if pose == 'walk':
        return swing, rng.uniform(0.0, 0.12), rng.uniform(0.05, 0.7)
    if pose == 'sit':
        return rng.uniform(1.1, 1.7), rng.uniform(0.0, 0.35), rng.uniform(1.0, 1.9)
    if pose == 'bend':
        return rng.uniform(-0.2, 0.2), rng.uniform(0.0, 0.2), rng.uniform(0.0, 0.5)
    return rng.uniform(-0.2, 0.25), rng.uniform(0.0, 0.25), rng.uniform(0.0, 0.3)


def _view_yaw(rng: np.random.Generator, variety: str = 'full') -> float:
    """Viewing direction: mostly front, often profile or three-quarter, sometimes back
    (``'upright'``: front or back only)."""
    kind = rng.random()
    if variety == 'upright':
        turn = 0.0 if kind < 0.7 else np.pi
        return turn + rng.uniform(-0.45, 0.45)
    if kind < 0.35:
        return rng.uniform(-0.45, 0.45)
    if kind < 0.55:
        return np.pi + rng.uniform(-0.45, 0.45)
    return rng.uniform(0.0, 2 * np.pi)


def pose_skeleton(rng: np.random.Generator, height: float, pose: str) -> np.ndarray:
    """(P, 3) points of a posed body in the body frame, pelvis at the origin."""
    h = height
    build = rng.uniform(0.8, 1.25)
    arm_len = rng.uniform(0.9, 1.12)
    leg_len = rng.uniform(0.9, 1.12)
    torso_len = rng.uniform(0.9, 1.1)
    head_size = rng.uniform(0.9, 1.15)
    bend = rng.uniform(0.5, 1.3) if pose == 'bend' else rng.normal(0, 0.08)
    lean = rng.normal(0, 0.08)
    spine = np.array([np.sin(lean), np.cos(bend) * np.cos(lean), np.sin(bend)])
    pts = np.zeros((len(FIGURE_POINT_NAMES), 3))
    neck = spine * 0.30 * h * torso_len
    pts[POINT_INDEX['neck']] = neck
    head_pitch = bend * rng.uniform(0.3, 0.8) + rng.normal(0, 0.15)
    head_up = np.array([spine[0], np.cos(head_pitch), np.sin(head_pitch)])
    head_up /= np.linalg.norm(head_up)
    r = 0.062 * h * head_size
    center = neck + head_up * (0.09 * h + 0.6 * r)
    forward = np.cross(np.array([1.0, 0.0, 0.0]), head_up)  # z when upright
    turn = float(np.clip(rng.normal(0, 0.35), -0.8, 0.8))  # head turned left / right
    lateral = np.array([np.cos(turn), 0.0, -np.sin(turn)])
    forward = np.array([np.sin(turn) * forward[2], forward[1], np.cos(turn) * forward[2]])
    pts[POINT_INDEX['top_head']] = center + head_up * r * 1.1
    pts[POINT_INDEX['nose']] = center + forward * r - head_up * 0.15 * r
    swing = rng.uniform(0.2, 0.55) * (1 if rng.random() < 0.5 else -1)
    for side_name, side in SIDES:
        pts[POINT_INDEX[f'{side_name}_eye']] = (
            center + forward * 0.8 * r + head_up * 0.25 * r + lateral * side * 0.38 * r
        )
        pts[POINT_INDEX[f'{side_name}_ear']] = center + lateral * side * 0.98 * r
        shoulder = neck - spine * 0.03 * h + np.array([side * 0.11 * h * build, 0, 0])
        hip = np.array([side * 0.08 * h * build, 0.0, 0.0])
        flex, abduct, elbow_bend = _arm_angles(rng, pose, -side * swing)
        elbow = shoulder + _limb_direction(flex, abduct, side) * 0.165 * h * arm_len
        fore = _limb_direction(flex + elbow_bend, abduct * rng.uniform(0.5, 1.2), side)
        flex, abduct, knee_bend = _leg_angles(rng, pose, side * swing)
        knee = hip + _limb_direction(flex, abduct, side) * 0.245 * h * leg_len
        shin = _limb_direction(flex - knee_bend, abduct * rng.uniform(0.3, 1.0), side)
        pts[POINT_INDEX[f'{side_name}_shoulder']] = shoulder
        pts[POINT_INDEX[f'{side_name}_elbow']] = elbow
        pts[POINT_INDEX[f'{side_name}_wrist']] = elbow + fore * 0.145 * h * arm_len
        pts[POINT_INDEX[f'{side_name}_hip']] = hip
        pts[POINT_INDEX[f'{side_name}_knee']] = knee
        pts[POINT_INDEX[f'{side_name}_ankle']] = knee + shin * 0.235 * h * leg_len
    return pts


def sample_figure(
    rng: np.random.Generator,
    height: float,
    pose: str = None,
    yaw: float = None,
    variety: str = 'full',
) -> Figure:
    """Draw proportions, a pose, a viewing direction and clothing for one person.

    Args:
        rng (np.random.Generator): The random stream.
        height (float): Nominal standing height in pixels.
        pose (str, optional): One of :data:`POSES`; drawn when not given.
        yaw (float, optional): Turn about the vertical axis (0 faces the camera, ``pi``
            shows the back); drawn when not given.
        variety (str): One of :data:`VARIETIES`: which poses and views are drawn.
    """
    if variety not in VARIETIES:
        raise ValueError(f'variety must be one of {VARIETIES}, got {variety!r}')
    if pose is None:
        weights = POSE_WEIGHTS if variety == 'full' else UPRIGHT_POSE_WEIGHTS
        pose = POSES[int(rng.choice(len(POSES), p=weights))]
    if pose not in POSES:
        raise ValueError(f'pose must be one of {POSES}, got {pose!r}')
    body = pose_skeleton(rng, height, 'walk' if pose == 'lie' and rng.random() < 0.3 else pose)
    yaw = _view_yaw(rng, variety) if yaw is None else float(yaw)
    c, s = np.cos(yaw), np.sin(yaw)
    turned = np.stack(
        [body[:, 0] * c + body[:, 2] * s, body[:, 1], -body[:, 0] * s + body[:, 2] * c]
    )
    roll = rng.normal(0.0, 0.1)
    if pose == 'lie':
        roll = (np.pi / 2 + rng.normal(0, 0.2)) * (1 if rng.random() < 0.5 else -1)
    rot = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    image_xy = np.stack([turned[0], -turned[1]], 1) @ rot.T
    depth = turned[2]

    center_idx = [POINT_INDEX['left_ear'], POINT_INDEX['right_ear']]
    head_center = body[center_idx].mean(0)
    face = body[POINT_INDEX['nose']] - head_center
    face = np.array([face[0] * c + face[2] * s, -face[1], -face[0] * s + face[2] * c])
    face[:2] = rot @ face[:2]
    head_radius = float(np.linalg.norm(body[center_idx[0]] - head_center)) / 0.98

    thickness = max(3.0, 0.06 * height * rng.uniform(0.8, 1.2))
    skin = tuple(int(v) for v in np.array([60, 90, 140]) * rng.uniform(0.5, 1.6))
    skin = tuple(min(255, v + int(rng.integers(0, 40))) for v in skin)
    textures = {
        'shirt': random_texture(rng, random_color(rng, 0, 255)),
        'pants': random_texture(rng, random_color(rng, 0, 200)),
        'skin': random_texture(rng, skin) if rng.random() < 0.2 else _flat(skin),
        'hair': _flat(random_color(rng, 5, 110)),
        'shoe': _flat(random_color(rng, 0, 120)),
    }
    sleeve = 'shirt' if rng.random() < 0.5 else 'skin'
    shin = 'pants' if rng.random() < 0.7 else 'skin'

    def mean_depth(*names: str) -> float:
        return float(np.mean([depth[POINT_INDEX[n]] for n in names]))

    parts = [
        Part(
            'torso',
            ('left_shoulder', 'right_shoulder', 'right_hip', 'left_hip'),
            thickness,
            mean_depth('left_shoulder', 'right_shoulder', 'left_hip', 'right_hip') - 0.02 * height,
            'shirt',
        ),
        Part('neck', ('neck',), 0.55 * thickness, mean_depth('neck') - 0.01, 'skin'),
        Part('head', ('top_head',), head_radius, float(depth[center_idx].mean()), 'hair'),
    ]
    for side, _ in SIDES:
        limbs = (
            ('shoulder', 'elbow', 1.0, 'shirt'),
            ('elbow', 'wrist', 0.85, sleeve),
            ('hip', 'knee', 1.3, 'pants'),
            ('knee', 'ankle', 1.05, shin),
        )
        for a, b, width, texture in limbs:
            names = (f'{side}_{a}', f'{side}_{b}')
            parts.append(Part('limb', names, width * thickness, mean_depth(*names), texture))
        for end, radius, texture in (('wrist', 0.55, 'skin'), ('ankle', 0.6, 'shoe')):
            name = f'{side}_{end}'
            parts.append(Part('blob', (name,), radius * thickness, mean_depth(name), texture))
    parts.sort(key=lambda part: part.depth)  # stable: the torso loses ties with the limbs
    return Figure(
        points=image_xy,
        depth=depth,
        height=height,
        parts=parts,
        textures=textures,
        head_radius=head_radius,
        facing=face / max(float(np.linalg.norm(face)), 1e-6),
        roll=roll,
        pose=pose,
    )


def _flat(color: Tuple[int, ...]) -> Texture:
    arr = np.asarray(color, dtype=np.float32)
    return lambda xs, ys: np.broadcast_to(arr, (len(xs), 3))


def _draw_part(scratch: np.ndarray, part: Part, fig: Figure, pts: np.ndarray, grow: float) -> None:
    """Rasterize one part (grown by ``grow`` pixels) into ``scratch`` as 1s."""
    idx = [POINT_INDEX[name] for name in part.points]
    if part.kind == 'limb':
        width = max(1, int(round(part.width + 2 * grow)))
        cv2.line(scratch, to_fixed(pts[idx[0]]), to_fixed(pts[idx[1]]), 1, width, cv2.LINE_8, SHIFT)
    elif part.kind == 'neck':
        width = max(1, int(round(part.width + 2 * grow)))
        center = to_fixed(head_center(fig, pts))
        cv2.line(scratch, to_fixed(pts[idx[0]]), center, 1, width, cv2.LINE_8, SHIFT)
    elif part.kind == 'blob':
        radius = max(ONE, int(round((part.width / 2 + grow) * ONE)))
        cv2.circle(scratch, to_fixed(pts[idx[0]]), radius, 1, -1, cv2.LINE_8, SHIFT)
    elif part.kind == 'torso':
        corners = pts[idx]
        center = corners.mean(0)
        # Widen the quadrilateral a little and round it with a thick outline.
        corners = center + (corners - center) * 1.08
        poly = np.round(corners * ONE).astype(np.int32)
        cv2.fillPoly(scratch, [poly], 1, cv2.LINE_8, SHIFT)
        width = max(1, int(round(part.width * 0.8 + 2 * grow)))
        cv2.polylines(scratch, [poly], True, 1, width, cv2.LINE_8, SHIFT)
    else:  # head
        center = head_center(fig, pts)
        axes = (int(round((fig.head_radius + grow) * ONE)),) * 2
        axes = (axes[0], int(round((fig.head_radius * 1.15 + grow) * ONE)))
        angle = float(np.degrees(fig.roll))
        cv2.ellipse(scratch, to_fixed(center), axes, angle, 0, 360, 1, -1, cv2.LINE_8, SHIFT)


def head_center(fig: Figure, pts: np.ndarray) -> np.ndarray:
    """Image position of the head's center (between the ears)."""
    return pts[[POINT_INDEX['left_ear'], POINT_INDEX['right_ear']]].mean(0)


def paint_figure(
    img: np.ndarray,
    owner: np.ndarray,
    zbuf: np.ndarray,
    scratch: np.ndarray,
    fig: Figure,
    rank: int,
) -> np.ndarray:
    """Paint a placed figure far part to near part.

    Writes colors into ``img``, ``rank`` into ``owner`` and each part's depth into
    ``zbuf`` (all (H, W)); ``scratch`` is a (H, W) uint8 work buffer. Returns the (H, W)
    bool mask of every pixel the figure covers.
    """
    pts = fig.points + fig.offset
    covered = np.zeros(owner.shape, dtype=bool)
    lo = fig.depth.min()
    span = max(float(np.ptp(fig.depth)), 1.0)
    for part in fig.parts:
        scratch[:] = 0
        _draw_part(scratch, part, fig, pts, grow=0.0)
        ys, xs = np.nonzero(scratch)
        if len(ys) == 0:
            continue
        shade = 0.8 + 0.25 * (part.depth - lo) / span  # nearer parts a little brighter
        colors = fig.textures[part.texture](xs, ys) * shade
        # A darker rim on the part's border separates it from same-colored parts behind.
        border = cv2.erode(scratch, np.ones((3, 3), np.uint8))[ys, xs] == 0
        colors = np.where(border[:, None], colors * 0.6, colors)
        img[ys, xs] = np.clip(colors, 0, 255).astype(np.uint8)
        owner[ys, xs] = rank
        zbuf[ys, xs] = part.depth
        covered[ys, xs] = True
        if part.kind == 'head':
            _paint_face(img, scratch > 0, fig, pts, shade)
    return covered


def hidden_by_itself(fig: Figure, zbuf: np.ndarray) -> np.ndarray:
    """(P, ) bool: points a nearer part of the same placed figure was painted over (the far
    arm behind the torso, the face of someone seen from behind), from the ``zbuf`` that
    :func:`paint_figure` filled for this figure alone."""
    height, width = zbuf.shape
    ix, iy = nearest_pixel(fig.points + fig.offset, width, height)
    return zbuf[iy, ix] > fig.depth + fig.joint_tolerance()


def nearest_pixel(points: np.ndarray, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
    """Nearest pixel (x, y) of each of the (P, 2) points, clipped into the image."""
    ix = np.round(points[:, 0]).astype(int).clip(0, width - 1)
    iy = np.round(points[:, 1]).astype(int).clip(0, height - 1)
    return ix, iy


def _paint_face(
    img: np.ndarray, head: np.ndarray, fig: Figure, pts: np.ndarray, shade: float
) -> None:
    """Skin on the side of the ``head`` mask the face points to (none from behind)."""
    toward = float(fig.facing[2])
    if toward < -0.15:
        return
    scratch = np.zeros(head.shape, dtype=np.uint8)
    r = fig.head_radius
    center = head_center(fig, pts) + fig.facing[:2] * r * 0.35
    squeeze = 0.45 + 0.45 * max(toward, 0.0)
    axes = (int(round(r * squeeze * ONE)), int(round(r * 0.85 * ONE)))
    angle = float(np.degrees(fig.roll))
    cv2.ellipse(scratch, to_fixed(center), axes, angle, 0, 360, 1, -1, cv2.LINE_8, SHIFT)
    ys, xs = np.nonzero((scratch > 0) & head)
    colors = fig.textures['skin'](xs, ys) * shade
    img[ys, xs] = np.clip(colors, 0, 255).astype(np.uint8)
