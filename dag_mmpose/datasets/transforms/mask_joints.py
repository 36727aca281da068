# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Mask Joints: paint boxes over a few labelled joints of the crop to simulate occluders."""

from numbers import Number
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpose.registry import TRANSFORMS

from ...utils.checks import check_finite, check_interval, check_number
from .keypoint_utils import check_in_crop, crop_keypoints, labelled_inside_crop

FILL_MODES = ('constant', 'mean', 'noise')

# cv2.mean handles these dtypes with up to 4 channels, much faster than numpy's mean
_CV2_MEAN_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)


def _as_range(value: Union[Number, Sequence[Number]], name: str, **bounds) -> Tuple:
    """``value`` as a checked ``(low, high)`` pair: a number means ``(value, value)``.
    ``bounds`` (``gt=0``, ``integer=True``, ...) as in :func:`check_interval`."""
    if isinstance(value, Number) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, Number) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f'MaskJoints: {name} must be a number or a (min, max) pair, got {value!r}')
    return check_interval(value, name, 'MaskJoints', **bounds)


@TRANSFORMS.register_module()
class MaskJoints(BaseTransform):
    """Hide a few labelled joints of the target person under painted boxes (DAG's Mask
    Joints, simulating object occlusion).

    With probability ``prob`` it picks ``num_joints`` joints of the crop's person that are
    labelled (``keypoints_visible > 0``) and inside the crop, and paints a box over each,
    centered on the joint (optionally jittered). The targets are left untouched: the
    keypoints, their visibility and weights stay as they are, so the model must still
    find the hidden joints. Place it after ``TopdownAffine`` (it works in crop pixels)
    and before ``GenerateTarget``.

    The released DAG code paints 2 boxes of 20 to 38 pixels at 256x192, filled with 0,
    on half of the samples, but picks the joints ignoring their visibility, so some of
    its boxes land where the placeholder (0, 0) of an unlabelled joint is warped to and
    hide nothing; here only labelled joints are picked. Box sides are given as fractions
    of the crop's shorter side so that they scale with the input size: 20 / 192 = 0.104
    and 38 / 192 = 0.198, the defaults, give 20 to 38 pixels at 256x192 and 30 to 57
    pixels at 384x288. Width and height are drawn independently, so the boxes are
    rectangles.

    A sample without a labelled joint inside the crop (or without keypoints) is left
    unchanged, with an empty ``masked_boxes``. Grayscale (H, W) / (H, W, 1) and
    multi-channel images are supported; the image keeps its shape and dtype (fill values
    are rounded and clipped to the range of integer dtypes). The image is copied before
    painting, so arrays held elsewhere are not modified.

    Required Keys:

        - img
        - transformed_keypoints (optional, used in place of ``keypoints`` when given)
        - keypoints (optional, when ``transformed_keypoints`` is missing)
        - keypoints_visible (optional, all joints count as labelled when missing)

    Modified Keys:

        - img

    Added Keys:

        - masked_boxes (np.ndarray): The painted boxes in shape (B, 4), float32, as
          ``x1, y1, x2, y2`` in crop pixels (pixel edges: the painted pixels are columns
          ``x1 <= x < x2`` and rows ``y1 <= y < y2``), clipped to the image. (0, 4) when
          nothing was painted. For visualisation only; the model does not see it.

    Args:
        prob (float): Probability of masking a sample. Defaults to 0.5 (released DAG).
        num_joints (int | Tuple[int, int]): Number of joints to hide, or a ``(min, max)``
            range (both included) to draw it from. Fewer are hidden when the sample has
            fewer labelled joints in the crop. Defaults to 2 (released DAG).
        box_size (float | Tuple[float, float]): Side length of the boxes as a fraction of
            the crop's shorter side, or a ``(min, max)`` range to draw width and height
            from uniformly. Defaults to ``(0.104, 0.198)``, the released 20 to 38 pixels
            at 256x192.
        center_jitter (float): Shift of the box center from the joint, drawn uniformly in
            ``[-center_jitter, center_jitter]`` times the box width (x) and height (y).
            Up to 0.5 the joint stays under its box; box centers are kept inside the
            image. Defaults to 0 (boxes centered on the joints, as released).
        fill (str): How to paint the boxes: ``'constant'`` with ``fill_value``,
            ``'mean'`` with the mean color of the image, or ``'noise'`` with uniform
            noise in [0, 255] (mmpose's pixel range before the data preprocessor), drawn
            per pixel and channel. Defaults to ``'constant'``.
        fill_value (float | Sequence[float]): The color of ``fill='constant'``: one
            value for all channels or one per channel. Defaults to 0 (released DAG).
    """

    def __init__(
        self,
        prob: float = 0.5,
        num_joints: Union[int, Tuple[int, int]] = 2,
        box_size: Union[float, Tuple[float, float]] = (0.104, 0.198),
        center_jitter: float = 0.0,
        fill: str = 'constant',
        fill_value: Union[float, Sequence[float]] = 0,
    ) -> None:
        super().__init__()
        owner = 'MaskJoints'
        self.prob = check_number(prob, 'prob', owner, ge=0, le=1)
        if isinstance(num_joints, bool):
            raise TypeError(f'num_joints must be an int or an (min, max) pair, got {num_joints!r}')
        min_joints, max_joints = _as_range(num_joints, 'num_joints', ge=0, integer=True)
        self._size_range = _as_range(box_size, 'box_size', gt=0)
        center_jitter = check_number(center_jitter, 'center_jitter', owner, ge=0)
        if fill not in FILL_MODES:
            raise ValueError(f'fill must be one of {FILL_MODES}, got {fill!r}')
        if not isinstance(fill_value, Number) and not (
            isinstance(fill_value, (tuple, list))
            and len(fill_value) > 0
            and all(isinstance(v, Number) for v in fill_value)
        ):
            raise TypeError(
                f'fill_value must be a number or a sequence of numbers, got {fill_value!r}'
            )
        check_finite(fill_value, 'MaskJoints: fill_value')

        self.num_joints = num_joints if isinstance(num_joints, Number) else tuple(num_joints)
        self.box_size = box_size if isinstance(box_size, Number) else tuple(box_size)
        self.center_jitter = center_jitter
        self.fill = fill
        self.fill_value = fill_value if isinstance(fill_value, Number) else tuple(fill_value)
        self._num_range = (int(min_joints), int(max_joints))

    @staticmethod
    def _candidates(results: dict, img_w: int, img_h: int) -> np.ndarray:
        """Crop coordinates (n, 2) of the labelled joints inside the crop, all instances
        together (one in top-down)."""
        keypoints = crop_keypoints(results)
        if keypoints is None:
            return np.zeros((0, 2), dtype=np.float32)
        keep = labelled_inside_crop(
            keypoints, results.get('keypoints_visible', None), (img_w, img_h), 'MaskJoints'
        )
        return keypoints[..., :2][keep]

    @cache_randomness
    def _random_params(
        self, num_candidates: int
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[int]]:
        """Draw which joints to hide and the boxes' sizes, shifts and noise seed.

        Args:
            num_candidates (int): Number of labelled joints inside the crop.

        Returns:
            tuple:
            - index (np.ndarray): Indices of the chosen joints in shape (B,); empty when
              the sample is not masked.
            - size (np.ndarray): Box (width, height) as fractions of the crop's shorter
              side, in shape (B, 2).
            - shift (np.ndarray): Box center shifts as fractions of the box size, in
              shape (B, 2).
            - seed (int | None): Seed of the fill noise (``fill='noise'`` only).
        """
        empty = (np.zeros(0, dtype=np.int64), np.zeros((0, 2)), np.zeros((0, 2)), None)
        if num_candidates == 0 or np.random.rand() >= self.prob:
            return empty
        low, high = self._num_range
        num = min(int(np.random.randint(low, high + 1)), num_candidates)
        if num == 0:
            return empty
        index = np.random.choice(num_candidates, num, replace=False)
        size = np.random.uniform(*self._size_range, size=(num, 2))
        shift = np.random.uniform(-self.center_jitter, self.center_jitter, size=(num, 2))
        seed = int(np.random.randint(2**31)) if self.fill == 'noise' else None
        return index, size, shift, seed

    @staticmethod
    def _boxes(centers: np.ndarray, size: np.ndarray, img_w: int, img_h: int) -> np.ndarray:
        """Integer pixel boxes (B, 4) ``x1, y1, x2, y2`` (end exclusive), clipped to the
        image; each covers at least the pixel of its center."""
        # a jittered center may leave the image; keep it in so that no box comes out empty
        centers = np.clip(centers, 0, [img_w - 0.5, img_h - 0.5])
        x1y1 = np.floor(centers - size / 2)
        x2y2 = np.ceil(centers + size / 2)
        boxes = np.concatenate([x1y1, x2y2], axis=1)
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, img_w)
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, img_h)
        return boxes.astype(np.int64)

    def _fill_color(self, img: np.ndarray) -> np.ndarray:
        """The color of ``'constant'`` / ``'mean'`` fills, shape (C,) or () for 2-D
        images, as float64."""
        channels = img.shape[2] if img.ndim == 3 else None
        if self.fill == 'mean':
            if (
                img.dtype.type in _CV2_MEAN_DTYPES
                and (channels or 1) <= 4
                and img.flags.c_contiguous
            ):
                color = np.array(cv2.mean(img)[: channels or 1])
            else:
                color = img.reshape(-1, channels or 1).mean(axis=0, dtype=np.float64)
        else:
            color = np.asarray(self.fill_value, dtype=np.float64).reshape(-1)
            if color.size == 1:
                color = np.repeat(color, channels or 1)
            elif color.size != (channels or 1):
                raise ValueError(
                    f'MaskJoints: fill_value has {color.size} values but the image has '
                    f'{channels or 1} channel(s)'
                )
        return color if channels is not None else color[0]

    @staticmethod
    def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """``values`` in ``dtype``, rounded and clipped to the range of integer dtypes."""
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            values = np.clip(np.rint(values), info.min, info.max)
        elif dtype == np.bool_:
            values = values != 0
        return np.asarray(values).astype(dtype)

    def _paint(self, img: np.ndarray, boxes: np.ndarray, seed: Optional[int]) -> np.ndarray:
        """A copy of ``img`` with ``boxes`` painted."""
        img = img.copy()
        if self.fill == 'noise':
            rng = np.random.default_rng(seed)
            for x1, y1, x2, y2 in boxes:
                shape = (y2 - y1, x2 - x1) + img.shape[2:]
                img[y1:y2, x1:x2] = self._cast(rng.uniform(0.0, 255.0, size=shape), img.dtype)
        else:
            color = self._cast(self._fill_color(img), img.dtype)
            for x1, y1, x2, y2 in boxes:
                img[y1:y2, x1:x2] = color
        return img

    def transform(self, results: Dict) -> Optional[dict]:
        """The transform function of :class:`MaskJoints`.

        See ``transform()`` method of :class:`BaseTransform` for details.

        Args:
            results (dict): The result dict, after ``TopdownAffine``.

        Returns:
            dict: The result dict.
        """
        check_in_crop(results, 'MaskJoints')
        imgs = results['img']
        first = imgs[0] if isinstance(imgs, list) else imgs
        img_h, img_w = first.shape[:2]

        centers = self._candidates(results, img_w, img_h)
        index, size, shift, seed = self._random_params(len(centers))
        if len(index) == 0 or img_w == 0 or img_h == 0:
            results['masked_boxes'] = np.zeros((0, 4), dtype=np.float32)
            return results

        size = size * min(img_w, img_h)
        boxes = self._boxes(centers[index] + shift * size, size, img_w, img_h)
        if isinstance(imgs, list):
            results['img'] = [self._paint(img, boxes, seed) for img in imgs]
        else:
            results['img'] = self._paint(imgs, boxes, seed)
        results['masked_boxes'] = boxes.astype(np.float32)
        return results

    def __repr__(self) -> str:
        """print the basic information of the transform.

        Returns:
            str: Formatted string.
        """
        repr_str = self.__class__.__name__
        repr_str += f'(prob={self.prob}, '
        repr_str += f'num_joints={self.num_joints}, '
        repr_str += f'box_size={self.box_size}, '
        repr_str += f'center_jitter={self.center_jitter}, '
        repr_str += f'fill={self.fill!r}, '
        repr_str += f'fill_value={self.fill_value})'
        return repr_str
