# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Build an instance pool (:mod:`dag_mmpose.datasets.instance_pool`) from a COCO-format
dataset with person segmentations: filter the annotations, cut each person out with its
mask as alpha, and report why the others were skipped.

What is read and measured of the dataset lives in
:mod:`~dag_mmpose.datasets.instance_pool_cutout`, the report in
:mod:`~dag_mmpose.datasets.instance_pool_report` (:func:`format_summary` is exported here)."""

import os.path as osp
import sys
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..utils.checks import check_number
from ..utils.json_io import load_json
from .instance_pool_cutout import (
    border_share,
    box_overlap,
    cut_out,
    has_segmentation,
    person_categories,
    read_image,
    segmentation_mask,
    unique_images,
    valid_box,
)
from .instance_pool_report import (
    CROWDPOSE_HINT,
    format_counts,
    format_summary,
    nobody_kept_hint,
)
from .instance_pool_writer import InstancePoolWriter
from .transforms.keypoint_utils import on_mask

__all__ = ['SKIP_REASONS', 'build_instance_pool', 'format_summary']

# why an annotation did not make it into the pool, in the order the filters are applied
SKIP_REASONS: Tuple[str, ...] = (
    'no_image_entry',
    'crowd',
    'not_person',
    'no_segmentation',
    'bad_keypoints',
    'bad_box',
    'few_keypoints',
    'missing_image',
    'unreadable_image',
    'bad_segmentation',
    'small',
    'border',
    'hidden',
    'overlap',
    'max_instances',
)


def build_instance_pool(
    ann_file: str,
    img_dir: str,
    out_dir: str,
    min_area: float = 4096,
    min_keypoints: int = 8,
    max_overlap: float = 0.2,
    max_instances: Optional[int] = None,
    margin: int = 2,
    progress: bool = True,
    min_on_mask: float = 0.7,
    max_border: float = 0.1,
) -> Dict[str, Any]:
    """Cut the people of a COCO-format dataset out into an instance pool.

    Each annotation goes through these filters in order; the first one it fails is
    counted in ``summary['skipped']``:

    - ``no_image_entry``: its ``image_id`` is not the ``id`` of any ``images`` entry;
    - ``crowd``: ``iscrowd`` is set;
    - ``not_person``: its category is not a person category (named ``person`` or with
      ``keypoints``; every category counts when the file names none);
    - ``no_segmentation``: it has no polygon or RLE segmentation;
    - ``bad_keypoints``: its ``keypoints`` are not ``3 * K`` finite numbers;
    - ``bad_box``: it has a ``bbox`` that is not four finite numbers with positive width
      and height (such boxes of other people are also left out of ``overlap``);
    - ``few_keypoints``: fewer than ``min_keypoints`` labelled keypoints (v > 0);
    - ``missing_image``: its image file does not exist;
    - ``unreadable_image``: its image file does not decode, or is a JPEG cut short (OpenCV,
      and so mmpose's ``LoadImage``, would fill the missing rows with grey);
    - ``bad_segmentation``: the segmentation decodes to an empty mask, or it was made for
      another image size (an RLE of another size, polygons reaching more than 2 px beyond
      the image);
    - ``small``: fewer than ``min_area`` mask pixels;
    - ``border``: the image border cuts the person: the mask pixels on the image's first
      or last row (column) are more than ``max_border`` of the mask box's width (height);
    - ``hidden``: the person is mostly hidden (by objects or people): fewer than
      ``min_on_mask`` of its labelled keypoints lie on its own mask (COCO masks mark the
      visible pixels only; an occluded joint is labelled but off the mask), or fewer than
      ``min_keypoints`` are left on it;
    - ``overlap``: more than ``max_overlap`` of its mask pixels lie inside the bounding box
      of another person annotation of the image (crowd regions included). Masks of
      COCO-style data mark *visible* pixels only and are disjoint by construction, so
      mask-on-mask overlap would pass almost everyone; the boxes of the others catch
      people entangled with or cut by someone else, whose cut-outs look fragmentary;
    - ``max_instances``: the pool already holds ``max_instances`` people (the build stops).

    A kept person is stored as the box of its mask plus ``margin`` pixels of context on
    every side, color from the image (BGR) and alpha = 255 inside its mask, 0 elsewhere
    (also where the margin extends beyond the image), with its keypoints moved into the
    crop. Only keypoints on the mask stay labelled (a pixel of their bilinear support is
    on it, the test ``InstancePaste`` repeats after a paste): a joint hidden in the source
    image would be pasted over whatever lies there; the others, and unlabelled ones, are
    stored as ``[0, 0, 0]`` and counted in ``summary['dropped_keypoints']``. An ``images``
    entry repeated with the same ``id`` and ``file_name`` is read once (counted in
    ``summary['repeated_images']``), so nobody is stored twice.

    Args:
        ann_file (str): COCO-format json with ``images``, ``annotations`` (``segmentation``
            as polygons or RLE, optional ``keypoints``) and ``categories``.
        img_dir (str): Folder the images' ``file_name`` are relative to.
        out_dir (str): The pool folder to write (``index.json`` and a data file); an
            existing pool there is replaced atomically (``docs/instance_pool.md``).
        min_area (float): Minimum mask area in pixels. Defaults to 4096 (a 64x64 square:
            pasted people are scaled to half to one crop height, so smaller ones would be
            upscaled a lot).
        min_keypoints (int): Minimum number of labelled keypoints. Defaults to 8.
        max_overlap (float): Maximum fraction of the mask inside other people's boxes,
            in [0, 1]. Defaults to 0.2.
        max_instances (int, optional): Stop after this many people. Defaults to ``None``
            (all).
        margin (int): Context pixels around the mask box; at least 1 keeps the alpha of the
            crop's border 0, which ``InstancePaste`` relies on for clean edges. Defaults to 2.
        progress (bool): Show a progress bar over the images on stdout. Defaults to
            ``True``.
        min_on_mask (float): Minimum share in [0, 1] of a person's labelled keypoints that
            lie on its mask. Defaults to 0.7.
        max_border (float): Maximum share in [0, 1] of a mask box side on the image
            border. Defaults to 0.1 (a foot touching the border passes, legs cut off
            by it do not).

    Returns:
        dict: Summary with ``ann_file``, ``img_dir``, ``out_dir``, ``index_file``,
        ``num_images`` (images with annotations), ``num_annotations``, ``num_kept``,
        ``num_keypoints``, ``data_bytes``, ``dropped_keypoints`` (labelled keypoints of kept
        people stored unlabelled because they lie off the mask), ``repeated_images`` and
        ``skipped`` (reason -> count, every reason of :data:`SKIP_REASONS`).

    Raises:
        FileNotFoundError: ``ann_file`` or ``img_dir`` does not exist.
        ValueError: The file is not COCO-format (or is not JSON), an image id names two
            files, no person annotation has a segmentation (e.g. CrowdPose), the arguments
            are out of range, ``out_dir`` holds an ``index.json`` that is not a pool's, or
            nobody passes the filters.
    """
    filters = _checked_filters(
        ann_file,
        img_dir,
        min_area=min_area,
        min_keypoints=min_keypoints,
        max_overlap=max_overlap,
        max_instances=max_instances,
        margin=margin,
        min_on_mask=min_on_mask,
        max_border=max_border,
    )
    data = _load_annotations(ann_file)
    person_ids, keypoint_names = person_categories(data)
    num_keypoints = _num_keypoints(ann_file, data['annotations'], person_ids, keypoint_names)
    images, repeated_images = unique_images(data['images'], ann_file)
    by_image, unlisted, images = _group_by_image(data['annotations'], images)
    skipped = OrderedDict((reason, 0) for reason in SKIP_REASONS)
    skipped['no_image_entry'] = sum(len(by_image[img_id]) for img_id in unlisted)
    writer = InstancePoolWriter(
        out_dir,
        num_keypoints=num_keypoints,
        keypoint_names=keypoint_names,
        margin=filters['margin'],
        meta=dict(
            source=dict(ann_file=osp.abspath(ann_file), img_dir=osp.abspath(img_dir)),
            filters=filters,
        ),
    )
    build = _Build(img_dir, filters, person_ids, num_keypoints, writer, skipped)
    _cut_images(build, images, by_image, progress, ann_file, unlisted)
    index_file = writer.close()
    return dict(
        ann_file=ann_file,
        img_dir=img_dir,
        out_dir=out_dir,
        index_file=index_file,
        num_images=len(images),
        num_annotations=sum(len(a) for a in by_image.values()),
        num_kept=len(writer),
        num_keypoints=num_keypoints,
        data_bytes=writer.offset,
        dropped_keypoints=build.dropped_keypoints,
        repeated_images=repeated_images,
        skipped=dict(skipped),
    )


@dataclass
class _Build:
    """One build: where its images are, its filters (``build_instance_pool``'s arguments),
    the person category ids (``None``: every category), K, its writer and its counts."""

    img_dir: str
    filters: dict
    person_ids: Optional[set]
    num_keypoints: int
    writer: InstancePoolWriter
    skipped: Dict[str, int]
    dropped_keypoints: int = 0

    def is_person(self, ann: dict) -> bool:
        return _is_person(self.person_ids, ann)

    def is_full(self) -> bool:
        """Whether the pool holds ``max_instances`` people already."""
        max_instances = self.filters['max_instances']
        return max_instances is not None and len(self.writer) >= max_instances


def _is_person(person_ids: Optional[set], ann: dict) -> bool:
    """Whether ``ann`` is of a person category (``person_ids`` ``None``: every category)."""
    return person_ids is None or ann.get('category_id') in person_ids


def _checked_filters(
    ann_file: str,
    img_dir: str,
    min_area: float,
    min_keypoints: int,
    max_overlap: float,
    max_instances: Optional[int],
    margin: int,
    min_on_mask: float,
    max_border: float,
) -> dict:
    """The filters of :func:`build_instance_pool`, checked after its input paths, in the
    order the pool index's ``filters`` and the errors list them."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image directory not found: {img_dir}')
    owner = 'build_instance_pool'
    max_overlap = check_number(max_overlap, 'max_overlap', owner, ge=0, le=1)
    min_on_mask = check_number(min_on_mask, 'min_on_mask', owner, ge=0, le=1)
    max_border = check_number(max_border, 'max_border', owner, ge=0, le=1)
    margin = check_number(margin, 'margin', owner, ge=0, integer=True)
    min_keypoints = check_number(min_keypoints, 'min_keypoints', owner, ge=0, integer=True)
    min_area = check_number(min_area, 'min_area', owner, ge=0)
    if max_instances is not None:
        max_instances = check_number(max_instances, 'max_instances', owner, ge=1, integer=True)
    return dict(
        min_area=min_area,
        min_keypoints=min_keypoints,
        max_overlap=max_overlap,
        max_instances=max_instances,
        margin=margin,
        min_on_mask=min_on_mask,
        max_border=max_border,
    )


def _load_annotations(ann_file: str) -> dict:
    """The annotation file, checked to hold ``images`` and ``annotations`` lists of objects."""
    data = load_json(ann_file)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get('images'), list)
        or not isinstance(data.get('annotations'), list)
    ):
        raise ValueError(
            f'{ann_file} is not a COCO-format annotation file: it needs '
            '`images` and `annotations` lists'
        )
    for index, ann in enumerate(data['annotations']):
        if not isinstance(ann, dict):
            raise ValueError(f'{ann_file}: annotations[{index}] is not an object')
    return data


