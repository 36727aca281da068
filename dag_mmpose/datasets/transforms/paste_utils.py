# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Pasting an RGBA cut-out into a crop: the warp, the alpha blend and the body sizes that
``InstancePaste`` (whole people) and ``PartPaste`` (body parts) share."""

import math
from typing import Optional, Tuple, Union

import cv2
import numpy as np

from ..instance_pool import InstancePool
from .keypoint_utils import keypoint_extent, on_mask

__all__ = [
    'DEFAULT_TARGET_SIZE',
    'MIN_SIZE_JOINTS',
    'TARGET_SIZE_RANGE',
    'blend_rgba',
    'check_paste_image',
    'clipped_box',
    'feather_ksize',
    'mask_box_side',
    'open_pool',
    'paste_matrix',
    'pooled_body_size',
    'shown_keypoints',
    'target_body_size',
    'warp_rgba',
]

# a person's body size is its keypoint extent when at least this many joints measure it
MIN_SIZE_JOINTS = 4
# the target's body size in crop heights: without enough joints to measure it (top-down
# crops pad the box by 1.25, so the person spans about 0.8), and the range it is held to
DEFAULT_TARGET_SIZE = 0.8
TARGET_SIZE_RANGE = (0.25, 1.0)


def open_pool(pool: Union[str, InstancePool]) -> Tuple[InstancePool, str]:
    """The opened pool and its folder, from a folder or an opened pool."""
    if isinstance(pool, InstancePool):
        return pool, pool.pool_dir
    return InstancePool(pool), pool


def check_paste_image(img: np.ndarray, owner: str) -> None:
    """Raise unless ``img`` can take the pool's 8-bit colours: uint8, or float in mmcv's
    0-255 range (floats are not checked for their range). Other integer images (uint16 from
    16-bit files, int32) hold another range, in which 0-255 colours would come out dark."""
    dtype = np.asarray(img).dtype
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        raise ValueError(
            f'{owner} pastes 8-bit colours (0-255) and takes uint8 or float (0-255) images, '
            f'got a {dtype} image: convert it to uint8 first (e.g. '
            "LoadImage(color_type='color'), which reads 8 bits per channel)"
        )


def clipped_box(
    x_min: float, y_min: float, x_max: float, y_max: float, width: int, height: int
) -> np.ndarray:
    """``[x1, y1, x2, y2]`` (float32) clipped to a ``width`` x ``height`` image."""
    return np.array(
        [
            min(max(x_min, 0), width),
            min(max(y_min, 0), height),
            min(max(x_max, 0), width),
            min(max(y_max, 0), height),
        ],
        dtype=np.float32,
    )


def paste_matrix(
    crop_shape: Tuple[int, int],
    angle: float,
    factor: float,
    center: Tuple[float, float],
) -> np.ndarray:
    """The 2x3 matrix from the pixels of a cut-out of ``crop_shape`` (h, w) to image pixels:
    rotated by ``angle`` degrees and scaled by ``factor`` about its centre, which lands on
    ``center`` (x, y)."""
    h, w = crop_shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, factor)
    matrix[0, 2] += center[0] - (w - 1) / 2
    matrix[1, 2] += center[1] - (h - 1) / 2
    return matrix


def feather_ksize(edge_softness: float) -> int:
    """Size of the feathering blur's kernel: +-2 sigma (``edge_softness``)."""
    return 2 * int(math.ceil(2 * edge_softness)) + 1


