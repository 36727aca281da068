# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Gather a refinement head's labels from the packed data samples, with errors that name the
calling head, the label and the transform or codec that should have produced it; the base
head's labels and accuracy for heatmap and SimCC base heads alike."""

from typing import List, Optional, Tuple

import torch
from mmpose.utils.typing import OptSampleList
from torch import Tensor

from ..utils.joint_sampling import HeadOutputs
from ..utils.torch_decoding import heatmap_maximum, simcc_maximum

__all__ = ['base_head_accuracy', 'base_head_labels', 'gather_labels', 'gather_weights']

# Which part of a head reads a label, per head, for the error raised when it is missing
LABEL_USERS = {
    'FGMHGCNHead': {
        'multi_heatmaps': 'the multi-joint branch (use_multi_branch=True)',
        'multi_keypoint_weights': 'the multi-joint branch (use_multi_branch=True)',
        'keypoint_coords': 'the GCN refinement (use_gcn=True)',
    },
}

# Where each label the loss reads comes from, for the error raised when it is missing
LABEL_SOURCES = {
    'heatmaps': "the base head's heatmap codec (e.g. DAGHeatmap or MSRAHeatmap)",
    'keypoint_weights': 'the codec that supervises the base head (e.g. DAGHeatmap)',
    'keypoint_x_labels': 'the SimCCLabel codec (combine it with '
    'DAGHeatmap(with_target_heatmaps=False) in GenerateTarget(encoder=[...]))',
    'keypoint_y_labels': 'the SimCCLabel codec (combine it with '
    'DAGHeatmap(with_target_heatmaps=False) in GenerateTarget(encoder=[...]))',
    'multi_heatmaps': 'the DAGHeatmap codec (GetOtherInstances must run before '
    'GenerateTarget to add the other people)',
    'multi_keypoint_weights': 'the DAGHeatmap codec',
    'keypoint_coords': 'the DAGHeatmap codec',
}


def gather_labels(
    batch_data_samples: OptSampleList, field: str, key: str, owner: str
) -> List[Tensor]:
    """Collect ``sample.<field>.<key>`` of every data sample as float32 tensors.

    Args:
        batch_data_samples (List[PoseDataSample]): The data samples.
        field (str): ``'gt_fields'`` or ``'gt_instance_labels'``.
        key (str): The label.
        owner (str): The calling head's name (e.g. ``'IGPGCNHead'``), named in the errors.

    Raises:
        KeyError: Naming the owner, the missing key and the transform / codec that produces
            it.
    """
    values = []
    users = LABEL_USERS.get(owner, {})
    for sample in batch_data_samples or []:
        container = getattr(sample, field, None)
        if container is None or key not in container:
            user = f' for {users[key]}' if key in users else ''
            raise KeyError(
                f'{owner}.loss needs `{field}.{key}` in every data sample{user}. It is '
                f'produced by {LABEL_SOURCES.get(key, "the codec")} in GenerateTarget, '
                "and PackPoseInputs packs it only when the codec's field/label mapping "
                'tables list it.'
            )
        values.append(container.get(key).float())
    if not values:
        raise ValueError(f'{owner}.loss needs a non-empty list of data samples')
    return values


def gather_weights(
    batch_data_samples: OptSampleList, key: str, num_keypoints: int, owner: str
) -> Tensor:
    """Collect the per-joint weights ``gt_instance_labels.<key>`` as one (B, K) tensor;
    ``owner`` (the calling head's name) is named in the errors.

    A top-down sample holds one instance, so each sample must hold exactly K weights. They
    are flattened per sample instead of concatenated as packed because combined encoders
    (``GenerateTarget(encoder=[SimCCLabel(...), DAGHeatmap(..., with_target_heatmaps=False)])``)
    wrap ``keypoint_weights`` in a list even when only one encoder emits it, and
    ``PackPoseInputs`` stacks that list into (1, 1, K): concatenated that is (B, 1, K), which
    breaks the SimCC accuracy and broadcasts the L1 pose loss over a wrong shape.

    Raises:
        ValueError: When a sample does not hold K weights, e.g. (2, 1, K) from two
            encoders that both emit ``keypoint_weights``.
    """
    values = gather_labels(batch_data_samples, 'gt_instance_labels', key, owner)
    for index, value in enumerate(values):
        if value.numel() != num_keypoints:
            raise ValueError(
                f'{owner} expects `gt_instance_labels.{key}` to hold one weight per '
                f'keypoint, (1, {num_keypoints}), in every data sample; sample {index} has '
                f'{tuple(value.shape)}. With GenerateTarget(encoder=[...]) only one encoder '
                'may emit keypoint_weights (use DAGHeatmap(with_target_heatmaps=False) '
                'next to the codec of the base head).'
            )
    return torch.cat([value.reshape(1, num_keypoints) for value in values])


def base_head_labels(
    outputs: HeadOutputs, batch_data_samples: OptSampleList, owner: str
) -> Tuple[HeadOutputs, HeadOutputs]:
    """The base head's output in float32 and its labels: ``gt_fields.heatmaps`` for heatmaps,
    ``gt_instance_labels.keypoint_x_labels`` / ``keypoint_y_labels`` for SimCC vectors;
    ``owner`` (the calling head's name) is named in the errors."""
    if isinstance(outputs, Tensor):
        labels = torch.stack(gather_labels(batch_data_samples, 'gt_fields', 'heatmaps', owner))
        return outputs.float(), labels
    labels = tuple(
        torch.cat(gather_labels(batch_data_samples, 'gt_instance_labels', key, owner))
        for key in ('keypoint_x_labels', 'keypoint_y_labels')
    )
    return tuple(o.float() for o in outputs), labels


def base_head_accuracy(
    pred: HeadOutputs,
    labels: HeadOutputs,
    weights: Tensor,
    simcc_split_ratio: Optional[float] = None,
) -> Tensor:
    """PCK of the base output as the base head would log it (``acc_pose``): mmpose's
    ``pose_pck_accuracy`` / ``simcc_pck_accuracy`` at threshold 0.05, in torch on the
    outputs' device (no host transfer). SimCC vectors need ``simcc_split_ratio``."""
    with torch.no_grad():
        if isinstance(pred, Tensor):
            height, width = pred.shape[-2:]
            pred_locs, _ = heatmap_maximum(pred.detach())
            gt_locs, _ = heatmap_maximum(labels)
        else:
            width = int(pred[0].shape[-1] / simcc_split_ratio)
            height = int(pred[1].shape[-1] / simcc_split_ratio)
            pred_locs = simcc_maximum(*(p.detach() for p in pred))[0] / simcc_split_ratio
            gt_locs = simcc_maximum(*labels)[0] / simcc_split_ratio
        # mmpose normalises (x, y) by (H, W), in float64, and compares in float32
        norm = pred_locs.new_tensor([height, width], dtype=torch.float64)
        distances = ((pred_locs.double() - gt_locs.double()) / norm).norm(dim=-1).float()
        valid = weights > 0
        hits = (distances < 0.05) & valid
        counted = valid.sum(dim=0)
        per_joint = hits.sum(dim=0).double() / counted.clamp_min(1)
        joints = counted > 0
        return (per_joint * joints).sum() / joints.sum().clamp_min(1)
