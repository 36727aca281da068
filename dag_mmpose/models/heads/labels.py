# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Gather a refinement head's labels from the packed data samples, with errors that name the
transform or codec that should have produced a missing label; the base head's labels and
accuracy for heatmap and SimCC base heads alike."""

from typing import List, Optional, Tuple

import torch
from mmpose.evaluation.functional import pose_pck_accuracy, simcc_pck_accuracy
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import OptSampleList
from torch import Tensor

from ..utils.joint_sampling import HeadOutputs

__all__ = ['base_head_accuracy', 'base_head_labels', 'gather_labels', 'gather_weights']

# Which part of the head reads a label, for the error raised when it is missing
LABEL_USERS = {
    'multi_heatmaps': 'the multi-joint branch (use_multi_branch=True)',
    'multi_keypoint_weights': 'the multi-joint branch (use_multi_branch=True)',
    'keypoint_coords': 'the GCN refinement (use_gcn=True)',
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
    batch_data_samples: OptSampleList, field: str, key: str, owner: str = 'FGMHGCNHead'
) -> List[Tensor]:
    """Collect ``sample.<field>.<key>`` of every data sample as float32 tensors; ``owner``
    (the head) is named in the errors.

    Raises:
        KeyError: Naming the missing key and the transform / codec that produces it.
    """
    values = []
    for sample in batch_data_samples or []:
        container = getattr(sample, field, None)
        if container is None or key not in container:
            user = f' for {LABEL_USERS[key]}' if key in LABEL_USERS else ''
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
    batch_data_samples: OptSampleList, key: str, num_keypoints: int, owner: str = 'FGMHGCNHead'
) -> Tensor:
    """Collect the per-joint weights ``gt_instance_labels.<key>`` as one (B, K) tensor.

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
    outputs: HeadOutputs, batch_data_samples: OptSampleList, owner: str = 'FGMHGCNHead'
) -> Tuple[HeadOutputs, HeadOutputs]:
    """The base head's output in float32 and its labels: ``gt_fields.heatmaps`` for heatmaps,
    ``gt_instance_labels.keypoint_x_labels`` / ``keypoint_y_labels`` for SimCC vectors."""
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
    """PCK of the base output as the base head would log it (``acc_pose``); SimCC vectors
    need ``simcc_split_ratio``."""
    mask = to_numpy(weights) > 0
    if isinstance(pred, Tensor):
        _, avg_acc, _ = pose_pck_accuracy(output=to_numpy(pred), target=to_numpy(labels), mask=mask)
    else:
        _, avg_acc, _ = simcc_pck_accuracy(
            output=to_numpy(pred),
            target=to_numpy(labels),
            simcc_split_ratio=simcc_split_ratio,
            mask=mask,
        )
    return torch.tensor(avg_acc, device=weights.device)