def warp_rgba(
    img_shape: Tuple[int, int],
    rgba: np.ndarray,
    matrix: np.ndarray,
    bounds: Tuple[float, float, float, float],
    edge_softness: float,
) -> Optional[Tuple[np.ndarray, np.ndarray, int, int]]:
    """Warp a BGRA cut-out into the image's frame.

    Work is limited to ``bounds`` (x1, y1, x2, y2: what the warped alpha can reach) and,
    after the warp, to the box of the warped alpha plus room for the edge feathering of
    :func:`blend_rgba` with the same ``edge_softness``.

    Returns:
        tuple | None: ``(warped BGRA, its alpha, x0, y0)`` of the region whose top-left
        pixel is ``(x0, y0)`` in the image; ``None`` when nothing lands in the image.
    """
    img_h, img_w = img_shape
    x0 = max(int(math.floor(bounds[0])), 0)
    y0 = max(int(math.floor(bounds[1])), 0)
    x1 = min(int(math.ceil(bounds[2])) + 1, img_w)
    y1 = min(int(math.ceil(bounds[3])) + 1, img_h)
    if x0 >= x1 or y0 >= y1:
        return None
    local = matrix.copy()
    local[0, 2] -= x0
    local[1, 2] -= y0
    warped = cv2.warpAffine(
        rgba,
        local,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    warped = warped.reshape(y1 - y0, x1 - x0, 4)
    mask = cv2.extractChannel(warped, 3)
    bx, by, bw, bh = cv2.boundingRect(mask)
    if bw == 0 or bh == 0:
        return None
    # keep room for the blur around the mask, so its edges are feathered everywhere but
    # where the crop itself cuts the cut-out
    pad = feather_ksize(edge_softness) // 2
    bx0, by0 = max(bx - pad, 0), max(by - pad, 0)
    bx1, by1 = min(bx + bw + pad, x1 - x0), min(by + bh + pad, y1 - y0)
    warped = warped[by0:by1, bx0:bx1]
    mask = mask[by0:by1, bx0:bx1].reshape(warped.shape[:2])
    return warped, mask, x0 + bx0, y0 + by0


def blend_rgba(
    img: np.ndarray,
    warped: np.ndarray,
    mask: np.ndarray,
    x0: int,
    y0: int,
    edge_softness: float,
) -> None:
    """Alpha-blend a warped cut-out (from :func:`warp_rgba`) into ``img`` (in place), its
    edges feathered inwards by a Gaussian of sigma ``edge_softness`` (0: hard edges). Any
    image layout and dtype; uint8 images are blended without any float conversion."""
    if edge_softness > 0:
        ksize = feather_ksize(edge_softness)
        # inward feathering (mask x blurred mask), so no source background shows; the
        # kernel spans +-2 sigma, which halves the cost of cv2's default +-3 sigma
        blurred = cv2.GaussianBlur(
            mask, (ksize, ksize), edge_softness, borderType=cv2.BORDER_REPLICATE
        )
        mask = cv2.multiply(mask, blurred, scale=1 / 255)
    mask = mask.reshape(warped.shape[:2])

    y1, x1 = y0 + mask.shape[0], x0 + mask.shape[1]
    if img.ndim == 2 or img.shape[2] < 3:
        color = cv2.cvtColor(warped, cv2.COLOR_BGRA2GRAY).reshape(mask.shape)
        target = img[y0:y1, x0:x1] if img.ndim == 2 else img[y0:y1, x0:x1, 0]
    else:
        color = cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR).reshape(mask.shape + (3,))
        target = img[y0:y1, x0:x1, :3]

    if img.dtype == np.uint8:
        # color * a / 255 + img * (255 - a) / 255 in saturating uint8 SIMD calls: exact
        # where a is 0 or 255, off by at most 1 elsewhere, and several times cheaper than a
        # float blend of the region
        weight = mask if color.ndim == 2 else cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
        pasted = cv2.multiply(color, weight, scale=1 / 255)
        kept = cv2.multiply(target, cv2.bitwise_not(weight), scale=1 / 255)
        if img.ndim == 2 or img.shape[2] in (1, 3):
            # a row-strided view of the (contiguous) image: cv2 writes into it
            cv2.add(pasted, kept, dst=target)
        else:  # the first channels of 2- or 4+-channel pixels: cv2 cannot address them
            target[...] = cv2.add(pasted, kept).reshape(target.shape)
        return
    # other dtypes: float blend of the region, in float64 where float32 would round the
    # untouched pixels
    work = np.result_type(img.dtype, np.float32)
    alpha = mask.astype(work) * (1 / 255)
    if color.ndim == 3:
        alpha = alpha[..., None]
    base = target.astype(work)
    blended = base + (color.astype(work) - base) * alpha
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        blended = np.clip(np.rint(blended), info.min, info.max)
    target[...] = blended


def target_body_size(joints: np.ndarray, height: int) -> float:
    """The target's body size in crop pixels: the extent of its labelled joints in the crop
    (``joints`` (J, 2)), held to :data:`TARGET_SIZE_RANGE` crop heights; without
    :data:`MIN_SIZE_JOINTS` joints, :data:`DEFAULT_TARGET_SIZE` crop heights."""
    size = keypoint_extent(joints, MIN_SIZE_JOINTS)
    if size is None:
        return DEFAULT_TARGET_SIZE * height
    low, high = TARGET_SIZE_RANGE
    return float(np.clip(size, low * height, high * height))


def shown_keypoints(rgba: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """A pooled person's keypoints (K, 3) with those off its alpha unlabelled (v = 0):
    pasted there they would mark whatever lies under them."""
    if not len(keypoints):
        return keypoints
    keypoints = np.array(keypoints, dtype=np.float32)
    keypoints[~on_mask(rgba[..., 3], keypoints[:, :2]), 2] = 0
    return keypoints


def mask_box_side(rgba: np.ndarray, margin: int) -> float:
    """The longer side of a pooled person's mask box (its crop without the pool's margin)."""
    h, w = rgba.shape[:2]
    return float(max(h - 2 * margin, w - 2 * margin, 1))


def pooled_body_size(rgba: np.ndarray, keypoints: np.ndarray, margin: int) -> float:
    """A pooled person's body size in pool pixels: the extent of its labelled joints (those
    of :func:`shown_keypoints`), else the longer side of its mask box."""
    if len(keypoints):
        size = keypoint_extent(keypoints[keypoints[:, 2] > 0, :2], MIN_SIZE_JOINTS)
        if size is not None:
            return size
    return mask_box_side(rgba, margin)
