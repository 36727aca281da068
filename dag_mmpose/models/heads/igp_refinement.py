# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The GCN passes of :class:`~dag_mmpose.models.heads.IGPGCNHead`: the initial pose (the base
head's, or in refiner mode the one each sample carries, with CoupleGraph's partner), the
joint features sampled at the CFA heatmap's soft-argmax, the progressive GCN on (x, y, score)
nodes, and the flip test's second pass."""

from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from mmpose.utils.typing import ConfigType, OptSampleList
from torch import Tensor

from ..utils.joint_sampling import (
    HeadOutputs,
    flip_normalized,
    flip_pixels,
    heatmap_to_pixels,
    pixels_to_normalized,
    sample_joint_features,
    soft_argmax,
)
from ..utils.skeleton_graph import SkeletonLinks, couple_links
from ..utils.wrapped_head import decode_base_pose, flip_average_outputs

__all__ = ['GCNPass', 'IGPRefinementMixin', 'Partner', 'gcn_graph', 'pose_nodes']

# the partner's pose (crop pixels (B, K, 2), scores (B, K)) of CoupleGraph, or None
Partner = Optional[Tuple[Tensor, Tensor]]


class GCNPass(NamedTuple):
    """One pass of the GCN: its poses and the CFA heatmap's soft-argmax, both in [-1, 1]."""

    poses: List[Tensor]  # P_1 ... P_L, each (B, K, 2)
    sampling_points: Tensor  # (B, K, 2)


def gcn_graph(
    skeleton_links: SkeletonLinks, num_keypoints: int, couple_graph: bool = False
) -> Tuple[SkeletonLinks, int]:
    """The GCN's graph, its links and node count: the skeleton of K joints, or with CoupleGraph
    two skeletons (target's nodes ``0 ... K-1``, the partner's ``K ... 2K-1``) with a link
    between the same joint of the two (:func:`~dag_mmpose.models.utils.couple_links`)."""
    if couple_graph:
        return couple_links(skeleton_links, num_keypoints), 2 * num_keypoints
    return skeleton_links, num_keypoints


def pose_nodes(
    poses: Sequence[Tuple[Tensor, Tensor]], input_size: Tuple[int, int], device
) -> Tensor:
    """The GCN's input nodes, detached: each pose's ``(x, y, score)``, the joints in [-1, 1]
    over the crop, the poses joined along the joints.

    Args:
        poses (Sequence[Tuple[Tensor, Tensor]]): Keypoints in crop pixels (B, K, 2) and
            scores (B, K); the target's, then with CoupleGraph the partner's.
        input_size (Tuple[int, int]): Crop size (w, h).
        device (torch.device | str): Device of the nodes.

    Returns:
        Tensor: (B, N * K, 3) float32 for N poses.
    """
    nodes = [
        torch.cat(
            [
                pixels_to_normalized(kpts.float().to(device), input_size),
                kpt_scores.float().to(device).unsqueeze(-1),
            ],
            dim=-1,
        )
        for kpts, kpt_scores in poses
    ]
    return torch.cat(nodes, dim=1).detach()


