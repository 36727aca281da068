# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Put another model's prediction of the sample's person into the crop, for a refiner."""

import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS
from mmpose.structures.bbox import bbox_overlaps, flip_bbox

from ...utils.checks import check_finite, check_number, check_size
from ...utils.json_io import load_json
from .keypoint_utils import keypoints_into_crop

_ON_MISSING = ('zeros', 'raise')


def load_keypoint_results(pred_file: str) -> Dict[int, List[Tuple[np.ndarray, np.ndarray]]]:
    """Read a COCO keypoint results file into ``{image_id: [(keypoints (K, 3), box), ...]}``.

    The file is what mmpose's ``CocoMetric(outfile_prefix=...)`` writes
    (``<prefix>.keypoints.json``) and COCO's result format: a list of
    ``{"image_id": int, "keypoints": [x1, y1, s1, ...], "score": float}`` with an optional
    ``"bbox": [x, y, w, h]``. ``box`` is that bbox as x1y1x2y2, else the extent of the
    keypoints.

    Raises:
        ValueError: Naming the file and the entry that does not have this layout, or whose
            keypoints, score or bbox hold NaN / infinite values or a negative box size.
    """
    entries = load_json(pred_file)
    if not isinstance(entries, list):
        raise ValueError(
            f'{pred_file}: expected a COCO keypoint results list (mmpose CocoMetric '
            f'outfile_prefix .keypoints.json), got a {type(entries).__name__}'
        )
    by_image = defaultdict(list)
    num_keypoints = None
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or 'image_id' not in entry or 'keypoints' not in entry:
            raise ValueError(
                f'{pred_file}: entry {index} has no "image_id" / "keypoints" (a COCO keypoint '
                f'result is {{"image_id", "keypoints": [x, y, s, ...], "score"}}): {entry!r:.200}'
            )
        image_id = entry['image_id']
        if not isinstance(image_id, (int, str)) or isinstance(image_id, bool):
            raise ValueError(
                f'{pred_file}: entry {index} has image_id {image_id!r}; COCO image ids are '
                'integers (or strings)'
            )
        where = f'{pred_file}: entry {index} (image {image_id})'
        keypoints = check_finite(entry['keypoints'], f'{where} "keypoints"')
        if keypoints.ndim != 1 or keypoints.size % 3:
            raise ValueError(f'{where} has {keypoints.size} keypoint values, not 3 per joint')
        keypoints = keypoints.astype(np.float32).reshape(-1, 3)
        if num_keypoints is None:
            num_keypoints = len(keypoints)
        elif len(keypoints) != num_keypoints:
            raise ValueError(
                f'{where} has {len(keypoints)} joints, the first entry {num_keypoints}'
            )
        if 'score' in entry:
            check_finite(entry['score'], f'{where} "score"')
        if 'bbox' in entry:
            bbox = check_finite(entry['bbox'], f'{where} "bbox"')
            if bbox.shape != (4,) or bbox[2] < 0 or bbox[3] < 0:
                raise ValueError(
                    f'{where} "bbox" must be [x, y, w, h] with w, h >= 0, got {entry["bbox"]!r}'
                )
            x, y, w, h = bbox.tolist()
            box = np.array([x, y, x + w, y + h], dtype=np.float32)
        else:
            box = np.concatenate([keypoints[:, :2].min(0), keypoints[:, :2].max(0)])
        by_image[image_id].append((keypoints, box))
    return dict(by_image)


