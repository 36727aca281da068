# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Build an instance pool (:mod:`dag_mmpose.datasets.instance_pool`) from a COCO-format
dataset with person segmentations: filter the annotations, cut each person out with its
mask as alpha, and report why the others were skipped."""

import os.path as osp
import sys
import warnings
from collections import OrderedDict, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..utils.checks import check_number
from ..utils.json_io import load_json
from .instance_pool import InstancePoolWriter
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

_CROWDPOSE_HINT = (
    'CrowdPose annotations have no person masks (only boxes and keypoints), so a pool '
    'cannot be built from them: build it from a dataset with person segmentations, e.g. '
    'COCO train2017 (annotations/person_keypoints_train2017.json + train2017/) or '
    "OCHuman, and map its keypoints with InstancePaste's `keypoint_mapping` if the joints "
    'differ.'
)


# pixels a polygon may reach beyond the image (annotation tools place border points on or
# just past the edge) before it counts as drawn for another image size
POLYGON_TOLERANCE = 2.0


def _segmentation_mask(segmentation: Any, height: int, width: int) -> Optional[np.ndarray]:
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


def _valid_box(bbox: Any) -> bool:
    """Whether ``bbox`` is a COCO ``[x, y, w, h]`` of finite numbers with ``w, h > 0``."""
    try:
        box = np.asarray(bbox, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return box.shape == (4,) and bool(np.isfinite(box).all()) and box[2] > 0 and box[3] > 0


def _read_image(path: str) -> Tuple[Optional[np.ndarray], str]:
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


def _unique_images(images: List[Any], ann_file: str) -> Tuple[List[dict], int]:
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


def _has_segmentation(ann: dict) -> bool:
    segmentation = ann.get('segmentation')
    if isinstance(segmentation, dict):
        return bool(segmentation.get('counts'))
    return isinstance(segmentation, list) and any(
        isinstance(p, list) and len(p) >= 6 for p in segmentation
    )


def _person_categories(data: dict) -> Tuple[Optional[set], Optional[List[str]]]:
    """Ids of the person categories (``None``: accept every category) and the keypoint
    names of the first of them."""
    categories = data.get('categories') or []
    people = [c for c in categories if c.get('name') == 'person' or c.get('keypoints')]
    if not people:
        return None, None
    names = people[0].get('keypoints') or None
    return {c['id'] for c in people}, (list(names) if names else None)


def _overlap(mask: np.ndarray, origin: Tuple[int, int], boxes: List[Sequence[float]]) -> float:
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


def _border_share(mask: np.ndarray) -> float:
    """The largest share of the mask's box side that lies on the image border: the mask
    pixels in the image's first / last row over the box width, or in its first / last
    column over the box height (0 for a mask clear of the border)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    box_h, box_w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    on_rows = max(np.count_nonzero(mask[0]), np.count_nonzero(mask[-1])) / box_w
    on_cols = max(np.count_nonzero(mask[:, 0]), np.count_nonzero(mask[:, -1])) / box_h
    return float(max(on_rows, on_cols))