def _num_keypoints(
    ann_file: str,
    annotations: List[dict],
    person_ids: Optional[set],
    keypoint_names: Optional[List[str]],
) -> int:
    """K: the number of keypoint names, else of the first person's keypoints (0 without).

    Raises:
        ValueError: No person annotation has a segmentation (e.g. CrowdPose).
    """
    persons = [a for a in annotations if not a.get('iscrowd', 0) and _is_person(person_ids, a)]
    if persons and not any(has_segmentation(a) for a in persons):
        raise ValueError(
            f'{ann_file}: none of its {len(persons)} person annotations has a '
            f'`segmentation`. {CROWDPOSE_HINT}'
        )
    if keypoint_names is not None:
        return len(keypoint_names)
    lengths = [len(a['keypoints']) for a in persons if a.get('keypoints')]
    return lengths[0] // 3 if lengths else 0


def _group_by_image(
    annotations: List[dict], images: List[dict]
) -> Tuple[Dict[Any, List[dict]], List[Any], List[dict]]:
    """The annotations of every image id, the ids that ``images`` does not list, and the
    images that have annotations."""
    by_image = defaultdict(list)
    for ann in annotations:
        by_image[ann.get('image_id')].append(ann)
    listed = {img['id'] for img in images}
    unlisted = [img_id for img_id in by_image if img_id not in listed]
    return by_image, unlisted, [img for img in images if img['id'] in by_image]


