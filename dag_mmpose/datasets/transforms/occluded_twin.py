# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Occluded Twin: D-Slope's second sample, an occluded copy of the crop with the same labels."""

from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpose.registry import TRANSFORMS

from ...utils.checks import check_number

# what the occlusion transforms report of where they painted: a key holding (N, 4) boxes,
# or a list of dicts each with a 'bbox'
_OCCLUDER_BOXES = ('masked_boxes', 'pasted_instances', 'pasted_parts')
# mmpose's transforms that move the image or the labels: in a twin they would break the fit
# of the clean labels to it
_GEOMETRIC = (
    'GetBBoxCenterScale',
    'RandomFlip',
    'RandomHalfBody',
    'RandomBBoxTransform',
    'TopdownAffine',
    'BottomupRandomAffine',
    'BottomupResize',
    'BottomupRandomCrop',
    'BottomupRandomChoiceResize',
    'RandomFlipAroundRoot',
)
# what the twin's inner transforms must leave as it is: the sample's geometry and labels
_GEOMETRY_KEYS = (
    'bbox',
    'bbox_center',
    'bbox_scale',
    'bbox_rotation',
    'flip',
    'flip_direction',
    'keypoints',
    'keypoints_visible',
    'transformed_keypoints',
    'input_size',
    'input_center',
    'input_scale',
)


def _same(before, after) -> bool:
    """Whether two values of a sample key are equal (arrays element-wise, NaN == NaN)."""
    if before is None or after is None:
        return before is after
    before, after = np.asarray(before), np.asarray(after)
    floats = before.dtype.kind in 'fc' and after.dtype.kind in 'fc'
    return before.shape == after.shape and np.array_equal(before, after, equal_nan=floats)


