# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Every split of a layout: written once, kept when it exists with the same settings, and
counted."""

import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ...utils.json_io import load_json
from ...utils.visibility import (
    check_visibility_convention,
    check_visibility_flags,
    occluded_flags,
)
from .layout import LAYOUTS, SplitSummary
from .write import _check_convention, generate_coco_style

__all__ = ['generate_all', 'summarize_annotations']


def summarize_annotations(
    ann_file: str, split: str = '', skipped: bool = False, visibility_convention: str = 'coco'
) -> SplitSummary:
    """Count images, instances and labelled / occluded joints of a COCO keypoint json.

    Args:
        ann_file (str): Path of the json.
        split (str): Split name to report.
        skipped (bool): Mark the summary as "kept existing file".
        visibility_convention (str): ``'coco'`` (occluded: v=1) or ``'coco-re'`` (v=1 and
            v=3). Defaults to ``'coco'``.

    Returns:
        SplitSummary: The counts.

    Raises:
        ValueError: A visibility flag the convention does not know (v=3 under ``'coco'``).
    """
    convention = check_visibility_convention(visibility_convention, 'summarize_annotations')
    data = load_json(ann_file)
    check_visibility_flags(data['annotations'], convention, ann_file)
    labelled = occluded = 0
    for ann in data['annotations']:
        vis = np.asarray(ann['keypoints']).reshape(-1, 3)[:, 2]
        labelled += int(np.count_nonzero(vis > 0))
        occluded += int(np.count_nonzero(np.isin(vis, occluded_flags(convention))))
    return SplitSummary(
        split=split,
        ann_file=ann_file,
        num_images=len(data['images']),
        num_instances=len(data['annotations']),
        num_labelled=labelled,
        num_occluded=occluded,
        skipped=skipped,
    )


def _check_kept_split(ann_path: str, wanted: Dict[str, Any]) -> None:
    """Raise unless the kept split was generated as ``wanted`` says (``variety``, ``seed``,
    ``img_size``, ``num_images``, ``visibility_convention`` ...; a value of ``None`` is not
    compared). Files written before a setting was recorded count as ``variety='full'`` and
    ``visibility_convention='coco'`` and are not compared on the others."""
    data = load_json(ann_path)
    info = dict(data.get('info', {}))
    info.setdefault('variety', 'full')
    info.setdefault('visibility_convention', 'coco')
    info['num_images'] = len(data.get('images', []))
    differ = [
        f'{key}={info[key]!r}, not {value!r}'
        for key, value in wanted.items()
        if value is not None and key in info and _plain(info[key]) != _plain(value)
    ]
    if differ:
        raise ValueError(
            f'{ann_path} was generated with {"; ".join(differ)}: pass force=True (--force) '
            'to regenerate it, or use another root'
        )


def _plain(value: Any) -> Any:
    """Tuples as lists, as JSON stores them."""
    return list(value) if isinstance(value, tuple) else value


def generate_all(
    root: str,
    layout: str = 'coco',
    num_images: Optional[Sequence[int]] = None,
    img_size: Tuple[int, int] = (192, 256),
    people: Optional[Tuple[int, int]] = None,
    occlusion: Optional[float] = None,
    seed: int = 0,
    force: bool = False,
    variety: str = 'full',
    visibility_convention: str = 'coco',
) -> List[SplitSummary]:
    """Write every split of one layout under ``root``; keep splits whose json exists (and
    was generated with the same settings).

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
        variety (str): ``'full'`` or ``'upright'`` (see :func:`generate_coco_style`).
        visibility_convention (str): ``'coco'`` or ``'coco-re'`` (occluded joints written
            v=3; see :func:`generate_coco_style`).

    Returns:
        list[SplitSummary]: One per split, ``skipped`` where an existing file was kept.

    Raises:
        ValueError: A kept split was drawn with other settings: another ``variety`` or
            ``visibility_convention`` (files written before the options existed count as
            ``'full'`` and ``'coco'``), ``seed``, ``img_size``, ``people`` or ``occlusion``
            (where given), or another image count (where ``num_images`` is given). Nothing
            is written then.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, got {layout!r}')
    _check_convention(layout, visibility_convention)
    spec = LAYOUTS[layout]
    counts = list(num_images) if num_images is not None else list(spec.default_num_images)
    if len(counts) == 1:
        counts = counts * len(spec.splits)
    if len(counts) != len(spec.splits):
        raise ValueError(
            f'the {layout} layout has splits {spec.splits}: give one image count '
            f'or {len(spec.splits)}, got {counts}'
        )
    kept = [spec.ann_path(root, split) for split in spec.splits]
    kept = [path for path in kept if osp.exists(path) and not force]
    for split, count in zip(spec.splits, counts):  # before writing anything
        if spec.ann_path(root, split) in kept:
            wanted = dict(
                variety=variety,
                visibility_convention=visibility_convention,
                seed=seed,
                img_size=img_size,
                people=people,
                occlusion=occlusion,
                num_images=count if num_images is not None else None,
            )
            _check_kept_split(spec.ann_path(root, split), wanted)
    summaries = []
    for split, count in zip(spec.splits, counts):
        ann_path = spec.ann_path(root, split)
        if ann_path in kept:
            summaries.append(summarize_annotations(ann_path, split, True, visibility_convention))
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
            variety=variety,
            visibility_convention=visibility_convention,
        )
        summaries.append(
            summarize_annotations(ann_path, split, visibility_convention=visibility_convention)
        )
    return summaries