class IGPRefinementMixin:
    """The GCN passes of :class:`~dag_mmpose.models.heads.IGPGCNHead`.

    A mixin of the head: it reads the head's ``pose_head`` (``None`` in refiner mode),
    ``freeze_base``, ``num_keypoints``, ``level_channels``, ``input_size``, ``use_udp``,
    ``couple_graph`` and ``gcn`` (see the head's arguments).
    """

    def _split(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], Tensor, Tensor]:
        """``(r_1 ... r_L, H, base)`` -> levels, CFA heatmap, base features."""
        expected = len(self.level_channels) + 2
        if not isinstance(feats, (tuple, list)) or len(feats) != expected:
            got = len(feats) if isinstance(feats, (tuple, list)) else type(feats).__name__
            raise ValueError(
                f'IGPGCNHead expects the CFANeck output (r_1, ..., r_{expected - 2}, heatmap, '
                f'base): {expected} tensors, got {got}'
            )
        levels, heatmaps, base = list(feats[:-2]), feats[-2], feats[-1]
        got = tuple(level.shape[1] for level in levels)
        if got != self.level_channels:
            raise ValueError(
                f'IGPGCNHead(level_channels={self.level_channels}) got CFA maps with channels {got}'
            )
        if heatmaps.ndim != 4 or heatmaps.shape[1] != self.num_keypoints:
            raise ValueError(
                f'IGPGCNHead expects a CFA heatmap of shape (B, {self.num_keypoints}, H, W), '
                f'got {tuple(heatmaps.shape)}'
            )
        return levels, heatmaps, base

    def _forward_base(self, feats: Sequence[Tensor]) -> HeadOutputs:
        """The base head on ``base = feats[-1]`` (without gradient when frozen)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_base):
            return self.pose_head.forward(tuple(feats[-1:]))

    def _given_initial_pose(
        self, batch_data_samples: OptSampleList
    ) -> Tuple[Tensor, Tensor, Partner]:
        """Refiner mode: the ``initial_keypoints`` / ``initial_keypoint_scores`` that
        ``LoadInitialPose`` put in each sample, (B, K, 2) crop pixels and (B, K); with
        ``couple_graph`` also the partner's."""
        keypoints, scores = self._gather_pose(batch_data_samples, 'initial')
        partner = None
        if self.couple_graph:
            partner = self._gather_pose(batch_data_samples, 'partner')
        return keypoints, scores, partner

    def _gather_pose(self, batch_data_samples: OptSampleList, name: str) -> Tuple[Tensor, Tensor]:
        """``<name>_keypoints`` (B, K, 2) and ``<name>_keypoint_scores`` (B, K) of the
        samples' metainfo."""
        keypoints, scores = [], []
        for sample in batch_data_samples:
            if f'{name}_keypoints' not in sample.metainfo:
                extra = ' with_partner=True' if name == 'partner' else ''
                raise KeyError(
                    f'IGPGCNHead in refiner mode reads `{name}_keypoints` from each data '
                    f"sample's metainfo: add LoadInitialPose({extra.strip()}) after "
                    f"TopdownAffine and '{name}_keypoints', '{name}_keypoint_scores' to "
                    "PackPoseInputs' meta_keys"
                )
            keypoints.append(torch.as_tensor(sample.metainfo[f'{name}_keypoints']).reshape(-1, 2))
            scores.append(torch.as_tensor(sample.metainfo[f'{name}_keypoint_scores']).reshape(-1))
        keypoints, scores = torch.stack(keypoints).float(), torch.stack(scores).float()
        if keypoints.shape[1] != self.num_keypoints:
            raise ValueError(
                f'IGPGCNHead: the {name} poses have {keypoints.shape[1]} keypoints, the head '
                f'{self.num_keypoints}'
            )
        return keypoints, scores

    def _run_gcn(
        self,
        feats: Sequence[Tensor],
        keypoints: Tensor,
        scores: Tensor,
        partner: Partner = None,
    ) -> GCNPass:
        """The GCN on one pass: ``keypoints`` (B, K, 2) crop pixels, ``scores`` (B, K);
        with CoupleGraph also the partner's pose."""
        levels, heatmaps, _ = self._split(feats)
        locations, _ = soft_argmax(heatmaps)
        heatmap_size = (heatmaps.shape[-1], heatmaps.shape[-2])
        points = heatmap_to_pixels(locations, self.input_size, heatmap_size, self.use_udp)
        device = points.device
        poses = [(keypoints, scores)]
        sample_at = points
        if self.couple_graph:
            # the partner's features at its own given joints: the CFA heatmap is the target's
            poses.append(partner)
            sample_at = torch.cat([points, partner[0].float().to(device)], dim=1)
        joint_feats = [
            sample_joint_features(level, sample_at, self.input_size, use_udp=self.use_udp)
            for level in levels
        ]
        nodes = pose_nodes(poses, self.input_size, device)
        outputs = self.gcn(nodes.to(joint_feats[0].dtype), joint_feats)
        outputs = [out[:, : self.num_keypoints].float() for out in outputs]
        return GCNPass(outputs, pixels_to_normalized(points, self.input_size))

    def _initial_pose(
        self, feats: Sequence[Tensor], batch_data_samples: OptSampleList
    ) -> Tuple[Optional[HeadOutputs], Tensor, Tensor, Partner]:
        """Base outputs (``None`` in refiner mode), initial keypoints and scores, and the
        partner's pose (CoupleGraph; else ``None``)."""
        if self.pose_head is None:
            keypoints, scores, partner = self._given_initial_pose(batch_data_samples)
            return None, keypoints, scores, partner
        base_outputs = self._forward_base(feats)
        keypoints, scores = decode_base_pose(
            self.pose_head, base_outputs, self.num_keypoints, 'IGPGCNHead'
        )
        return base_outputs, keypoints, scores, None

    def _predict_with_flip(
        self,
        feats: List[Tuple[Tensor]],
        batch_data_samples: OptSampleList,
        test_cfg: ConfigType,
    ) -> Tuple[Optional[HeadOutputs], Tensor, Tensor, Optional[Tensor]]:
        """Flip test: the initial pose of both passes (the base head's flip-averaged
        prediction, or the given one), the GCN on both, ``P_L`` mirrored back and averaged.

        Returns:
            tuple: base outputs (averaged; ``None`` in refiner mode), initial keypoints (B, K,
            2, crop pixels), scores (B, K), refined ``P_L`` in [-1, 1] (``None`` without
            ``refine``).
        """
        flip_indices = list(batch_data_samples[0].metainfo['flip_indices'])
        partner = None
        if self.pose_head is None:
            base_outputs = None
            keypoints, scores, partner = self._given_initial_pose(batch_data_samples)
        else:
            outputs = self._forward_base(feats[0])
            flipped = self._forward_base(feats[1])
            base_outputs = flip_average_outputs(outputs, flipped, flip_indices, test_cfg)
            keypoints, scores = decode_base_pose(
                self.pose_head, base_outputs, self.num_keypoints, 'IGPGCNHead'
            )
        if not test_cfg.get('refine', True):
            return base_outputs, keypoints, scores, None

        shift = test_cfg.get('shift_coords', True)
        refined = self._run_gcn(feats[0], keypoints, scores, partner).poses[-1]

        def mirror(kpts: Tensor, kpt_scores: Tensor) -> Tuple[Tensor, Tensor]:
            flipped = flip_pixels(kpts, flip_indices, self.input_size, shift)
            return flipped, kpt_scores[:, flip_indices]

        mirrored_partner = None if partner is None else mirror(*partner)
        mirrored_pass = self._run_gcn(feats[1], *mirror(keypoints, scores), mirrored_partner)
        back = flip_normalized(mirrored_pass.poses[-1], flip_indices, self.input_size, shift)
        return base_outputs, keypoints, scores, 0.5 * (refined + back)
