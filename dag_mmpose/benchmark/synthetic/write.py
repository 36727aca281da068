# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Writing generated splits: images, COCO-format annotations and person detections."""

import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ...utils.json_io import dump_json
from ...utils.visibility import (
    RELABELLED,
    check_visibility_convention,
)
from .figure import VARIETIES
from .layout import (
    LAYOUTS,
    MAX_IMAGES,
    MAX_PEOPLE,
    SPLIT_CODES,
    LayoutSpec,
    SyntheticPerson,
)
from .scene import render_scene


def mask_to_rle(mask: np.ndarray) -> Tuple[Dict[str, Any], int]:
    """COCO RLE of a binary mask with its holes filled, and its area (pycocotools).

    Holes are filled (``cv2.findContours`` outer contours) so that a pasted person keeps what
    lies inside its outline, as COCO's own polygon segmentations do.

    Args:
        mask (np.ndarray): (H, W) mask, non-zero inside.

    Returns:
        tuple[dict, int]: ``{'size': [H, W], 'counts': str}`` (compressed RLE, what
        ``pycocotools.mask.decode`` and COCO's ``annToRLE`` read) and the pixel count (COCO
        ``area``).
    """
    from pycocotools import mask as mask_utils

    mask = (mask > 0).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=-1)
    rle = mask_utils.encode(np.asfortranarray(filled))
    area = int(mask_utils.area(rle))
    return {'size': [int(v) for v in rle['size']], 'counts': rle['counts'].decode('ascii')}, area


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
    person: SyntheticPerson,
    layout: LayoutSpec,
    ann_id: int,
    image_id: int,
    occluded_flag: int = 1,
) -> Optional[dict]:
    """COCO annotation of one figure; ``None`` if nothing of it can be seen. Hidden joints
    are written with ``occluded_flag`` (1, COCO's; 3, COCO-RE's)."""
    index = layout.point_index
    vis = person.visibility[index]
    if not np.any(vis == 2):
        return None
    segmentation, area = mask_to_rle(person.visible_mask)
    if area == 0:
        return None
    pts = person.points[index]
    keypoints = []
    for (x, y), v in zip(pts, vis):
        if v == 0:
            keypoints += [0, 0, 0]
        else:
            flag = occluded_flag if v == 1 else int(v)
            keypoints += [round(float(x), 2), round(float(y), 2), flag]
    return {
        'id': ann_id,
        'image_id': image_id,
        'category_id': 1,
        'keypoints': keypoints,
        # every labelled joint, the occluded ones of either convention included
        'num_keypoints': int(np.count_nonzero(vis)),
        'bbox': [int(v) for v in person.bbox],
        'area': float(area),
        'iscrowd': 0,
        'segmentation': segmentation,
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
    seq = np.random.SeedSequence(seed, spawn_key=(layout.code, SPLIT_CODES[split], index, purpose))
    return np.random.default_rng(seq)


def _check_args(
    layout: str,
    split: str,
    num_images: int,
    img_size: Sequence[int],
    people: Sequence[int],
    occlusion: float,
    seed: int,
    variety: str = 'full',
    visibility_convention: str = 'coco',
) -> LayoutSpec:
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, got {layout!r}')
    _check_convention(layout, visibility_convention)
    spec = LAYOUTS[layout]
    if split not in spec.splits:
        raise ValueError(f'the {layout} layout has splits {spec.splits}, got {split!r}')
    if not 0 <= num_images <= MAX_IMAGES:
        raise ValueError(f'num_images must be in [0, {MAX_IMAGES}], got {num_images}')
    if len(img_size) != 2 or min(img_size) < 32:
        raise ValueError(f'img_size must be (width, height), each >= 32, got {img_size}')
    if len(people) != 2 or not 1 <= people[0] <= people[1] <= MAX_PEOPLE:
        raise ValueError(
            f'people must be (min, max) with 1 <= min <= max <= {MAX_PEOPLE}, got {people}'
        )
    if not 0.0 <= occlusion <= 1.0:
        raise ValueError(f'occlusion must be in [0, 1], got {occlusion}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if variety not in VARIETIES:
        raise ValueError(f'variety must be one of {VARIETIES}, got {variety!r}')
    return spec


def _check_convention(layout: str, visibility_convention: str) -> None:
    """COCO-RE relabels COCO: its v=3 is written for the ``'coco'`` layout only (the
    CrowdPose, OCHuman and OCPose tools and converters know v=0, 1, 2)."""
    check_visibility_convention(visibility_convention, 'synthetic dataset')
    if visibility_convention == 'coco-re' and layout != 'coco':
        raise ValueError(
            "visibility_convention='coco-re' (occluded joints written v=3, COCO-RE's "
            f"relabelled COCO val2017) is for the 'coco' layout only, got layout={layout!r}"
        )


def _write_json(path: str, data: Union[dict, list]) -> None:
    dump_json(data, path, separators=(',', ':'))


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
    variety: str = 'full',
    visibility_convention: str = 'coco',
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
        layout (str): ``'coco'``, ``'crowdpose'``, ``'ochuman'`` or ``'ocpose'`` (two
            intertwined people per image, 12 joints; also writes the raw OCPose layout,
            see :func:`write_ocpose_raw`).
        detections (bool, optional): Also write
            ``person_detection_results/{split}_detections.json`` (mmpose ``bbox_file``
            format). Defaults to the layout's detection splits (COCO val / test, CrowdPose
            test).
        jpeg_quality (int): JPEG quality.
        variety (str): ``'full'`` (the benchmark: every pose and viewing direction) or
            ``'upright'`` (its fast setting: upright poses seen from the front or the back).
        visibility_convention (str): ``'coco'`` (hidden joints written v=1) or ``'coco-re'``
            (written v=3, "labelled and occluded", as the DAG paper's COCO-RE relabelling of
            COCO val2017 flags the occluded joints it adds; ``'coco'`` layout only). Either
            way ``num_keypoints`` counts every labelled joint. Recorded in the json's
            ``info``. Defaults to ``'coco'``.

    Returns:
        str: Path of the annotation json.
    """
    spec = LAYOUTS.get(layout)
    people = tuple(people if people is not None else (spec.default_people if spec else (1, 1)))
    occlusion = float(
        occlusion if occlusion is not None else (spec.default_occlusion if spec else 0.0)
    )
    spec = _check_args(
        layout, split, num_images, img_size, people, occlusion, seed, variety, visibility_convention
    )
    occluded_flag = RELABELLED if visibility_convention == 'coco-re' else 1
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
        image_id = SPLIT_CODES[split] * 10**6 + index + 1
        file_name = f'{split}_{index:06d}.jpg'
        num_people = int(rng.integers(people[0], people[1] + 1))
        if spec.pairs:
            num_people += num_people % 2  # everyone has a partner
        img, persons = render_scene(
            rng, (width, height), num_people, occlusion, spec.pairs, variety
        )
        cv2.imwrite(osp.join(img_dir, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        anns = []
        for number, person in enumerate(persons, start=1):
            ann = _annotation(person, spec, image_id * 100 + number, image_id, occluded_flag)
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
            'generator': 'dag_mmpose.benchmark.synthetic',
            'seed': seed,
            'img_size': [width, height],
            'people': list(people),
            'occlusion': occlusion,
            'variety': variety,
            'visibility_convention': visibility_convention,
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
    if spec.name == 'ocpose':
        write_ocpose_raw(data, out_dir, split)
    if detections:
        _write_json(spec.detection_path(out_dir, split), dets)
    return ann_path


def write_ocpose_raw(coco: dict, out_dir: str, split: str) -> Tuple[str, str]:
    """Write a generated OCPose split in the raw layout that ``convert_ocpose`` reads
    (``raw/ocpose_{split}.json``) and its list of image names (``raw/{split}.txt``), so the
    converter runs on generated data as on the real file.

    Returns:
        tuple: The paths of the raw annotation file and of the list.
    """
    persons = {img['id']: [] for img in coco['images']}
    for ann in coco['annotations']:
        keypoints = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        persons[ann['image_id']].append(
            {
                'bbox': ann['bbox'],
                'keypoints': [[float(x), float(y), int(v)] for x, y, v in keypoints],
            }
        )
    raw = {
        'images': [
            {
                'file_name': img['file_name'],
                'width': img['width'],
                'height': img['height'],
                'persons': persons[img['id']],
            }
            for img in coco['images']
        ]
    }
    raw_path = osp.join(out_dir, 'raw', f'ocpose_{split}.json')
    _write_json(raw_path, raw)
    list_path = osp.join(out_dir, 'raw', f'{split}.txt')
    with open(list_path, 'w', encoding='utf-8') as f:
        f.writelines(f'{img["file_name"]}\n' for img in coco['images'])
    return raw_path, list_path
