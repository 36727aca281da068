# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Keypoint helpers shared by the occlusion transforms: mmpose's visibility layouts, the
labelled joints that lie inside the crop, and ``RandomFlip``'s flip and ``TopdownAffine``'s
warp repeated (and checked) for other points of the sample."""

from typing import Optional, Tuple

import numpy as np
from mmpose.structures.bbox import get_udp_warp_matrix, get_warp_matrix
from mmpose.structures.keypoint import flip_keypoints

__all__ = [
    'apply_warp',
    'check_finite_keypoints',
    'check_in_crop',
    'check_topdown_warp',
    'crop_keypoints',
    'describe_sample',
    'keypoint_extent',
    'keypoints_into_crop',
    'on_mask',
    'inside_crop',
    'labelled_inside_crop',
    'other_people',
    'topdown_warp_matrix',
    'visibility_flags',
]


def visibility_flags(visible: np.ndarray) -> np.ndarray:
    """``keypoints_visible`` as (N, K) float32 flags.

    mmpose keeps visibility as (N, K), or as (N, K, 2) ``(visibility, visibility weight)``
    once a dataset's keypoint weights are attached; the flag is the first of the two.
    """
    visible = np.asarray(visible, dtype=np.float32)
    return visible[..., 0] if visible.ndim == 3 else visible


def other_people(
    keypoints: Optional[np.ndarray],
    visible: Optional[np.ndarray],
    num_keypoints: int,
    owner: str,
) -> Tuple[np.ndarray, np.ndarray]:
    """``other_keypoints`` and ``other_keypoints_visible`` with one meaning of "absent" for
    every reader (``InstancePaste``, ``DAGHeatmap``).

    No keypoints means no other people, (0, K, 2); keypoints without visibility mean all
    their joints are visible, as mmpose reads a missing ``keypoints_visible``. Visibility
    without keypoints is an error naming ``owner``.

    Returns:
        tuple: keypoints (M, K, D) and visibility (M, K), as arrays (not copied or cast).
    """
    if keypoints is None:
        if visible is not None and np.size(visible):
            raise ValueError(
                f'{owner}: got `other_keypoints_visible` {np.shape(visible)} without '
                '`other_keypoints`'
            )
        keypoints = np.zeros((0, num_keypoints, 2), dtype=np.float32)
    keypoints = np.asarray(keypoints)
    if visible is None:
        visible = np.ones(keypoints.shape[:2], dtype=np.float32)
    return keypoints, np.asarray(visible)


def crop_keypoints(results: dict) -> Optional[np.ndarray]:
    """The target keypoints in crop pixels, (N, K, D), or ``None`` when there are none.

    After ``TopdownAffine`` they are ``transformed_keypoints`` (``keypoints`` stay in image
    pixels); without it (crop == image) ``keypoints``.
    """
    keypoints = results.get('transformed_keypoints', None)
    if keypoints is None or np.ndim(keypoints) != 3:
        keypoints = results.get('keypoints', None)
    if keypoints is None or np.ndim(keypoints) != 3 or np.shape(keypoints)[2] < 2:
        return None
    return np.asarray(keypoints, dtype=np.float32)


def inside_crop(points: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Which points (..., 2) lie inside a ``(width, height)`` crop; NaN never does."""
    width, height = size
    x, y = points[..., 0], points[..., 1]
    return (x >= 0) & (x < width) & (y >= 0) & (y < height)


def labelled_inside_crop(
    keypoints: np.ndarray, visible: Optional[np.ndarray], size: Tuple[int, int], owner: str
) -> np.ndarray:
    """(N, K) mask of the labelled joints (visibility > 0) inside the crop.

    Args:
        keypoints (np.ndarray): Keypoints (N, K, D >= 2) in crop pixels.
        visible (np.ndarray, optional): ``keypoints_visible``, (N, K) or (N, K, 2);
            ``None`` means every joint is labelled.
        size (Tuple[int, int]): Crop ``(width, height)``.
        owner (str): The transform's name, for the error.

    Raises:
        ValueError: When the visibility does not match the keypoints.
    """
    points = np.asarray(keypoints, dtype=np.float32)[..., :2]
    if visible is None:
        flags = np.ones(points.shape[:2], dtype=np.float32)
    else:
        flags = visibility_flags(visible)
    if flags.shape != points.shape[:2]:
        raise ValueError(
            f'{owner}: keypoints_visible {flags.shape} does not match keypoints '
            f'{np.shape(keypoints)}'
        )
    return (flags > 0) & inside_crop(points, size)


