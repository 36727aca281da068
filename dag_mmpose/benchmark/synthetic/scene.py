# Copyright (c) dag_mmpose contributors. All rights reserved.
"""A generated scene: a cluttered background, people placed to overlap, textured object
occluders, and the pixel ownership and depth that decide each joint's visibility."""

from typing import List, Tuple

import cv2
import numpy as np

from .figure import (
    OCCLUDER,
    ONE,
    SHIFT,
    Figure,
    hidden_by_itself,
    nearest_pixel,
    paint_figure,
    random_color,
    random_texture,
    sample_figure,
    to_fixed,
)
from .layout import SyntheticPerson


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Clutter: a gradient, blotches, grain, objects, and limb-like strokes."""
    c0 = np.array(random_color(rng, 0, 255), dtype=np.float32)
    c1 = np.array(random_color(rng, 0, 255), dtype=np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    xs = np.arange(width, dtype=np.float32) * np.cos(theta)
    ys = np.arange(height, dtype=np.float32) * np.sin(theta)
    ramp = ys[:, None] + xs[None, :]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    img = c0 + (c1 - c0) * ramp[..., None]
    for cells, sigma in ((int(rng.integers(3, 10)), rng.uniform(10, 40)), (32, rng.uniform(0, 15))):
        coarse = rng.normal(0, sigma, size=(cells, cells, 3)).astype(np.float32)
        img += cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)
    owner = np.zeros((height, width), dtype=np.uint8)  # thrown away: background is nobody's
    scratch = np.zeros((height, width), dtype=np.uint8)
    for _ in range(int(rng.integers(4, 14))):
        center = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        if rng.random() < 0.5:
            _paint_occluder(rng, img, owner, scratch, center, rng.uniform(0.05, 0.4) * height)
        else:  # strokes as wide as limbs, in any color: distractors for the joints
            end = center + rng.normal(0, 0.12 * height, 2)
            stroke = max(2, int(rng.uniform(0.015, 0.05) * height))
            color = random_color(rng, 0, 255)
            cv2.line(img, to_fixed(center), to_fixed(end), color, stroke, cv2.LINE_AA, SHIFT)
    return img


def _blob_polygon(rng: np.random.Generator, center: np.ndarray, size: float) -> np.ndarray:
    """An irregular closed outline: a circle whose radius varies smoothly and a little
    roughly with the angle."""
    n = int(rng.integers(10, 24))
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = np.ones(n)
    for k, amplitude in ((2, 0.25), (3, 0.15), (4, 0.08)):
        a, b = rng.normal(0, amplitude, 2)
        radius += a * np.cos(k * angles) + b * np.sin(k * angles)
    radius = np.clip(radius, 0.3, 1.6) * rng.uniform(0.85, 1.0, n) * size * 0.5
    stretch = rng.uniform(0.5, 1.0)
    return center + np.stack([np.cos(angles) * radius, np.sin(angles) * radius * stretch], 1)


def _paint_occluder(
    rng: np.random.Generator,
    img: np.ndarray,
    owner: np.ndarray,
    scratch: np.ndarray,
    center: np.ndarray,
    size: float,
) -> None:
    """Draw one object occluder (box, pole, ellipse or irregular blob) with a texture."""
    scratch[:] = 0
    w = size * rng.uniform(0.4, 1.0)
    h = size * rng.uniform(0.4, 1.0)
    angle = rng.uniform(0, 180) if rng.random() < 0.5 else 0.0
    kind = rng.random()
    if kind < 0.3:
        if rng.random() < 0.3:  # a pole or a plank
            w, h = w * 0.25, h * 2.0
        rect = ((float(center[0]), float(center[1])), (w, h), angle)
        poly = np.round(cv2.boxPoints(rect) * ONE).astype(np.int32)
        cv2.fillPoly(scratch, [poly], 1, cv2.LINE_8, SHIFT)
    elif kind < 0.5:
        axes = (int(w / 2 * ONE), int(h / 2 * ONE))
        cv2.ellipse(scratch, to_fixed(center), axes, angle, 0, 360, 1, -1, cv2.LINE_8, SHIFT)
    else:
        poly = _blob_polygon(rng, center, size)
        cv2.fillPoly(scratch, [np.round(poly * ONE).astype(np.int32)], 1, cv2.LINE_8, SHIFT)
    ys, xs = np.nonzero(scratch)
    if len(ys) == 0:
        return
    colors = random_texture(rng, random_color(rng, 0, 255))(xs, ys)
    if rng.random() < 0.5:  # shaded across its height
        t = (ys - ys.min()) / max(int(np.ptp(ys)), 1)
        colors = colors * (1.1 - 0.35 * t)[:, None]
    img[ys, xs] = np.clip(colors, 0, 255).astype(np.uint8)
    owner[ys, xs] = OCCLUDER


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
    fig: Figure,
    placed: List[Figure],
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
    fig: Figure,
    anchor: Figure,
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
    variety: str = 'full',
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
        variety (str): Which poses and views figures take (see
            :data:`~dag_mmpose.benchmark.synthetic.figure.VARIETIES`).

    Returns:
        tuple[np.ndarray, list[SyntheticPerson]]: The BGR image (H, W, 3) uint8 and the
        figures, in drawing order (later ones in front).
    """
    width, height = img_size
    img = _background(rng, width, height)
    # How crowded this image is varies around the requested level, so that one split has
    # loose and packed scenes (CrowdPose's easy / medium / hard).
    overlap = min(1.0, occlusion * rng.uniform(0.0, 2.0))
    figures: List[Figure] = []
    for k in range(num_people):
        if pairs and k % 2 == 1:
            scale = figures[-1].height * rng.uniform(0.85, 1.15) / height
        elif pairs:
            scale = rng.uniform(0.4, 0.8)
        else:
            scale = rng.uniform(0.3, 0.8) if k == 0 else rng.uniform(0.3, 0.7)
        fig = sample_figure(rng, scale * height, variety=variety)
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
    zbuf = np.empty((height, width), dtype=np.float32)
    boxes, self_hidden = [], []
    for rank, fig in enumerate(figures, start=1):
        zbuf.fill(-np.inf)
        covered = paint_figure(img, owner, zbuf, scratch, fig, rank)
        boxes.append(cv2.boundingRect(covered.astype(np.uint8)))
        self_hidden.append(hidden_by_itself(fig, zbuf))

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

    # Uneven light, sensor noise and a little blur.
    light = cv2.resize(
        rng.uniform(0.75, 1.2, size=(3, 3)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    noise = rng.normal(0.0, rng.uniform(2, 8), size=img.shape).astype(np.float32)
    img = np.clip(img.astype(np.float32) * light[..., None] + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, 0.8))

    people = []
    for rank, (fig, box, hidden) in enumerate(zip(figures, boxes, self_hidden), start=1):
        pts = fig.points + fig.offset
        ix, iy = nearest_pixel(pts, width, height)
        rounded = np.round(pts)
        inside = (rounded >= 0).all(1) & (rounded[:, 0] < width) & (rounded[:, 1] < height)
        visibility = np.zeros(len(pts), dtype=np.int64)
        # Hidden means covered by something drawn after this figure, or by its own nearer
        # parts; a point on the rim of its own drawing (the head top) may land on the
        # background and is still visible.
        covered = (owner[iy, ix] > rank) | hidden
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
