# Copyright (c) dag_mmpose contributors. All rights reserved.
"""A generated scene: background, people placed to overlap, object occluders, and the
pixel ownership that decides each joint's visibility."""

from typing import List, Tuple

import cv2
import numpy as np

from .figure import (
    OCCLUDER,
    ONE,
    SHIFT,
    AllSame,
    Figure,
    paint_figure,
    random_color,
    sample_figure,
    to_fixed,
)
from .layout import SyntheticPerson


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A random gradient, optional blotches and a few flat shapes."""
    c0 = np.array(random_color(rng, 0, 255), dtype=np.float32)
    c1 = np.array(random_color(rng, 0, 255), dtype=np.float32)
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
        color = random_color(rng, 0, 255)
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
        poly = np.round(corners * ONE).astype(np.int32)
        cv2.fillPoly(scratch, [poly], 1, cv2.LINE_8, SHIFT)
    elif kind < 0.8:
        axes = (int(w / 2 * ONE), int(h / 2 * ONE))
        cv2.ellipse(scratch, to_fixed(center), axes, angle, 0, 360, 1, -1, cv2.LINE_8, SHIFT)
    else:
        n = int(rng.integers(3, 7))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(0.3, 0.6, n) * size
        poly = center + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)
        cv2.fillPoly(scratch, [np.round(poly * ONE).astype(np.int32)], 1, cv2.LINE_8, SHIFT)
    ys, xs = np.nonzero(scratch)
    if len(ys) == 0:
        return
    base = np.array(random_color(rng, 0, 255), dtype=np.float32)
    style = rng.random()
    if style < 0.4:
        colors = np.broadcast_to(base, (len(ys), 3))
    elif style < 0.7:
        other = np.array(random_color(rng, 0, 255), dtype=np.float32)
        period = rng.uniform(3, 10)
        phase = xs * np.cos(angle) + ys * np.sin(angle)
        colors = np.where(((phase // period) % 2 == 0)[:, None], base, other)
    else:
        other = np.array(random_color(rng, 0, 255), dtype=np.float32)
        t = (ys - ys.min()) / max(int(np.ptp(ys)), 1)
        colors = base + (other - base) * t[:, None]
    img[ys, xs] = colors.astype(np.uint8)
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
    figures: List[Figure] = []
    for k in range(num_people):
        if pairs and k % 2 == 1:
            scale = figures[-1].height * rng.uniform(0.85, 1.15) / height
        elif pairs:
            scale = rng.uniform(0.4, 0.8)
        else:
            scale = rng.uniform(0.3, 0.8) if k == 0 else rng.uniform(0.3, 0.7)
        fig = sample_figure(rng, scale * height)
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
        paint_figure(scratch, fig, AllSame(1), cv2.LINE_8)
        paint_figure(img, fig, fig.colors, cv2.LINE_AA)
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