def on_mask(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Which ``points`` (N, 2; pixel ``(x, y)``) lie on ``mask`` (H, W; non-zero = on).

    A point is on the mask when a pixel of its bilinear support (the up to 4 pixels around
    it) is non-zero, i.e. when a bilinear warp of the mask is non-zero there: the instance
    pool builder keeps a person's joints by this test and ``InstancePaste`` drops a pasted
    joint by it, so both agree. Points outside the mask's array are off it.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    height, width = mask.shape[:2]
    result = np.zeros(len(points), dtype=bool)
    finite = np.isfinite(points).all(axis=1)
    x0 = np.floor(np.where(finite, points[:, 0], -2)).astype(np.int64)
    y0 = np.floor(np.where(finite, points[:, 1], -2)).astype(np.int64)
    for dx in (0, 1):
        for dy in (0, 1):
            x, y = x0 + dx, y0 + dy
            valid = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            hit = np.zeros(len(points), dtype=bool)
            hit[valid] = mask[y[valid], x[valid]] > 0
            result |= hit
    return result


def keypoint_extent(points: np.ndarray, min_points: int = 4) -> Optional[float]:
    """Body size from keypoints: the longer side of the box of ``points`` (N, 2), or
    ``None`` when fewer than ``min_points`` are given (too few joints to measure a body)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < max(min_points, 2):
        return None
    extent = float(np.max(points.max(axis=0) - points.min(axis=0)))
    return extent if extent > 0 else None


def check_in_crop(results: dict, owner: str) -> None:
    """Raise when a crop transform runs before ``TopdownAffine``.

    A top-down sample gets ``bbox_center`` from ``GetBBoxCenterScale`` and ``input_size``
    from ``TopdownAffine``; with the first and not the second the image is still the whole
    picture, so sizes meant for the crop (boxes, pasted people) would be wrong. Samples
    without a ``bbox_center`` (a bare crop) are not checked.
    """
    if 'bbox_center' in results and 'input_size' not in results:
        raise ValueError(
            f'{owner} works on the top-down crop, but TopdownAffine has not run yet (the '
            'sample has a `bbox_center` and no `input_size`): place it after TopdownAffine'
        )


def describe_sample(results: dict) -> str:
    """``'image 7 (images/a.jpg), annotation 12'``: which sample an error is about."""
    parts = []
    if 'img_id' in results:
        path = results.get('img_path')
        parts.append(f'image {results["img_id"]}' + (f' ({path})' if path else ''))
    elif results.get('img_path'):
        parts.append(f'image {results["img_path"]}')
    if results.get('id') is not None:
        parts.append(f'annotation {results["id"]}')
    return ', '.join(parts) or 'the sample'


def check_finite_keypoints(
    keypoints: Optional[np.ndarray], visible: Optional[np.ndarray], owner: str, what: str
) -> None:
    """Raise when keypoints (N, K, D) or their visibility hold NaN / infinite values.

    A NaN joint would be warped to NaN and silently dropped by the heatmap encoders (or
    break a warp check with a misleading message), so it is reported where it enters.

    Args:
        keypoints (np.ndarray, optional): Keypoints, any leading shape, (..., D >= 2).
        visible (np.ndarray, optional): Their ``keypoints_visible``.
        owner (str): The transform, for the error.
        what (str): Whose keypoints and where from (e.g. :func:`describe_sample`).
    """
    for key, values in (('keypoints', keypoints), ('keypoints_visible', visible)):
        if values is None:
            continue
        values = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            joints = sorted({int(j) for j in np.argwhere(bad)[:, 1]}) if values.ndim > 1 else []
            raise ValueError(
                f'{owner}: the {key} of {what} hold NaN or infinite values (joints '
                f'{joints[:8]}): every coordinate and visibility must be finite (check the '
                'annotation file)'
            )


def apply_warp(points: np.ndarray, warp_mat: np.ndarray) -> np.ndarray:
    """(..., 2) points through a 2x3 affine matrix, in float64."""
    return np.asarray(points, dtype=np.float64) @ warp_mat[:, :2].T + warp_mat[:, 2]


def topdown_warp_matrix(
    results: dict, input_size: Tuple[int, int], use_udp: bool = False
) -> np.ndarray:
    """The 2x3 matrix ``TopdownAffine(input_size, use_udp)`` used for this sample (from its
    ``bbox_center``, ``bbox_scale`` and ``bbox_rotation``)."""
    center = results['bbox_center'][0]
    scale = results['bbox_scale'][0]
    rot = float(results['bbox_rotation'][0]) if 'bbox_rotation' in results else 0.0
    if use_udp:
        return get_udp_warp_matrix(center, scale, rot, output_size=input_size)
    return get_warp_matrix(center, scale, rot, output_size=input_size)


def check_topdown_warp(
    results: dict,
    warp_mat: np.ndarray,
    owner: str,
    input_size: Tuple[int, int],
    use_udp: bool,
) -> None:
    """Raise unless ``warp_mat`` takes the target's keypoints exactly where
    ``TopdownAffine`` put them (``transformed_keypoints``).

    Points of other sources can only be placed right in the crop if the warp is the
    target's: a ``use_udp`` or ``input_size`` that differs from ``TopdownAffine``'s, a
    place before it or after a transform that moves the crop again would misplace them
    silently. Samples without target keypoints (inference) are not checked.

    Args:
        results (dict): The sample, after ``TopdownAffine``.
        warp_mat (np.ndarray): The 2x3 matrix to check.
        owner (str): The transform, for the error.
        input_size (Tuple[int, int]): Its ``input_size``, for the error.
        use_udp (bool): Its ``use_udp``, for the error.
    """
    keypoints = results.get('keypoints', None)
    if keypoints is None or np.ndim(keypoints) != 3:
        return
    check_finite_keypoints(
        keypoints, None, owner, f'the target ({describe_sample(results)}), before any warp'
    )
    transformed = results.get('transformed_keypoints', None)
    if transformed is None or np.shape(transformed)[:2] != np.shape(keypoints)[:2]:
        raise ValueError(
            f'{owner} found no `transformed_keypoints` of the target (shape '
            f'{np.shape(transformed)}, keypoints {np.shape(keypoints)}): place it right after '
            'TopdownAffine'
        )
    expected = apply_warp(np.asarray(keypoints)[..., :2], warp_mat)
    actual = np.asarray(transformed, dtype=np.float64)[..., :2]
    error = np.abs(expected - actual)
    # TopdownAffine warps in float32 (cv2.transform): allow its rounding, not more
    if not np.all(error <= 1e-2 + 1e-5 * np.abs(expected)):
        raise ValueError(
            f'{owner}(input_size={tuple(input_size)}, use_udp={use_udp}) does not reproduce '
            "the target's warp (transformed_keypoints are off by up to "
            f'{float(error.max()):.2f} px): give it the same use_udp and input_size as '
            'TopdownAffine and place it right after TopdownAffine'
        )


def keypoints_into_crop(
    results: dict,
    keypoints: np.ndarray,
    values: np.ndarray,
    owner: str,
    input_size: Tuple[int, int],
    use_udp: bool,
) -> Tuple[np.ndarray, np.ndarray]:
    """Image-space keypoints of another source (other people, another model's poses) into
    the sample's crop: flipped as ``RandomFlip`` flipped the image, then warped with
    ``TopdownAffine``'s matrix, checked first against the target's ``transformed_keypoints``
    (:func:`check_topdown_warp`).

    Args:
        results (dict): The sample, after ``TopdownAffine``: ``bbox_center``, ``bbox_scale``,
            ``bbox_rotation`` (optional), ``flip`` (optional) and, with a flip,
            ``img_shape``, ``flip_indices`` and ``flip_direction``.
        keypoints (np.ndarray): (N, K, 2) in pixels of the image as loaded (before any flip).
        values (np.ndarray): (N, K) per-joint values (visibility, scores) that move with the
            joints when a flip swaps left and right.
        owner (str): The transform, for the errors.
        input_size (Tuple[int, int]): Its ``input_size`` (w, h), as ``TopdownAffine``'s.
        use_udp (bool): Its ``use_udp``, as ``TopdownAffine``'s.

    Returns:
        tuple: The keypoints in crop pixels, (N, K, 2) float32, and ``values``, swapped with
        the joints by a flip (not cast). Without people (N = 0) there is nothing to flip.
    """
    if len(keypoints) and results.get('flip', False):
        img_h, img_w = results['img_shape'][:2]
        keypoints, values = flip_keypoints(
            keypoints,
            values,
            image_size=(img_w, img_h),
            flip_indices=results['flip_indices'],
            direction=results['flip_direction'],
        )
    warp_mat = topdown_warp_matrix(results, input_size, use_udp)
    check_topdown_warp(results, warp_mat, owner, input_size, use_udp)
    return apply_warp(keypoints, warp_mat).astype(np.float32), values
