# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Keypoint visibility flags of COCO-format files, and the conventions that give them meaning.

COCO labels each joint ``v=0`` (not labelled, ``x = y = 0``), ``v=1`` (labelled, not visible)
or ``v=2`` (labelled and visible). COCO-RE, the DAG paper's relabelling of COCO val2017
(ICASSP 2024), adds the occluded joints COCO left unlabelled as ``v=3``: "labelled and
occluded". Whatever sorts joints by occlusion (``OccludedKeypointMetric``,
``occlusion_statistics``, ``tools/analysis/dataset_stats.py``, the synthetic generator) takes
one setting, ``visibility_convention``:

================  ================  ==================
convention        flags in a file   occluded joints
================  ================  ==================
``'coco'``        0, 1, 2           v=1
``'coco-re'``     0, 1, 2, 3        v=1 and v=3
================  ================  ==================

A named convention rather than a free list of occluded flags: which flags a file may hold
and which of them are occluded go together, and no other pairing means anything (v=2 is
visible in both, and leaving COCO's own v=1 joints out of "occluded" would mislabel them).
Both conventions count every v > 0 as labelled, as mmpose and xtcocotools do.

Under ``'coco'`` a file holding v=3 is refused, never read: its v=3 joints would silently
drop out of every occluded figure, and they are the joints COCO-RE was made to measure. A
flag that neither convention knows (v=4, v=1.5, NaN, ...) is refused under both, naming
the annotations.

Example:
    >>> occluded_flags('coco-re')
    (1, 3)
    >>> annotations = [dict(id=7, keypoints=[5, 5, 3])]
    >>> check_visibility_flags(annotations, 'coco', 'val.json')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: val.json: 1 joint(s) of 1 annotation(s) are labelled v=3 ...
"""

from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

__all__ = [
    'RELABELLED',
    'VISIBILITY_CONVENTIONS',
    'check_visibility_convention',
    'check_visibility_flags',
    'labelled_flags',
    'occluded_flags',
]

# convention -> (the flags a file may hold, the occluded ones)
VISIBILITY_CONVENTIONS: Dict[str, Tuple[Tuple[int, ...], Tuple[int, ...]]] = {
    'coco': ((0, 1, 2), (1,)),
    'coco-re': ((0, 1, 2, 3), (1, 3)),
}
# COCO-RE's flag for "labelled and occluded"
RELABELLED = 3
_HINT = "set visibility_convention='coco-re' (on the command line: --visibility-convention coco-re)"


def check_visibility_convention(value: Any, owner: str) -> str:
    """``value`` after checking that it names a convention of :data:`VISIBILITY_CONVENTIONS`.

    Raises:
        ValueError: Naming ``owner``, the known conventions and the value.
    """
    if not (isinstance(value, str) and value in VISIBILITY_CONVENTIONS):
        raise ValueError(
            f'{owner}: visibility_convention must be one of '
            f'{", ".join(map(repr, VISIBILITY_CONVENTIONS))}, got {value!r}'
        )
    return value


def occluded_flags(convention: str) -> Tuple[int, ...]:
    """The flags of the occluded joints: ``(1,)`` for ``'coco'``, ``(1, 3)`` for COCO-RE."""
    return VISIBILITY_CONVENTIONS[convention][1]


def labelled_flags(convention: str) -> Tuple[int, ...]:
    """The flags of the labelled joints (every known flag but 0)."""
    return tuple(v for v in VISIBILITY_CONVENTIONS[convention][0] if v > 0)


def _flag_text(values: Sequence[float]) -> str:
    return ', '.join(f'{v:g}' for v in values)


def check_visibility_flags(annotations: Sequence[Any], convention: str, source: str) -> None:
    """Raise unless every non-crowd annotation holds only the convention's flags.

    Entries that are not dicts, crowd regions and keypoint lists that are not (x, y, v)
    triplets of numbers are passed over: the callers check those themselves.

    Args:
        annotations (Sequence): The ``annotations`` list of a COCO-format file.
        convention (str): ``'coco'`` or ``'coco-re'``.
        source (str): The file, for the error.

    Raises:
        ValueError: A flag neither convention knows (naming the annotation ids and their
            flags), or v=3 under ``'coco'`` (naming the ids and the COCO-RE setting).
    """
    known = VISIBILITY_CONVENTIONS['coco-re'][0]
    unknown: List[str] = []
    relabelled: List[Any] = []
    relabelled_joints = 0
    for index, ann in enumerate(annotations):
        if not isinstance(ann, dict) or ann.get('iscrowd', 0):
            continue
        try:
            joints = np.asarray(ann.get('keypoints', []), dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if joints.ndim != 1 or joints.size % 3:
            continue
        flags = joints.reshape(-1, 3)[:, 2]
        ann_id = ann.get('id', f'#{index}')
        bad = flags[~np.isin(flags, known)]
        if len(bad):
            unknown.append(f'{ann_id} (v={_flag_text(np.unique(bad).tolist())})')
        count = int(np.count_nonzero(flags == RELABELLED))
        if count:
            relabelled.append(ann_id)
            relabelled_joints += count
    allowed = VISIBILITY_CONVENTIONS[convention][0]
    if unknown:
        raise ValueError(
            f'{source}: {len(unknown)} annotation(s) have visibility flags outside '
            f'{_flag_text(allowed)} (visibility_convention={convention!r}), e.g. annotation '
            f'{", ".join(unknown[:5])}; COCO flags are 0 (unlabelled), 1 (occluded) and 2 '
            '(visible), COCO-RE adds 3 (labelled and occluded)'
        )
    if relabelled and RELABELLED not in allowed:
        raise ValueError(
            f'{source}: {relabelled_joints} joint(s) of {len(relabelled)} annotation(s) are '
            f"labelled v=3 (e.g. annotation ids {relabelled[:5]}), COCO-RE's flag for "
            f'"labelled and occluded", which visibility_convention={convention!r} (flags '
            f'{_flag_text(allowed)}) does not know: {_HINT} to count them as occluded joints'
        )