def _cut_images(
    build: _Build,
    images: List[dict],
    by_image: Dict[Any, List[dict]],
    progress: bool,
    ann_file: str,
    unlisted: List[Any],
) -> None:
    """Cut the people of every image out into the pool; on any error (nobody kept
    included) the writer is discarded."""
    bar = None
    if progress:
        from mmengine.utils import ProgressBar

        bar = ProgressBar(len(images), file=sys.stdout)
    try:
        for image in images:
            anns = by_image[image['id']]
            if build.is_full():
                build.skipped['max_instances'] += sum(
                    1 for a in anns if not a.get('iscrowd', 0) and build.is_person(a)
                )
            else:
                _cut_image(build, image, anns)
            if bar is not None:
                bar.update()
        if bar is not None:
            sys.stdout.write('\n')
        if len(build.writer) == 0:
            raise ValueError(
                f'no person of {ann_file} passed the filters ({build.filters}); '
                f'skipped: {format_counts(build.skipped)}. '
                + nobody_kept_hint(build.skipped, build.num_keypoints, unlisted[:5])
            )
    except BaseException:
        build.writer.discard()
        raise


def _cut_image(build: _Build, image: dict, anns: List[dict]) -> None:
    """Apply the filters to the annotations of one image and add the kept people."""
    candidates = []
    for ann in anns:
        reason, kpts = _annotation_filter(build, ann)
        if reason:
            build.skipped[reason] += 1
        else:
            candidates.append((ann, kpts))
    if not candidates:
        return

    img, reason = read_image(osp.join(build.img_dir, image.get('file_name', '')))
    if img is None:
        build.skipped[reason] += len(candidates)
        return
    people = [a for a in anns if build.is_person(a)]
    for ann, kpts in candidates:
        if build.is_full():
            build.skipped['max_instances'] += 1
            continue
        reason, person = _cut_person(build, img, ann, kpts, people)
        if reason:
            build.skipped[reason] += 1
            continue
        crop, kpts = person
        build.writer.add(crop, kpts, image_id=image.get('id'), ann_id=ann.get('id'))