@TRANSFORMS.register_module()
class OccludedTwin(BaseTransform):
    """Make an occluded twin of the crop for dual-sample training (D-Slope).

    D-Slope trains a general network on the clean crop and an expert network on an occluded
    copy of the same crop, both against the clean labels. This transform makes that copy: it
    runs ``transforms`` (any occlusion transforms that work on the crop: ``MaskJoints``,
    ``InstancePaste``, ``PartPaste``) on a copy of the sample and keeps only the resulting
    image, as ``results[twin_key]``. Everything else stays as it was: keypoints, visibility,
    other people and (made later by ``GenerateTarget``) the targets are the clean crop's,
    so what the inner transforms would add to the labels (``InstancePaste``'s pasted people)
    is dropped. With probability ``clean_prob`` the twin is left clean (a copy of the crop),
    as about a third of D-Slope's twins are.

    Place it after ``TopdownAffine`` (and ``GetOtherInstances``) and pack with
    ``PackDualPoseInputs``. Transforms that move the image or the labels do not belong
    inside: mmpose's geometric transforms (``RandomFlip``, ``TopdownAffine`` ...) are refused
    when it is built, and a twin whose inner transforms changed the sample's geometry or
    labels (``bbox_center``, ``keypoints``, ``flip`` ...) raises a ``ValueError`` naming the
    key: the clean labels would no longer fit it. With ``twin_key='img'`` the twin replaces
    the crop itself: one network then trains on exactly the images the expert network of
    D-Slope sees (the baseline that separates mutual learning from the augmentation).

    Required Keys:

        - img
        - what ``transforms`` require

    Added Keys:

        - ``twin_key`` (np.ndarray): The twin, same shape and dtype as ``img`` (with
          ``twin_key='img'``: Modified Keys: img)
        - twin_occluded (bool): Whether the occlusion transforms ran (False for a clean twin)
        - twin_boxes (np.ndarray): (N, 4) float32 ``x1, y1, x2, y2`` of what the inner
          transforms report they painted (``masked_boxes``, the ``bbox`` of
          ``pasted_instances`` and ``pasted_parts``); the twin equals the crop outside them.
          For visualisation; the model does not see it.

    Args:
        transforms (Sequence[dict | callable]): The occlusion transforms, configs or built
            (none: every twin is a clean copy, e.g. to time the model alone).
        clean_prob (float): Probability of a clean twin. Defaults to 1/3 (D-Slope).
        twin_key (str): Where the twin goes. Defaults to ``'img_twin'``.
    """

    def __init__(
        self,
        transforms: Sequence[Union[dict, Callable]],
        clean_prob: float = 1 / 3,
        twin_key: str = 'img_twin',
    ) -> None:
        super().__init__()
        self.clean_prob = check_number(clean_prob, 'clean_prob', 'OccludedTwin', ge=0, le=1)
        self.transforms: List[Callable] = []
        for step in transforms:
            if isinstance(step, dict):
                step = TRANSFORMS.build(step)
            if not callable(step):
                raise TypeError(
                    f'OccludedTwin: transforms must be configs or callables, got {step!r}'
                )
            if type(step).__name__ in _GEOMETRIC:
                raise ValueError(
                    f'OccludedTwin: {type(step).__name__} moves the image or the labels; the '
                    "twin shares the crop's labels, so only transforms that paint over the "
                    'crop belong inside (MaskJoints, InstancePaste, PartPaste, colour '
                    'transforms): put geometric ones before OccludedTwin'
                )
            self.transforms.append(step)
        self.twin_key = twin_key

    @cache_randomness
    def _is_clean(self) -> bool:
        return bool(np.random.rand() < self.clean_prob)

    def transform(self, results: Dict) -> Optional[dict]:
        """Add the twin of ``results['img']``.

        Args:
            results (dict): The result dict, after ``TopdownAffine``.

        Returns:
            dict: The result dict.
        """
        img = results['img']
        occluded = not self._is_clean()
        boxes = []
        twin = img.copy()
        if occluded:
            # arrays are copied so that no inner transform can write into the clean sample
            scratch = {
                k: v.copy() if isinstance(v, np.ndarray) else v
                for k, v in results.items()
                if k != 'img'
            }
            scratch['img'] = twin
            for step in self.transforms:
                scratch = step(scratch)
                if scratch is None:
                    raise RuntimeError(
                        f'OccludedTwin: {step!r} dropped the sample; only transforms that '
                        'paint over the crop belong in an occluded twin'
                    )
            self._check_geometry(results, scratch)
            twin = scratch['img']
            if twin.shape != img.shape or twin.dtype != img.dtype:
                raise ValueError(
                    f'OccludedTwin: the occlusion transforms turned the crop {img.shape} '
                    f'{img.dtype} into {twin.shape} {twin.dtype}; the twin must keep the '
                    "crop's geometry, so that the clean labels fit it"
                )
            boxes = self._occluder_boxes(scratch)
        results[self.twin_key] = twin
        results['twin_occluded'] = occluded
        results['twin_boxes'] = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return results

    def _check_geometry(self, results: dict, scratch: dict) -> None:
        """Raise when the inner transforms changed the sample's geometry or labels."""
        for key in _GEOMETRY_KEYS:
            if key not in results and key not in scratch:
                continue
            if not _same(results.get(key), scratch.get(key)):
                names = ', '.join(type(step).__name__ for step in self.transforms)
                raise ValueError(
                    f'OccludedTwin: its transforms ({names}) changed `{key}` of the sample; '
                    "the twin shares the crop's labels, so only transforms that paint over "
                    'the crop belong inside: put geometric ones before OccludedTwin'
                )

    @staticmethod
    def _occluder_boxes(scratch: dict) -> List[np.ndarray]:
        boxes = []
        for key in _OCCLUDER_BOXES:
            value = scratch.get(key, None)
            if value is None:
                continue
            if isinstance(value, np.ndarray):
                boxes.extend(value.reshape(-1, 4))
            else:
                boxes.extend(np.asarray(item['bbox']).reshape(4) for item in value)
        return boxes

    def __repr__(self) -> str:
        """print the basic information of the transform.

        Returns:
            str: Formatted string.
        """
        repr_str = self.__class__.__name__
        repr_str += f'(transforms={self.transforms!r}, '
        repr_str += f'clean_prob={self.clean_prob}, '
        repr_str += f'twin_key={self.twin_key!r})'
        return repr_str