def _cut_out(img: np.ndarray, mask: np.ndarray, margin: int) -> Tuple[np.ndarray, int, int]:
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
    person_ids, keypoint_names = _person_categories(data)

    def is_person(ann: dict) -> bool:
        return person_ids is None or ann.get('category_id') in person_ids

    persons = [a for a in data['annotations'] if not a.get('iscrowd', 0) and is_person(a)]
    if persons and not any(_has_segmentation(a) for a in persons):
        raise ValueError(
            f'{ann_file}: none of its {len(persons)} person annotations has a '
            f'`segmentation`. {_CROWDPOSE_HINT}'
        )
    if keypoint_names is not None:
        num_keypoints = len(keypoint_names)
    else:
        lengths = [len(a['keypoints']) for a in persons if a.get('keypoints')]
        num_keypoints = lengths[0] // 3 if lengths else 0

    images, repeated_images = _unique_images(data['images'], ann_file)
    by_image = defaultdict(list)
    for ann in data['annotations']:
        by_image[ann.get('image_id')].append(ann)
    listed = {img['id'] for img in images}
    unlisted = [img_id for img_id in by_image if img_id not in listed]
    images = [img for img in images if img['id'] in by_image]

    skipped = OrderedDict((reason, 0) for reason in SKIP_REASONS)
    skipped['no_image_entry'] = sum(len(by_image[img_id]) for img_id in unlisted)
    filters = dict(
        min_area=min_area,
        min_keypoints=min_keypoints,
        max_overlap=max_overlap,
        max_instances=max_instances,
        margin=margin,
        min_on_mask=min_on_mask,
        max_border=max_border,
    )
    counts = dict(dropped_keypoints=0)
    writer = InstancePoolWriter(
        out_dir,
        num_keypoints=num_keypoints,
        keypoint_names=keypoint_names,
        margin=margin,
        meta=dict(
            source=dict(ann_file=osp.abspath(ann_file), img_dir=osp.abspath(img_dir)),
            filters=filters,
        ),
    )
    bar = None
    if progress:
        from mmengine.utils import ProgressBar

        bar = ProgressBar(len(images), file=sys.stdout)
    try:
        for image in images:
            anns = by_image[image['id']]
            if max_instances is not None and len(writer) >= max_instances:
                skipped['max_instances'] += sum(
                    1 for a in anns if not a.get('iscrowd', 0) and is_person(a)
                )
            else:
                _cut_image(
                    image, anns, img_dir, writer, skipped, is_person, num_keypoints, filters, counts
                )
            if bar is not None:
                bar.update()
        if bar is not None:
            sys.stdout.write('\n')
        num_kept = len(writer)
        if num_kept == 0:
            raise ValueError(
                f'no person of {ann_file} passed the filters ({filters}); '
                f'skipped: {_format_counts(skipped)}. '
                + _hint(skipped, num_keypoints, unlisted[:5])
            )
    except BaseException:
        writer.discard()
        raise
    index_file = writer.close()
    return dict(
        ann_file=ann_file,
        img_dir=img_dir,
        out_dir=out_dir,
        index_file=index_file,
        num_images=len(images),
        num_annotations=sum(len(a) for a in by_image.values()),
        num_kept=num_kept,
        num_keypoints=num_keypoints,
        data_bytes=writer.offset,
        dropped_keypoints=counts['dropped_keypoints'],
        repeated_images=repeated_images,
        skipped=dict(skipped),
    )