@TRANSFORMS.register_module()
class LoadInitialPose(BaseTransform):
    """Load another model's prediction of the sample's person and warp it into the crop.

    For :class:`~dag_mmpose.models.heads.IGPGCNHead` in refiner mode: the poses to correct
    come from a COCO keypoint results file (what mmpose's ``CocoMetric`` writes with
    ``outfile_prefix``, see :func:`load_keypoint_results`). A sample's prediction is the one
    of its image whose box (its ``bbox`` or else its keypoints' extent) overlaps the sample's
    ``bbox`` most, at IoU >= ``min_iou``. Matching happens in the frame of the predictions,
    the image as loaded: ``RandomFlip`` mirrors the sample's ``bbox``, so a flipped sample's
    box is flipped back before it is compared. The matched pose is then flipped as
    ``RandomFlip`` flipped the image and warped with ``TopdownAffine``'s matrix, which is
    checked against the target's ``transformed_keypoints`` (place the transform right after
    ``TopdownAffine`` and give it the same ``input_size`` and ``use_udp``).

    A sample without a matching prediction (e.g. a person the other model's detector
    missed) gets zero keypoints and scores with ``on_missing='zeros'`` (the default: a
    refiner with OPEC-Net's low-score rule then predicts every joint itself) or raises a
    ``KeyError`` with ``on_missing='raise'``; ``initial_pose_matched`` says which.

    Required Keys:

        - img_id, bbox (x1y1x2y2, (1, 4)), bbox_center, bbox_scale, bbox_rotation
          (optional), img_shape, flip, flip_direction, flip_indices (with a flip),
          keypoints / transformed_keypoints (optional: check the warp)

    Added Keys:

        - initial_keypoints (np.ndarray): (1, K, 2) float32, crop pixels
        - initial_keypoint_scores (np.ndarray): (1, K) float32
        - initial_pose_matched (bool)

        - with ``with_partner``: partner_keypoints (1, K, 2), partner_keypoint_scores
          (1, K), partner_matched (bool)

    Pack them with ``PackPoseInputs(meta_keys=(... , 'initial_keypoints',
    'initial_keypoint_scores'))`` (and the partner's keys).

    With ``with_partner=True`` (OPEC-Net's CoupleGraph) the sample also gets the pose of its
    interacting partner: the other prediction of the image whose box overlaps the matched
    prediction's most, at IoU >= ``pair_iou`` (how pairs are formed is our choice: the paper
    does not say), flipped and warped into the same crop; without one, zeros
    (``partner_matched`` False).

    Args:
        pred_file (str): The COCO keypoint results file.
        input_size (Tuple[int, int]): ``TopdownAffine``'s input size (w, h).
        use_udp (bool): ``TopdownAffine``'s ``use_udp``. Defaults to ``False``.
        min_iou (float): Smallest box IoU of a match. Defaults to 0.3 (a keypoint extent
            is smaller than the person box).
        on_missing (str): ``'zeros'`` or ``'raise'``. Defaults to ``'zeros'``.
        with_partner (bool): Also load the partner's pose. Defaults to ``False``.
        pair_iou (float): Smallest box IoU of a partner. Defaults to 0.1.
    """

    def __init__(
        self,
        pred_file: str,
        input_size: Tuple[int, int],
        use_udp: bool = False,
        min_iou: float = 0.3,
        on_missing: str = 'zeros',
        with_partner: bool = False,
        pair_iou: float = 0.1,
    ) -> None:
        super().__init__()
        if on_missing not in _ON_MISSING:
            raise ValueError(f'on_missing must be one of {_ON_MISSING}, got {on_missing!r}')
        owner = 'LoadInitialPose'
        self.pred_file = pred_file
        self.input_size = check_size(input_size, 'input_size', owner)
        self.use_udp = bool(use_udp)
        self.min_iou = check_number(min_iou, 'min_iou', owner, ge=0, le=1)
        self.on_missing = on_missing
        self.with_partner = bool(with_partner)
        self.pair_iou = check_number(pair_iou, 'pair_iou', owner, ge=0, le=1)
        self._predictions: Optional[Dict[int, list]] = None

    def _lookup(self, results: dict) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """The best-overlapping prediction (K, 3) of the sample's image and, with
        ``with_partner``, its partner's; ``None`` where there is none."""
        if self._predictions is None:
            if not osp.isfile(self.pred_file) and '://' not in self.pred_file:
                raise FileNotFoundError(f'LoadInitialPose: no predictions file {self.pred_file}')
            self._predictions = load_keypoint_results(self.pred_file)
        candidates = self._predictions.get(results['img_id'], [])
        if not candidates:
            return None, None
        boxes = torch.from_numpy(np.stack([box for _, box in candidates]).astype(np.float32))
        target = torch.from_numpy(self._unflipped_bbox(results))
        ious = bbox_overlaps(target, boxes)[0]
        best = int(torch.argmax(ious))
        if float(ious[best]) < self.min_iou:
            return None, None
        partner = None
        if self.with_partner and len(candidates) > 1:
            pair_ious = bbox_overlaps(boxes[best : best + 1], boxes)[0]
            pair_ious[best] = -1.0
            other = int(torch.argmax(pair_ious))
            if float(pair_ious[other]) >= self.pair_iou:
                partner = candidates[other][0]
        return candidates[best][0], partner

    @staticmethod
    def _unflipped_bbox(results: dict) -> np.ndarray:
        """The sample's ``bbox`` (1, 4) in the frame of the predictions: the image as
        loaded. ``RandomFlip`` mirrors ``bbox`` with the image, and the predictions are not
        mirrored, so a flipped sample's box is flipped back (a flip is its own inverse)."""
        bbox = np.asarray(results['bbox'], dtype=np.float32).reshape(1, 4)
        if not results.get('flip', False):
            return bbox
        img_h, img_w = results['img_shape'][:2]
        return flip_bbox(
            bbox, image_size=(img_w, img_h), bbox_format='xyxy', direction=results['flip_direction']
        ).astype(np.float32)

    def _into_crop(self, results: dict, pose: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """A (K, 3) image-space pose flipped and warped as the sample: (1, K, 2), (1, K)."""
        keypoints, scores = keypoints_into_crop(
            results,
            pose[None, :, :2],
            pose[None, :, 2],
            'LoadInitialPose',
            self.input_size,
            self.use_udp,
        )
        return keypoints, np.asarray(scores, dtype=np.float32)

    def transform(self, results: Dict) -> Optional[dict]:
        """Add ``initial_keypoints``, ``initial_keypoint_scores``, ``initial_pose_matched``
        (and the partner's keys)."""
        num_keypoints = len(results['flip_indices'])
        prediction, partner = self._lookup(results)
        for pose in (prediction, partner):
            if pose is not None and len(pose) != num_keypoints:
                raise ValueError(
                    f'LoadInitialPose: {self.pred_file} has {len(pose)} joints per pose, '
                    f'the dataset {num_keypoints}'
                )
        if prediction is None and self.on_missing == 'raise':
            raise KeyError(
                f'LoadInitialPose: {self.pred_file} has no prediction for image '
                f'{results["img_id"]} overlapping bbox {np.round(results["bbox"], 1)} '
                f'at IoU >= {self.min_iou}'
            )
        keys = [('initial', prediction)]
        if self.with_partner:
            keys.append(('partner', partner))
        for name, pose in keys:
            if pose is None:
                keypoints = np.zeros((1, num_keypoints, 2), dtype=np.float32)
                scores = np.zeros((1, num_keypoints), dtype=np.float32)
            else:
                keypoints, scores = self._into_crop(results, pose)
            results[f'{name}_keypoints'] = keypoints
            results[f'{name}_keypoint_scores'] = scores
        results['initial_pose_matched'] = prediction is not None
        if self.with_partner:
            results['partner_matched'] = partner is not None
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(pred_file={self.pred_file!r}, '
            f'input_size={self.input_size}, use_udp={self.use_udp}, min_iou={self.min_iou}, '
            f'on_missing={self.on_missing!r}, with_partner={self.with_partner}, '
            f'pair_iou={self.pair_iou})'
        )
