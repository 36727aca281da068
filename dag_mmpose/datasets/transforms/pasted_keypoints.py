# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The keypoints of the people ``InstancePaste`` pastes: the pool's joints checked against and
mapped to the dataset's (``keypoint_mapping``), moved into the crop and appended to the
sample's ``other_keypoints``."""

from typing import List, Optional, Sequence, Tuple

import numpy as np

from .keypoint_utils import inside_crop, other_people

__all__ = [
    'append_other_people',
    'check_keypoint_mapping',
    'map_keypoints',
    'paste_num_keypoints',
    'pasted_keypoints',
    'sample_num_keypoints',
]

_MAPPING_HINT = (
    'build the pool from a dataset with the same joints or give '
    'keypoint_mapping=[(pool joint, dataset joint), ...]'
)


def check_keypoint_mapping(
    pool_k: int,
    num_keypoints: Optional[int],
    keypoint_mapping: Optional[Sequence[Tuple[int, int]]],
    where: str,
) -> None:
    """Check the dataset's ``num_keypoints`` (``None``: unknown) and ``keypoint_mapping``
    against the pool's ``pool_k`` keypoints; the errors start with ``where``."""
    if keypoint_mapping is not None:
        for src, dst in keypoint_mapping:
            if not 0 <= src < pool_k:
                raise ValueError(
                    f'{where}: keypoint_mapping pair {(src, dst)} names pool '
                    f'joint {src}, but the pool has {pool_k} keypoints'
                )
            if dst < 0 or (num_keypoints is not None and dst >= num_keypoints):
                raise ValueError(
                    f'{where}: keypoint_mapping pair {(src, dst)} names '
                    f'dataset joint {dst} outside [0, {num_keypoints})'
                )
    elif num_keypoints is not None and pool_k and pool_k != num_keypoints:
        raise ValueError(
            f'{where}: the pool has {pool_k} keypoints, the dataset {num_keypoints}; '
            + _MAPPING_HINT
        )


def sample_num_keypoints(results: dict) -> Optional[int]:
    """K of the sample, from its ``keypoints`` or ``other_keypoints``; ``None`` without."""
    for key in ('keypoints', 'other_keypoints'):
        value = results.get(key, None)
        if value is not None and np.ndim(value) == 3:
            return int(np.shape(value)[1])
    return None


def paste_num_keypoints(
    results: dict,
    pool_k: int,
    num_keypoints: Optional[int],
    keypoint_mapping: Optional[Sequence[Tuple[int, int]]],
    label_pasted: bool,
    where: str,
) -> Tuple[Optional[int], bool]:
    """K of the sample (else the transform's ``num_keypoints``, else the pool's without a
    mapping) and whether the pasted people's keypoints are appended, checked against the
    pool's ``pool_k`` keypoints; the errors start with ``where``."""
    sample_k = sample_num_keypoints(results)
    if sample_k is None:
        sample_k = (
            num_keypoints
            if num_keypoints is not None
            else (pool_k if keypoint_mapping is None else None)
        )
    with_keypoints = label_pasted and pool_k > 0 and sample_k is not None
    if with_keypoints and keypoint_mapping is None and pool_k != sample_k:
        raise ValueError(
            f'{where}: the pool has {pool_k} keypoints, the sample {sample_k}; ' + _MAPPING_HINT
        )
    if (
        with_keypoints
        and keypoint_mapping is not None
        and max((dst for _, dst in keypoint_mapping), default=-1) >= sample_k
    ):
        raise ValueError(
            f'{where}: keypoint_mapping names dataset joints beyond the {sample_k} keypoints '
            'of the sample'
        )
    return sample_k, with_keypoints


def map_keypoints(
    keypoints: np.ndarray,
    keypoint_mapping: Optional[Sequence[Tuple[int, int]]],
    num_keypoints: int,
) -> np.ndarray:
    """Pool keypoints (K_pool, 3) to the dataset's joints (K, 3); joints without a pair are
    unlabelled. Without a mapping the keypoints themselves."""
    if keypoint_mapping is None:
        return keypoints
    mapped = np.zeros((num_keypoints, 3), dtype=np.float32)
    for src, dst in keypoint_mapping:
        mapped[dst] = keypoints[src]
    return mapped


def pasted_keypoints(
    keypoints: np.ndarray, matrix: np.ndarray, size: Tuple[int, int]
) -> Tuple[np.ndarray, np.ndarray]:
    """A pasted person's keypoints (K, 3) through its 2x3 paste ``matrix``: crop pixels
    (K, 2) float32 and visibility (K,) float32, 1 for its labelled joints inside the
    ``(width, height)`` crop, else 0."""
    points = keypoints[:, :2] @ matrix[:, :2].T.astype(np.float32) + matrix[:, 2]
    inside = inside_crop(points, size)
    return points.astype(np.float32), ((keypoints[:, 2] > 0) & inside).astype(np.float32)


def append_other_people(
    results: dict,
    new_keypoints: List[np.ndarray],
    new_visible: List[np.ndarray],
    num_keypoints: int,
    owner: str,
) -> None:
    """Append people ((K, 2) keypoints and (K,) visibility each) to the sample's
    ``other_keypoints`` and ``other_keypoints_visible``, creating them when missing."""
    others, others_visible = other_people(
        results.get('other_keypoints', None),
        results.get('other_keypoints_visible', None),
        num_keypoints,
        owner,
    )
    results['other_keypoints'] = np.concatenate(
        [
            np.asarray(others, dtype=np.float32).reshape(-1, num_keypoints, 2),
            np.stack(new_keypoints),
        ],
        axis=0,
    )
    results['other_keypoints_visible'] = np.concatenate(
        [
            np.asarray(others_visible, dtype=np.float32).reshape(-1, num_keypoints),
            np.stack(new_visible),
        ],
        axis=0,
    )
