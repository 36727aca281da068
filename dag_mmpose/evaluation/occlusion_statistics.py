# Copyright (c) dag_mmpose contributors. All rights reserved.
"""How occluded a keypoint dataset is: share of occluded joints and overlap between people.

The overlap figures are the ones OCPose's paper (OPEC-Net, ECCV 2020, Table 1) compares
datasets by, from person boxes: each person's largest box IoU with another annotated person
of the same image, and each image's largest IoU between two of its people.
"""

from typing import Dict, List, Optional

import numpy as np
from pycocotools import mask as mask_utils

from ..utils.json_io import load_json
from ..utils.visibility import check_visibility_convention, check_visibility_flags, occluded_flags

__all__ = ['IOU_THRESHOLDS', 'max_box_ious', 'occlusion_statistics']

IOU_THRESHOLDS = (0.3, 0.5, 0.75)


def max_box_ious(boxes: np.ndarray) -> np.ndarray:
    """(N, ) each box's largest IoU with another of the (N, 4) ``xywh`` boxes (0 if alone)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) < 2:
        return np.zeros(len(boxes))
    ious = mask_utils.iou(boxes, boxes, [0] * len(boxes))
    np.fill_diagonal(ious, 0.0)
    return ious.max(1)


def occlusion_statistics(
    ann_file: str, visibility_convention: str = 'coco'
) -> Dict[str, Optional[float]]:
    """Occlusion statistics of a COCO-format keypoint annotation file.

    People are the non-crowd annotations with at least one labelled joint (v > 0).

    Args:
        ann_file (str): COCO, CrowdPose, OCHuman or generated keypoint json.
        visibility_convention (str): ``'coco'`` (occluded: v=1) or ``'coco-re'`` (COCO-RE,
            the DAG paper's relabelled COCO val2017: occluded v=1 and v=3). See
            :mod:`dag_mmpose.utils.visibility`. Defaults to ``'coco'``.

    Returns:
        dict: ``images``, ``people``, ``joints`` (labelled), ``occluded`` (share of labelled
        joints that are occluded; ``None`` when the file has no occluded label at all, i.e.
        does not label occlusion), ``person_iou`` (mean over people of their largest box IoU
        with another person), ``person_iou>T`` (share of people above T), ``image_iou>T``
        (share of images whose largest IoU between two people is above T), for T in
        :data:`IOU_THRESHOLDS`.

    Raises:
        KeyError: When the file lacks ``images`` or ``annotations``.
        ValueError: A visibility flag the convention does not know (v=3 under ``'coco'``),
            naming the annotations.
    """
    convention = check_visibility_convention(visibility_convention, 'occlusion_statistics')
    occluded_values = occluded_flags(convention)
    data = load_json(ann_file)
    for key in ('images', 'annotations'):
        if not isinstance(data, dict) or key not in data:
            raise KeyError(f'{ann_file} has no {key!r} list; is it a COCO keypoint file?')
    check_visibility_flags(data['annotations'], convention, ann_file)
    by_image: Dict[int, List[dict]] = {img['id']: [] for img in data['images']}
    for ann in data['annotations']:
        vis = np.asarray(ann.get('keypoints', []), dtype=np.float64).reshape(-1, 3)[:, 2]
        if ann.get('iscrowd', 0) or not (vis > 0).any():
            continue
        by_image.setdefault(ann['image_id'], []).append(dict(bbox=ann['bbox'], vis=vis))

    person_ious, image_ious, labelled, occluded = [], [], 0, 0
    for people in by_image.values():
        ious = max_box_ious([p['bbox'] for p in people])
        person_ious.extend(ious.tolist())
        image_ious.append(float(ious.max()) if len(ious) else 0.0)
        for person in people:
            labelled += int(np.count_nonzero(person['vis'] > 0))
            occluded += int(np.count_nonzero(np.isin(person['vis'], occluded_values)))
    person_ious = np.asarray(person_ious)
    image_ious = np.asarray(image_ious)
    stats: Dict[str, Optional[float]] = dict(
        images=len(by_image),
        people=len(person_ious),
        joints=labelled,
        occluded=occluded / labelled if occluded else None,
        person_iou=float(person_ious.mean()) if len(person_ious) else 0.0,
    )
    for t in IOU_THRESHOLDS:
        stats[f'person_iou>{t}'] = float((person_ious > t).mean()) if len(person_ious) else 0.0
    for t in IOU_THRESHOLDS:
        stats[f'image_iou>{t}'] = float((image_ious > t).mean()) if len(image_ious) else 0.0
    return stats
