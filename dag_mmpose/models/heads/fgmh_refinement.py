# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The GCN refinement of :class:`~dag_mmpose.models.heads.FGMHGCNHead`: the GCN built for its
input, the base head's pass and its decoded pose, the joint features, the GCN's offsets, the
test passes (flip test, normalization statistics), and what a pass produces
(:class:`Refinement`)."""

from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from mmpose.utils.typing import ConfigType, Features, OptConfigType, OptSampleList
from torch import Tensor

from ..utils.joint_sampling import (
    HeadOutputs,
    flip_pixels,
    pixels_to_normalized,
    sample_joint_features,
)
from ..utils.multi_hop_gcn import MultiHopGCN
from ..utils.norm import batch_statistics
from ..utils.wrapped_head import decode_base_pose, flip_average_outputs
from .box_frame import boxes_in_crop, mirror_boxes, to_box_frame

__all__ = ['FGMHRefinementMixin', 'Refinement']


class Refinement(NamedTuple):
    """Everything one pass of :meth:`FGMHGCNHead._refine` produces.

    - base_outputs: the wrapped head's output (heatmaps or SimCC vectors; with flip test
      averaged with the flipped pass's, as the base head's ``predict`` averages them).
    - keypoints (Tensor): initial pose in crop pixels (B, K, 2), exactly what the base head's
      decoder gives for ``base_outputs`` (its dtype kept).
    - scores (Tensor): the decoder's keypoint scores of the initial pose (B, K).
    - offsets (Tensor): the GCN's offsets in [-1, 1] units (B, K, 2), float32: of the crop,
      or with ``boxes`` of each person's box.
    - boxes (Tensor, optional): with ``coord_frame='box'`` the boxes the GCN's coordinates
      are normalized over, (B, 4) as ``(x0, y0, w, h)`` in crop pixels.
    """

    base_outputs: HeadOutputs
    keypoints: Tensor
    scores: Tensor
    offsets: Tensor
    boxes: Optional[Tensor] = None

    def initial(self, input_size: Tuple[int, int]) -> Tensor:
        """Initial pose in [-1, 1] over the crop (B, K, 2), float32."""
        return pixels_to_normalized(self.keypoints.float(), input_size)

    def refined(self, input_size: Tuple[int, int]) -> Tensor:
        """Refined pose in [-1, 1] over the crop (B, K, 2), float32: ``initial + offsets``
        (offsets in the box frame are first turned into crop pixels)."""
        if self.boxes is None:
            return self.initial(input_size) + self.offsets
        return pixels_to_normalized(self.refined_pixels(input_size).float(), input_size)

    def refined_pixels(self, input_size: Tuple[int, int]) -> Tensor:
        """Refined pose in crop pixels (B, K, 2), in the initial pose's dtype: the offsets
        are added in pixels, so zero offsets give the initial pose bit for bit."""
        if self.boxes is None:
            half_size = self.keypoints.new_tensor(input_size) / 2.0
        else:
            half_size = self.boxes[:, None, 2:].to(self.keypoints.dtype) / 2.0
        return self.keypoints + self.offsets.to(self.keypoints.dtype) * half_size


class FGMHRefinementMixin:
    """The GCN refinement of :class:`~dag_mmpose.models.heads.FGMHGCNHead`.

    A mixin of the head: it reads the head's ``pose_head``, ``num_keypoints``, ``input_size``,
    ``use_udp``, ``skeleton_links``, ``feat_channels``, ``gcn``, ``point_sampler``,
    ``sample_heatmaps``, ``use_scores``, ``feature_position`` and ``coord_frame`` (see the
    head's arguments).
    """

    def _heatmap_size(self) -> Tuple[int, int]:
        """(W, H) of the base head's heatmaps, from its codec."""
        heatmap_size = getattr(getattr(self.pose_head, 'decoder', None), 'heatmap_size', None)
        if heatmap_size is None:
            raise ValueError(
                "FGMHGCNHead(joint_features='regressed') regresses points from the base "
                'heatmaps, so it needs a heatmap base head whose decoder has a heatmap_size; '
                f'{type(self.pose_head).__name__} decodes with '
                f'{type(getattr(self.pose_head, "decoder", None)).__name__}'
            )
        return int(heatmap_size[0]), int(heatmap_size[1])

    def _build_gcn(self, gcn_cfg: OptConfigType) -> MultiHopGCN:
        """The refinement GCN: joint features in, a 2-D offset per joint out."""
        gcn_args = dict(hidden_channels=128, num_blocks=4, num_hops=2, non_local=True, dropout=0.0)
        gcn_args.update(gcn_cfg or {})
        pose_channels = 2 + int(self.use_scores)
        if self.point_sampler is not None:
            feat_channels = self.num_keypoints
        else:
            feat_channels = self.feat_channels + (self.num_keypoints if self.sample_heatmaps else 0)
        if self.feature_position == 'last':
            gcn_args['late_channels'] = feat_channels
            in_channels = pose_channels
        else:
            in_channels = feat_channels + pose_channels
        return MultiHopGCN(
            in_channels,
            2,
            skeleton_links=self.skeleton_links,
            num_joints=self.num_keypoints,
            **gcn_args,
        )

    def _initial_pose(self, outputs: HeadOutputs) -> Tuple[Tensor, Tensor]:
        """The base head's own decoding of ``outputs`` (crop pixels (B, K, 2), scores
        (B, K)), without gradient: :func:`~dag_mmpose.models.utils.decode_base_pose`."""
        return decode_base_pose(self.pose_head, outputs, self.num_keypoints, 'FGMHGCNHead')

    def _sample_at(self, maps: Tensor, keypoints: Tensor) -> Tensor:
        """Features of ``maps`` (B, C, H, W) at crop-pixel ``keypoints`` (B, K, 2): (B, K, C)."""
        return sample_joint_features(maps, keypoints.float(), self.input_size, use_udp=self.use_udp)

    def _forward_base(self, feats: Sequence[Tensor]) -> HeadOutputs:
        """The base head's forward on ``F_t = feats[-1]``."""
        return self.pose_head(tuple(feats[-1:]))

    def _joint_features(
        self, feats: Sequence[Tensor], base_outputs: HeadOutputs, keypoints: Tensor
    ) -> List[Tensor]:
        """The GCN's joint features, each (B, K, C_i): ``F_t = feats[-1]`` sampled at the
        crop-pixel ``keypoints`` (B, K, 2), with ``sample_heatmaps`` also ``base_outputs``
        (with ``joint_features='regressed'`` instead the base heatmaps sampled at regressed
        points)."""
        if self.point_sampler is not None:
            if not isinstance(base_outputs, Tensor):
                raise ValueError(
                    "FGMHGCNHead(joint_features='regressed') needs base heatmaps; the base "
                    'head outputs SimCC vectors'
                )
            joint_feats = [self.point_sampler(base_outputs)[0]]
        else:
            joint_feats = [self._sample_at(feats[-1], keypoints)]
        if self.sample_heatmaps:
            if not isinstance(base_outputs, Tensor):
                raise ValueError(
                    'FGMHGCNHead(sample_heatmaps=True) needs a heatmap base head; the '
                    'base head outputs SimCC vectors'
                )
            joint_feats.append(self._sample_at(base_outputs, keypoints))
        return joint_feats

    def _offsets(
        self,
        feats: Sequence[Tensor],
        base_outputs: HeadOutputs,
        keypoints: Tensor,
        scores: Tensor,
        boxes: Optional[Tensor] = None,
    ) -> Tensor:
        """The GCN's offsets (B, K, 2) in [-1, 1] units, float32, for the pose ``keypoints``
        (crop pixels, B x K x 2) with ``scores`` (B, K) on the features ``feats``; the units
        are those of the crop, or with ``boxes`` ((B, 4) ``(x0, y0, w, h)`` in crop pixels)
        those of each box.

        The GCN's input: the joint features (:meth:`_joint_features`), then the joints in
        [-1, 1] and with ``use_scores`` the scores.
        """
        joint_feats = self._joint_features(feats, base_outputs, keypoints)
        # one dtype for the GCN input, that of the features (fp16 / bf16 under autocast
        # or a half model); the refined pose itself is added in float32
        dtype = joint_feats[0].dtype
        if boxes is None:
            coords = pixels_to_normalized(keypoints.float(), self.input_size)
        else:
            coords = to_box_frame(keypoints, boxes)
        pose = [coords.to(dtype)]
        if self.use_scores:
            pose.append(scores.unsqueeze(-1).to(dtype))
        if self.feature_position == 'last':
            return self.gcn(torch.cat(pose, dim=-1), torch.cat(joint_feats, dim=-1)).float()
        return self.gcn(torch.cat(joint_feats + pose, dim=-1)).float()

    def _refine(self, feats: Sequence[Tensor], boxes: Optional[Tensor] = None) -> Refinement:
        """Base head forward, its decoded pose and the GCN's offsets.

        Args:
            feats (Sequence[Tensor]): Features; ``feats[-1]`` is ``F_t`` (B, C, H, W).
            boxes (Tensor, optional): With ``coord_frame='box'``, the boxes in crop pixels,
                (B, 4) ``(x0, y0, w, h)`` (:meth:`_boxes_in_crop`).

        Returns:
            Refinement: base outputs, initial keypoints and scores, offsets.
        """
        if self.gcn is None:
            raise RuntimeError('FGMHGCNHead(use_gcn=False) has no GCN refinement')
        base_outputs = self._forward_base(feats)
        keypoints, scores = self._initial_pose(base_outputs)
        offsets = self._offsets(feats, base_outputs, keypoints, scores, boxes)
        return Refinement(base_outputs, keypoints, scores, offsets, boxes)

    def _refine_with_flip(
        self,
        feats: List[Tuple[Tensor]],
        flip_indices: Sequence[int],
        test_cfg: ConfigType,
        boxes: Optional[Tensor] = None,
    ) -> Refinement:
        """Flip test: the base head's flip-averaged pose, refined on both passes.

        The base outputs of the two passes are averaged as the mmpose heads average them
        (``flip_mode``, ``shift_heatmap``) and decoded once, so the initial pose and the
        scores are the base head's flip-test prediction. The GCN refines that pose on the
        original pass and its mirror (``shift_coords``, default ``True``: mmpose's pixel flip
        ``x -> w - 1 - x``) on the flipped pass; the flipped pass's offsets are mirrored
        back (x negated, symmetric joints swapped) and the two are averaged. With
        ``refine_flip='original'`` the GCN runs once, on the original pass, as released.
        """
        refine_flip = test_cfg.get('refine_flip', 'average')
        if refine_flip not in ('average', 'original'):
            raise ValueError(
                "FGMHGCNHead: test_cfg refine_flip must be 'average' or 'original', got "
                f'{refine_flip!r}'
            )
        base_outputs = self._forward_base(feats[0])
        flipped_outputs = self._forward_base(feats[1])
        averaged = flip_average_outputs(base_outputs, flipped_outputs, flip_indices, test_cfg)
        keypoints, scores = self._initial_pose(averaged)
        flip_indices = list(flip_indices)

        offsets = self._offsets(feats[0], base_outputs, keypoints, scores, boxes)
        if refine_flip == 'original':
            return Refinement(averaged, keypoints, scores, offsets, boxes)
        shift = test_cfg.get('shift_coords', True)
        mirrored_offsets = self._offsets(
            feats[1],
            flipped_outputs,
            flip_pixels(keypoints, flip_indices, self.input_size, shift),
            scores[:, flip_indices],
            None if boxes is None else mirror_boxes(boxes, self.input_size, shift),
        )
        mirrored_offsets = mirrored_offsets[:, flip_indices] * offsets.new_tensor([-1.0, 1.0])
        return Refinement(
            base_outputs=averaged,
            keypoints=keypoints,
            scores=scores,
            offsets=0.5 * (offsets + mirrored_offsets),
            boxes=boxes,
        )

    def _refine_for_test(
        self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType
    ) -> Refinement:
        """The refinement pass of :meth:`predict` (both passes with ``flip_test``), its GCN
        normalizing with the statistics ``test_cfg['gcn_norm_stats']`` names."""
        norm_stats = test_cfg.get('gcn_norm_stats', 'running')
        if norm_stats not in ('running', 'batch'):
            raise ValueError(
                f"FGMHGCNHead: test_cfg gcn_norm_stats must be 'running' or 'batch', got "
                f'{norm_stats!r}'
            )
        flip_test = test_cfg.get('flip_test', False)
        device = (feats[0] if flip_test else feats)[-1].device
        boxes = self._boxes_in_crop(batch_data_samples, device)
        with batch_statistics(self.gcn, enabled=norm_stats == 'batch'):
            if flip_test:
                flip_indices = batch_data_samples[0].metainfo['flip_indices']
                return self._refine_with_flip(feats, flip_indices, test_cfg, boxes)
            return self._refine(feats, boxes)

    def _boxes_in_crop(self, batch_data_samples: OptSampleList, device) -> Optional[Tensor]:
        """With ``coord_frame='box'``: each sample's box in crop pixels, (B, 4) float32
        ``(x0, y0, w, h)`` (:func:`~dag_mmpose.models.heads.box_frame.boxes_in_crop`);
        ``None`` in the crop frame."""
        if self.coord_frame != 'box':
            return None
        return boxes_in_crop(batch_data_samples, self.input_size, device, 'FGMHGCNHead')
