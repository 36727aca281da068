# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The box frame of :class:`~dag_mmpose.models.heads.FGMHGCNHead` (``coord_frame='box'``, as the
authors' DAG release): the GCN's coordinates and offsets in [-1, 1] over each person's box
instead of over the crop.

A box is ``(x0, y0, w, h)`` in crop pixels, one per sample: (B, 4).
"""

from typing import Tuple

import numpy as np
import torch
from mmpose.structures import PoseDataSample
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import OptSampleList
from torch import Tensor

__all__ = ['boxes_in_crop', 'mirror_boxes', 'to_box_frame']


def boxes_in_crop(
    batch_data_samples: OptSampleList, input_size: Tuple[int, int], device, owner: str
) -> Tensor:
    """Each sample's box in crop pixels, (B, 4) float32 ``(x0, y0, w, h)``.

    The box is ``gt_instances.bboxes`` (image pixels, ``x1, y1, x2, y2``; the detection box at
    test) mapped into the crop by the sample's ``input_center`` and ``input_scale``
    (``TopdownAffine``): exact at test; a training crop's rotation is left out (the frame then
    is the box shifted and scaled with the crop).

    Args:
        batch_data_samples (List[PoseDataSample]): The data samples.
        input_size (Tuple[int, int]): Crop size (w, h).
        device (torch.device | str): Device of the result.
        owner (str): The head's name, for the errors.

    Raises:
        ValueError: Naming the sample that lacks its box, centre or scale, or whose box has
            no size.
    """
    if not batch_data_samples:
        raise ValueError(
            f"{owner}(coord_frame='box') normalizes the GCN's coordinates over each "
            "person's box, which it reads from the data samples' gt_instances.bboxes"
        )
    size = np.asarray(input_size, dtype=np.float64)
    rows = [_box_in_crop(sample, size, owner) for sample in batch_data_samples]
    return torch.as_tensor(np.stack(rows), dtype=torch.float32, device=device)


def _box_in_crop(sample: PoseDataSample, size: np.ndarray, owner: str) -> np.ndarray:
    """One sample's box in crop pixels, ``(x0, y0, w, h)`` float64; ``size`` is (w, h)."""
    meta = sample.metainfo
    bboxes = sample.gt_instances.get('bboxes') if 'gt_instances' in sample else None
    missing = [k for k in ('input_center', 'input_scale') if k not in meta]
    if bboxes is None or missing:
        raise ValueError(
            f"{owner}(coord_frame='box') needs each data sample's "
            'gt_instances.bboxes and metainfo input_center / input_scale (PackPoseInputs '
            f'after TopdownAffine); sample {meta.get("id", meta.get("img_id"))} lacks '
            f'{"gt_instances.bboxes" if bboxes is None else ", ".join(missing)}'
        )
    box = np.asarray(to_numpy(bboxes), dtype=np.float64).reshape(-1, 4)[0]
    center = np.asarray(meta['input_center'], dtype=np.float64).reshape(2)
    scale = np.asarray(meta['input_scale'], dtype=np.float64).reshape(2)
    top_left = (box[:2] - (center - scale / 2)) * size / scale
    extent = (box[2:] - box[:2]) * size / scale
    if not (np.isfinite(top_left).all() and (extent > 0).all()):
        raise ValueError(
            f"{owner}(coord_frame='box') divides by the box size; sample "
            f'{meta.get("id", meta.get("img_id"))} has box {box.tolist()} (x1, y1, x2, '
            f'y2) with input_center {center.tolist()}, input_scale {scale.tolist()}'
        )
    return np.concatenate([top_left, extent])


def to_box_frame(keypoints: Tensor, boxes: Tensor) -> Tensor:
    """Crop pixels (B, K, 2) -> [-1, 1] over each sample's box (B, 4), float32; as released:
    ``(x - x0) / w - 0.5``, doubled."""
    boxes = boxes.float()[:, None]
    return ((keypoints.float() - boxes[..., :2]) / boxes[..., 2:] - 0.5) * 2.0


def mirror_boxes(boxes: Tensor, input_size: Tuple[int, int], shift: bool = True) -> Tensor:
    """The boxes (B, 4) mirrored into the flipped crop with mmpose's pixel flip (``x -> w - 1
    - x`` with ``shift``, ``x -> w - x`` without): a new tensor."""
    right = boxes[:, 0] + boxes[:, 2]
    mirrored = boxes.clone()
    mirrored[:, 0] = input_size[0] - float(shift) - right
    return mirrored