def _cut_image(
    image: dict,
    anns: List[dict],
    img_dir: str,
    writer: InstancePoolWriter,
    skipped: Dict[str, int],
    is_person,
    num_keypoints: int,
    filters: dict,
    counts: Dict[str, int],
) -> None:
    """Apply the filters to the annotations of one image and add the kept people."""
    candidates = []
    for ann in anns:
        if ann.get('iscrowd', 0):
            skipped['crowd'] += 1
            continue
        if not is_person(ann):
            skipped['not_person'] += 1
            continue
        if not _has_segmentation(ann):
            skipped['no_segmentation'] += 1
            continue
        kpts = ann.get('keypoints') or [0] * (3 * num_keypoints)
        try:
            kpts = np.asarray(kpts, dtype=np.float64)
        except (TypeError, ValueError):
            kpts = np.zeros(0)
        if kpts.shape != (3 * num_keypoints,) or not np.isfinite(kpts).all():
            skipped['bad_keypoints'] += 1
            continue
        kpts = kpts.reshape(num_keypoints, 3)
        if 'bbox' in ann and not _valid_box(ann['bbox']):
            skipped['bad_box'] += 1
            continue
        if np.count_nonzero(kpts[:, 2] > 0) < filters['min_keypoints']:
            skipped['few_keypoints'] += 1
            continue
        candidates.append((ann, kpts))
    if not candidates:
        return

    img, reason = _read_image(osp.join(img_dir, image.get('file_name', '')))
    if img is None:
        skipped[reason] += len(candidates)
        return
    height, width = img.shape[:2]
    people = [a for a in anns if is_person(a)]
    max_instances = filters['max_instances']
    for ann, kpts in candidates:
        if max_instances is not None and len(writer) >= max_instances:
            skipped['max_instances'] += 1
            continue
        mask = _segmentation_mask(ann['segmentation'], height, width)
        if mask is None or not mask.any():
            skipped['bad_segmentation'] += 1
            continue
        if np.count_nonzero(mask) < filters['min_area']:
            skipped['small'] += 1
            continue
        if _border_share(mask) > filters['max_border']:
            skipped['border'] += 1
            continue
        labelled = kpts[:, 2] > 0
        kept = labelled & on_mask(mask, kpts[:, :2])
        if labelled.any() and (
            np.count_nonzero(kept) < filters['min_on_mask'] * np.count_nonzero(labelled)
            or np.count_nonzero(kept) < filters['min_keypoints']
        ):
            skipped['hidden'] += 1
            continue
        crop, x0, y0 = _cut_out(img, mask, filters['margin'])
        margin = filters['margin']
        boxes = [o['bbox'] for o in people if o is not ann and _valid_box(o.get('bbox'))]
        crop_mask = crop[margin : crop.shape[0] - margin, margin : crop.shape[1] - margin, 3]
        if _overlap(crop_mask, (x0 + margin, y0 + margin), boxes) > filters['max_overlap']:
            skipped['overlap'] += 1
            continue
        kpts = kpts.copy()
        kpts[kept, 0] -= x0
        kpts[kept, 1] -= y0
        kpts[~kept] = 0
        counts['dropped_keypoints'] += int(np.count_nonzero(labelled & ~kept))
        writer.add(crop, kpts, image_id=image.get('id'), ann_id=ann.get('id'))


def _format_counts(skipped: Dict[str, int]) -> str:
    counts = [f'{reason} {n}' for reason, n in skipped.items() if n]
    return ', '.join(counts) if counts else 'none'


def _hint(skipped: Dict[str, int], num_keypoints: int, unlisted: Sequence[Any] = ()) -> str:
    """What to change when nobody passed the filters."""
    top = max(skipped, key=lambda r: skipped[r])
    if skipped[top] == 0:
        return 'The file has no person annotations.'
    hints = dict(
        no_image_entry=(
            f'{skipped["no_image_entry"]} annotations name image ids that `images` does not '
            f'list (e.g. {list(unlisted)}): their `image_id` must be the `id` of an image '
            'entry.'
        ),
        unreadable_image='The image files exist but do not decode (truncated or not images).',
        few_keypoints=(
            'The annotations carry no keypoints: use min_keypoints=0 (--min-keypoints 0).'
            if num_keypoints == 0
            else 'Lower min_keypoints (--min-keypoints).'
        ),
        small='Lower min_area (--min-area).',
        border='Raise max_border (--max-border).',
        hidden='Lower min_on_mask (--min-on-mask).',
        overlap='Raise max_overlap (--max-overlap).',
        missing_image='Check that the image directory matches the annotation file.',
        no_segmentation=_CROWDPOSE_HINT,
        not_person='The file has no person category.',
    )
    return hints.get(top, '')


def format_summary(summary: Dict[str, Any]) -> str:
    """A few human-readable lines about what :func:`build_instance_pool` did.

    Args:
        summary (dict): Its return value.

    Returns:
        str: The text (no trailing newline).
    """
    lines = [
        f'instance pool: {summary["index_file"]}',
        f'  kept {summary["num_kept"]} of {summary["num_annotations"]} annotations '
        f'({summary["num_images"]} images, {summary["num_keypoints"]} keypoints, '
        f'{summary["data_bytes"] / 2**20:.1f} MiB of crops)',
    ]
    if summary.get('dropped_keypoints'):
        lines.append(
            f'  {summary["dropped_keypoints"]} labelled keypoints off their mask stored unlabelled'
        )
    lines += [f'  skipped {n:6d}  {reason}' for reason, n in summary['skipped'].items() if n]
    return '\n'.join(lines)