def _annotation_filter(build: _Build, ann: dict) -> Tuple[str, Optional[np.ndarray]]:
    """The first filter of the annotation alone that ``ann`` fails (``''``: none) and, when
    it passes, its keypoints (K, 3) float64."""
    if ann.get('iscrowd', 0):
        return 'crowd', None
    if not build.is_person(ann):
        return 'not_person', None
    if not has_segmentation(ann):
        return 'no_segmentation', None
    num_keypoints = build.num_keypoints
    kpts = ann.get('keypoints') or [0] * (3 * num_keypoints)
    try:
        kpts = np.asarray(kpts, dtype=np.float64)
    except (TypeError, ValueError):
        kpts = np.zeros(0)
    if kpts.shape != (3 * num_keypoints,) or not np.isfinite(kpts).all():
        return 'bad_keypoints', None
    kpts = kpts.reshape(num_keypoints, 3)
    if 'bbox' in ann and not valid_box(ann['bbox']):
        return 'bad_box', None
    if np.count_nonzero(kpts[:, 2] > 0) < build.filters['min_keypoints']:
        return 'few_keypoints', None
    return '', kpts


def _cut_person(
    build: _Build, img: np.ndarray, ann: dict, kpts: np.ndarray, people: List[dict]
) -> Tuple[str, Optional[Tuple[np.ndarray, np.ndarray]]]:
    """The first filter of the mask that ``ann`` fails (``''``: none) and, when it passes,
    its BGRA crop and its keypoints (K, 3) in crop pixels, those off the mask ``[0, 0, 0]``
    (counted in ``dropped_keypoints``). ``people`` are the person annotations of the image."""
    filters = build.filters
    height, width = img.shape[:2]
    mask = segmentation_mask(ann['segmentation'], height, width)
    if mask is None or not mask.any():
        return 'bad_segmentation', None
    if np.count_nonzero(mask) < filters['min_area']:
        return 'small', None
    if border_share(mask) > filters['max_border']:
        return 'border', None
    labelled = kpts[:, 2] > 0
    kept = labelled & on_mask(mask, kpts[:, :2])
    if labelled.any() and (
        np.count_nonzero(kept) < filters['min_on_mask'] * np.count_nonzero(labelled)
        or np.count_nonzero(kept) < filters['min_keypoints']
    ):
        return 'hidden', None
    margin = filters['margin']
    crop, x0, y0 = cut_out(img, mask, margin)
    boxes = [o['bbox'] for o in people if o is not ann and valid_box(o.get('bbox'))]
    crop_mask = crop[margin : crop.shape[0] - margin, margin : crop.shape[1] - margin, 3]
    if box_overlap(crop_mask, (x0 + margin, y0 + margin), boxes) > filters['max_overlap']:
        return 'overlap', None
    kpts = kpts.copy()
    kpts[kept, 0] -= x0
    kpts[kept, 1] -= y0
    kpts[~kept] = 0
    build.dropped_keypoints += int(np.count_nonzero(labelled & ~kept))
    return '', (crop, kpts)
