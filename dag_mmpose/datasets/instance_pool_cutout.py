# Copyright (c) dag_mmpose contributors. All rights reserved.
"""What :func:`~dag_mmpose.datasets.instance_pool_builder.build_instance_pool` reads and
measures of a COCO-format dataset: its image entries and person categories, segmentations
decoded to masks, image files, boxes, and a person cut out with its mask as alpha."""

import os.path as osp
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = [
    'POLYGON_TOLERANCE',
    'border_share',
    'box_overlap',
    'cut_out',
    'has_segmentation',
    'person_categories',
    'read_image',
    'segmentation_mask',
    'unique_images',
    'valid_box',
]

# pixels a polygon may reach beyond the image (annotation tools place border points on or
# just past the edge) before it counts as drawn for another image size
POLYGON_TOLERANCE = 2.0


def segmentation_mask(segmentation: Any, height: int, width: int) -> Optional[np.ndarray]:
    """Decode COCO polygons or RLE (compressed or not) to an (H, W) uint8 mask.

    Returns ``None`` for a segmentation that is empty or made for another image size: an
    RLE whose ``size`` is not the image's, or polygons reaching more than
    :data:`POLYGON_TOLERANCE` pixels beyond the image (pycocotools would clip them silently,
    e.g. polygons of a rescaled copy of the image).
    """
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        # frPyObjects reads a first entry of 4 numbers as a box, so drop degenerate ones
        polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6]
        if not polygons:
            return None
        points = np.concatenate([np.asarray(p, dtype=np.float64) for p in polygons])
        xs, ys = points[0::2], points[1::2]
        low, tol = -POLYGON_TOLERANCE, POLYGON_TOLERANCE
        if xs.min() < low or ys.min() < low or xs.max() > width + tol or ys.max() > height + tol:
            return None
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and 'counts' in segmentation:
        if list(segmentation.get('size', [])) != [height, width]:
            return None
        if isinstance(segmentation['counts'], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = segmentation
    else:
        return None
    with warnings.catch_warnings():
        # pycocotools / xtcocotools under numpy 2 warn on every decode; harmless
        warnings.filterwarnings(
            'ignore', message='__array__ implementation doesn', category=DeprecationWarning
        )
        return mask_utils.decode(rle)


def valid_box(bbox: Any) -> bool:
    """Whether ``bbox`` is a COCO ``[x, y, w, h]`` of finite numbers with ``w, h > 0``."""
    try:
        box = np.asarray(bbox, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return box.shape == (4,) and bool(np.isfinite(box).all()) and box[2] > 0 and box[3] > 0


def read_image(path: str) -> Tuple[Optional[np.ndarray], str]:
    """The image (BGR) and ``''``, or ``None`` and the skip reason: ``missing_image`` (no
    such file) or ``unreadable_image`` (not decodable, or a JPEG cut short: OpenCV decodes
    those with the missing rows grey and only a warning on stderr)."""
    if not osp.isfile(path):
        return None, 'missing_image'
    with open(path, 'rb') as f:
        data = f.read()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return None, 'unreadable_image'
    # a complete JPEG ends its last scan (SOS marker) with an end-of-image marker
    if data[:2] == b'\xff\xd8' and data.rfind(b'\xff\xd9') < data.rfind(b'\xff\xda'):
        return None, 'unreadable_image'
    return img, ''


def unique_images(images: List[Any], ann_file: str) -> Tuple[List[dict], int]:
    """The ``images`` entries once each, and how many repeated an earlier entry.

    Raises:
        ValueError: An entry is not an object with an ``id``, or one id names two files.
    """
    unique: Dict[Any, dict] = {}
    repeated = 0
    for index, image in enumerate(images):
        if not isinstance(image, dict) or 'id' not in image:
            raise ValueError(f'{ann_file}: images[{index}] is not an object with an "id"')
        first = unique.setdefault(image['id'], image)
        if first is not image:
            if first.get('file_name') != image.get('file_name'):
                raise ValueError(
                    f'{ann_file}: image id {image["id"]!r} names two files, '
                    f'{first.get("file_name")!r} and {image.get("file_name")!r}: the people of '
                    'that id cannot be cut from the right pixels'
                )
            repeated += 1
    return list(unique.values()), repeated


def has_segmentation(ann: dict) -> bool:
    """Whether ``ann`` has an RLE with counts or a polygon of at least 3 points."""
    segmentation = ann.get('segmentation')
    if isinstance(segmentation, dict):
        return bool(segmentation.get('counts'))
    return isinstance(segmentation, list) and any(
        isinstance(p, list) and len(p) >= 6 for p in segmentation
    )


def person_categories(data: dict) -> Tuple[Optional[set], Optional[List[str]]]:
    """Ids of the person categories (``None``: accept every category) and the keypoint
    names of the first of them."""
    categories = data.get('categories') or []
    people = [c for c in categories if c.get('name') == 'person' or c.get('keypoints')]
    if not people:
        return None, None
    names = people[0].get('keypoints') or None
    return {c['id'] for c in people}, (list(names) if names else None)


def box_overlap(mask: np.ndarray, origin: Tuple[int, int], boxes: List[Sequence[float]]) -> float:
    """Fraction of the pixels of ``mask`` (a crop whose top-left pixel is ``origin`` in the
    image) that lie inside any of the ``boxes`` (COCO ``[x, y, w, h]``)."""
    area = int(np.count_nonzero(mask))
    if not boxes or area == 0:
        return 0.0
    x0, y0 = origin
    h, w = mask.shape
    covered = np.zeros((h, w), dtype=bool)
    for bx, by, bw, bh in boxes:
        c0 = min(max(int(np.floor(bx)) - x0, 0), w)
        c1 = min(max(int(np.ceil(bx + bw)) - x0, 0), w)
        r0 = min(max(int(np.floor(by)) - y0, 0), h)
        r1 = min(max(int(np.ceil(by + bh)) - y0, 0), h)
        covered[r0:r1, c0:c1] = True
    return float(np.count_nonzero(covered & (mask > 0))) / area


def border_share(mask: np.ndarray) -> float:
    """The largest share of the mask's box side that lies on the image border: the mask
    pixels in the image's first / last row over the box width, or in its first / last
    column over the box height (0 for a mask clear of the border)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    box_h, box_w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    on_rows = max(np.count_nonzero(mask[0]), np.count_nonzero(mask[-1])) / box_w
    on_cols = max(np.count_nonzero(mask[:, 0]), np.count_nonzero(mask[:, -1])) / box_h
    return float(max(on_rows, on_cols))


def cut_out(img: np.ndarray, mask: np.ndarray, margin: int) -> Tuple[np.ndarray, int, int]:
    """The BGRA crop of the mask's box plus ``margin`` pixels on every side (color
    edge-padded and alpha 0 beyond the image), and its top-left corner in the image."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    x0, y0 = int(cols[0]) - margin, int(rows[0]) - margin
    x1, y1 = int(cols[-1]) + margin + 1, int(rows[-1]) + margin + 1
    img_h, img_w = mask.shape
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, img_w), min(y1, img_h)
    pad = ((sy0 - y0, y1 - sy1), (sx0 - x0, x1 - sx1))
    color = np.pad(img[sy0:sy1, sx0:sx1], pad + ((0, 0),), mode='edge')
    alpha = np.pad(mask[sy0:sy1, sx0:sx1] * np.uint8(255), pad, mode='constant')
    return np.concatenate([color, alpha[..., None]], axis=2), x0, y0
