# Copyright (c) dag_mmpose contributors. All rights reserved.
"""IGP-GCN head of OPEC-Net: correct a top-down pose with a progressive GCN fed by image
features sampled at the joints of the CFA neck's maps."""

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (
    ConfigType,
    Features,
    OptConfigType,
    OptSampleList,
    Predictions,
)
from torch import Tensor

from ...utils.checks import check_number, check_size
from ..utils.graph_layers import ProgressiveGCN
from ..utils.joint_sampling import (
    HeadOutputs,
    flip_normalized,
    heatmap_to_pixels,
    normalized_to_pixels,
    pixels_to_normalized,
    sample_joint_features,
    soft_argmax,
)
from ..utils.skeleton_graph import couple_links, resolve_skeleton_links
from ..utils.wrapped_head import (
    base_head_frame,
    decode_base_pose,
    flip_average_outputs,
    move_base_head_keys,
    outputs_to_pred_fields,
    simcc_split_ratio,
)
from .labels import base_head_accuracy, base_head_labels, gather_labels, gather_weights

_OWN_PARTS = ('pose_head', 'gcn', 'coord_loss')
_REFINE_JOINTS = ('low_score', 'all')

# the partner's pose (crop pixels (B, K, 2), scores (B, K)) of CoupleGraph, or None
Partner = Optional[Tuple[Tensor, Tensor]]


class _Pass(NamedTuple):
    """One pass of the GCN: its poses and the CFA heatmap's soft-argmax, both in [-1, 1]."""

    poses: List[Tensor]  # P_1 ... P_L, each (B, K, 2)
    sampling_points: Tensor  # (B, K, 2)


@MODELS.register_module()
class IGPGCNHead(BaseHead):
    """Image-Guided Progressive GCN head of OPEC-Net (ECCV 2020, sec. 3.1).

    Reads the :class:`~dag_mmpose.models.necks.CFANeck` output ``(r_1, ..., r_L, H, base)``.
    The initial pose ``(x, y, score)`` (detached) is the GCN's input; the soft-argmax of the
    CFA heatmap ``H`` gives the points where ``r_1 ... r_L`` are sampled; the GCN
    (:class:`~dag_mmpose.models.utils.ProgressiveGCN`) joins the level-``l`` features and
    predicts the pose ``P_l`` after each level. Two modes:

    - *end-to-end* (``pose_cfg`` given): a stock mmpose head (heatmap or SimCC) on ``base``
      gives the initial pose through its own decoder, exactly as that head predicts alone;
      ``freeze_base=True`` freezes it (OPEC-Net trains the GCN on a frozen base model; freeze
      the backbone with its ``frozen_stages``);
    - *refiner* (``pose_cfg=None``): the initial pose is another model's prediction, read per
      instance by :class:`~dag_mmpose.datasets.transforms.LoadInitialPose` into the sample's
      ``initial_keypoints`` / ``initial_keypoint_scores`` (crop pixels).

    Loss, on the labelled joints (``keypoint_weights``) in the crop's [-1, 1] frame:
    ``sum_l w_l L1(P_l) + w_H L1(soft-argmax(H))`` with ``stage_weights`` ``(0.3, 0.5, 1.0)``
    and ``soft_argmax_weight`` 1.0 (OPEC-Net eq. 3), logged as ``loss_p1 ... loss_pL`` and
    ``loss_soft_argmax``; end to end and not frozen, also the base head's own loss
    (``loss_kpt``) and ``acc_pose``. The target coordinates are ``keypoint_coords`` of
    ``DAGHeatmap`` (end to end: its target heatmaps and decoding are ``MSRAHeatmap``'s /
    ``UDPHeatmap``'s bit for bit) or ``keypoint_labels`` of mmpose's ``RegressionLabel``
    alone (refiner mode: no heatmaps are needed; two encoders cannot both emit
    ``keypoint_weights``).

    Test (``test_cfg``): ``refine`` (default ``True``; ``False`` returns the initial pose),
    ``refine_joints``: ``'low_score'`` (OPEC-Net's rule: ``P_L`` replaces only joints whose
    initial score is below ``score_thr``, default 0.2) or ``'all'``; scores stay the initial
    ones; ``flip_test`` (the base outputs flip-averaged as mmpose's heads do, the GCN run on
    both passes, the flipped ``P_L`` mirrored back with ``shift_coords`` and averaged);
    ``output_initial``; ``output_heatmaps`` (the base head's). Details:
    ``docs/opec_net.md``.

    *CoupleGraph* (``couple_graph=True``, refiner mode, OPEC-Net sec. 3.2): the sample also
    carries the pose of the person it interacts with (``LoadInitialPose(with_partner=True)``:
    ``partner_keypoints`` / ``partner_keypoint_scores``); the GCN runs on a 2K-node graph,
    both skeletons plus a link between the same joint of the two
    (:func:`~dag_mmpose.models.utils.couple_links`), the partner's joint features sampled at
    its given pose; the target's K nodes are the output and the loss. A sample without a
    partner has zero partner nodes.

    Args:
        pose_cfg (dict, optional): The wrapped base head (end-to-end mode), with a
            ``decoder`` whose ``input_size`` is the crop size. ``None``: refiner mode.
        num_keypoints (int, optional): K; defaults to ``pose_cfg['out_channels']``.
        input_size (tuple, optional): Crop size (w, h), refiner mode only (end to end it is
            the base decoder's).
        use_udp (bool): Refiner mode: the crop is in UDP's frame. Defaults to ``False``.
        metainfo (dict, optional): Dataset meta information for the skeleton, e.g.
            ``dict(from_file='configs/_base_/datasets/crowdpose.py')``.
        skeleton_links (Sequence[Sequence[int]], optional): Or the skeleton itself.
        level_channels (Sequence[int]): Channels of ``r_1 ... r_L`` (the neck's
            ``out_channels``). Defaults to ``(256, 128, 128)``.
        hidden_channels (int): Channels after the GCN's input layer. Defaults to 128.
        dropout (float): Dropout inside the GCN. Defaults to 0.
        freeze_base (bool): Freeze the base head (end to end). Defaults to ``False``.
        stage_weights (Sequence[float]): ``w_1 ... w_L``. Defaults to ``(0.3, 0.5, 1.0)``.
        soft_argmax_weight (float): ``w_H``. Defaults to 1.0.
        coord_loss (dict, optional): The L1 term. Defaults to mmpose's
            ``dict(type='L1Loss', use_target_weight=True)``.
        couple_graph (bool): Refine the target together with its partner (CoupleGraph).
            Defaults to ``False``.
        init_cfg (dict, optional): Initialization config (the GCN keeps its own init).

    Example:
        >>> import torch
        >>> head = IGPGCNHead(
        ...     pose_cfg=dict(
        ...         type='HeatmapHead', in_channels=8, out_channels=17,
        ...         deconv_out_channels=None,
        ...         decoder=dict(type='MSRAHeatmap', input_size=(48, 64),
        ...                      heatmap_size=(12, 16), sigma=2.)),
        ...     metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
        ...     level_channels=(8, 4), stage_weights=(0.5, 1.0), hidden_channels=16)
        >>> feats = (torch.rand(2, 8, 8, 6), torch.rand(2, 4, 16, 12),
        ...          torch.rand(2, 17, 16, 12), torch.rand(2, 8, 16, 12))
        >>> heatmaps, poses = head(feats)
        >>> heatmaps.shape, [tuple(p.shape) for p in poses]
        (torch.Size([2, 17, 16, 12]), [(2, 17, 2), (2, 17, 2)])
    """

    def __init__(
        self,
        pose_cfg: OptConfigType = None,
        num_keypoints: Optional[int] = None,
        input_size: Optional[Tuple[int, int]] = None,
        use_udp: bool = False,
        metainfo: OptConfigType = None,
        skeleton_links: Optional[Sequence[Sequence[int]]] = None,
        level_channels: Sequence[int] = (256, 128, 128),
        hidden_channels: int = 128,
        dropout: float = 0.0,
        freeze_base: bool = False,
        stage_weights: Sequence[float] = (0.3, 0.5, 1.0),
        soft_argmax_weight: float = 1.0,
        coord_loss: OptConfigType = None,
        init_cfg: OptConfigType = None,
        couple_graph: bool = False,
    ) -> None:
        super().__init__(init_cfg)
        self.level_channels = tuple(int(c) for c in level_channels)
        if len(stage_weights) != len(self.level_channels):
            raise ValueError(
                f'IGPGCNHead: {len(stage_weights)} stage_weights for '
                f'{len(self.level_channels)} levels (level_channels={self.level_channels})'
            )
        self.stage_weights = tuple(
            check_number(w, 'stage_weights', 'IGPGCNHead', ge=0) for w in stage_weights
        )
        self.soft_argmax_weight = check_number(
            soft_argmax_weight, 'soft_argmax_weight', 'IGPGCNHead', ge=0
        )

        self.pose_head = None
        if pose_cfg is not None:
            if input_size is not None:
                raise ValueError(
                    'IGPGCNHead: input_size is for the refiner mode (pose_cfg=None); end to '
                    "end the crop size is the base head decoder's input_size"
                )
            self.pose_head = MODELS.build(pose_cfg)
            self.input_size, self.use_udp = base_head_frame(self.pose_head, 'IGPGCNHead')
            num_keypoints = pose_cfg.get('out_channels', num_keypoints)
        else:
            if input_size is None:
                raise ValueError(
                    'IGPGCNHead in refiner mode (pose_cfg=None) needs input_size, the crop '
                    'size (w, h) the initial poses are warped into'
                )
            if freeze_base:
                raise ValueError('IGPGCNHead(freeze_base=True) needs a base head (pose_cfg)')
            self.input_size = check_size(input_size, 'input_size', 'IGPGCNHead')
            self.use_udp = bool(use_udp)
        if num_keypoints is None:
            raise ValueError('IGPGCNHead needs num_keypoints (or pose_cfg with out_channels)')
        self.num_keypoints = int(num_keypoints)
        self.skeleton_links = resolve_skeleton_links(
            metainfo, skeleton_links, self.num_keypoints, 'IGPGCNHead'
        )
        self.couple_graph = bool(couple_graph)
        if self.couple_graph and self.pose_head is not None:
            raise ValueError(
                'IGPGCNHead(couple_graph=True) refines two given poses: use the refiner mode '
                '(pose_cfg=None) with LoadInitialPose(with_partner=True)'
            )
        graph_links, graph_nodes = self.skeleton_links, self.num_keypoints
        if self.couple_graph:
            graph_links = couple_links(self.skeleton_links, self.num_keypoints)
            graph_nodes = 2 * self.num_keypoints

        self.gcn = ProgressiveGCN(
            3,
            2,
            graph_links,
            graph_nodes,
            level_channels=self.level_channels,
            hidden_channels=hidden_channels,
            dropout=dropout,
        )
        self.coord_loss = MODELS.build(
            coord_loss if coord_loss is not None else dict(type='L1Loss', use_target_weight=True)
        )

        self.freeze_base = bool(freeze_base)
        if self.freeze_base:
            self.pose_head.requires_grad_(False)
        self._register_load_state_dict_pre_hook(self._map_base_head_keys)

    def train(self, mode: bool = True) -> 'IGPGCNHead':
        """A frozen base head stays in eval mode (its BatchNorm statistics too)."""
        super().train(mode)
        if self.freeze_base:
            self.pose_head.eval()
        return self

    # ----------------------------------------------------------------- forward parts

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
    ) -> _Pass:
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
        dtype = joint_feats[0].dtype
        pose = torch.cat(
            [
                torch.cat(
                    [
                        pixels_to_normalized(kpts.float().to(device), self.input_size),
                        kpt_scores.float().to(device).unsqueeze(-1),
                    ],
                    dim=-1,
                )
                for kpts, kpt_scores in poses
            ],
            dim=1,
        ).detach()
        outputs = self.gcn(pose.to(dtype), joint_feats)
        outputs = [out[:, : self.num_keypoints].float() for out in outputs]
        return _Pass(outputs, pixels_to_normalized(points, self.input_size))

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

    def forward(
        self, feats: Tuple[Tensor], batch_data_samples: OptSampleList = None
    ) -> Union[Tuple[HeadOutputs, List[Tensor]], List[Tensor]]:
        """The base output (end to end) and the poses ``P_1 ... P_L`` in [-1, 1].

        Args:
            feats (Tuple[Tensor]): The CFANeck output ``(r_1, ..., r_L, H, base)``.
            batch_data_samples (List[PoseDataSample], optional): Needed in refiner mode (they
                carry the initial poses).

        Returns:
            tuple | list: ``(base_outputs, poses)`` end to end, ``poses`` in refiner mode.
        """
        base_outputs, keypoints, scores, partner = self._initial_pose(feats, batch_data_samples)
        poses = self._run_gcn(feats, keypoints, scores, partner).poses
        return poses if base_outputs is None else (base_outputs, poses)

    # ----------------------------------------------------------------------- predict

    def predict(
        self,
        feats: Union[Tuple[Tensor], List[Tuple[Tensor]]],
        batch_data_samples: OptSampleList,
        test_cfg: OptConfigType = None,
    ) -> Predictions:
        """Predict the corrected pose in crop pixels (see the class docstring).

        Returns:
            List[InstanceData] | Tuple[List[InstanceData], List[PixelData]]: per sample
            ``keypoints`` (1, K, 2) and ``keypoint_scores`` (1, K) (the initial scores),
            with ``output_initial`` also ``initial_keypoints``; with ``output_heatmaps``
            (end to end) the base head's heatmaps.
        """
        test_cfg = {} if test_cfg is None else test_cfg
        flip_test = test_cfg.get('flip_test', False)
        refine_joints = test_cfg.get('refine_joints', 'low_score')
        if refine_joints not in _REFINE_JOINTS:
            raise ValueError(
                f'IGPGCNHead test_cfg refine_joints must be one of {_REFINE_JOINTS}, got '
                f'{refine_joints!r}'
            )
        if flip_test and not (isinstance(feats, list) and len(feats) == 2):
            raise ValueError(
                'IGPGCNHead.predict with flip_test expects a list of two feature tuples '
                '(original, flipped)'
            )

        if self.pose_head is not None and not test_cfg.get('refine', True):
            return self._predict_as_base(feats, batch_data_samples, test_cfg)
        if flip_test:
            base_outputs, keypoints, scores, refined = self._predict_with_flip(
                feats, batch_data_samples, test_cfg
            )
        else:
            base_outputs, keypoints, scores, partner = self._initial_pose(feats, batch_data_samples)
            refined = None
            if test_cfg.get('refine', True):
                refined = self._run_gcn(feats, keypoints, scores, partner).poses[-1]

        initial = keypoints.float()
        final = initial
        if refined is not None:
            refined = normalized_to_pixels(refined, self.input_size).to(initial.device)
            replace = torch.ones_like(scores, dtype=torch.bool)
            if refine_joints == 'low_score':
                replace = scores < test_cfg.get('score_thr', 0.2)
            final = torch.where(replace.to(initial.device).unsqueeze(-1), refined, initial)

        preds = [
            InstanceData(keypoints=kpts[None], keypoint_scores=kpt_scores[None])
            for kpts, kpt_scores in zip(to_numpy(final), to_numpy(scores.float()))
        ]
        if test_cfg.get('output_initial', False):
            for instances, kpts in zip(preds, to_numpy(initial)):
                instances.initial_keypoints = kpts[None]
        if test_cfg.get('output_heatmaps', False) and base_outputs is not None:
            return preds, outputs_to_pred_fields(base_outputs, preds)
        return preds

    def _predict_as_base(
        self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType
    ) -> Predictions:
        """``refine=False`` end to end: the base head's own ``predict`` (its numpy decoder,
        flip test included), bit for bit; ``output_initial`` gives the same keypoints."""
        flip_test = test_cfg.get('flip_test', False)
        base_feats = [tuple(f[-1:]) for f in feats] if flip_test else tuple(feats[-1:])
        result = self.pose_head.predict(base_feats, batch_data_samples, test_cfg)
        preds = result[0] if isinstance(result, tuple) else result
        if test_cfg.get('output_initial', False):
            for instances in preds:
                instances.initial_keypoints = instances.keypoints.copy()
        return result

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
            normalized = pixels_to_normalized(kpts.float(), self.input_size)
            flipped = flip_normalized(normalized, flip_indices, self.input_size, shift)
            return normalized_to_pixels(flipped, self.input_size), kpt_scores[:, flip_indices]

        mirrored_partner = None if partner is None else mirror(*partner)
        mirrored_pose = self._run_gcn(feats[1], *mirror(keypoints, scores), mirrored_partner).poses[
            -1
        ]
        back = flip_normalized(mirrored_pose, flip_indices, self.input_size, shift)
        return base_outputs, keypoints, scores, 0.5 * (refined + back)

    # -------------------------------------------------------------------------- loss

    def loss(
        self,
        feats: Tuple[Tensor],
        batch_data_samples: OptSampleList,
        train_cfg: OptConfigType = None,
    ) -> Dict[str, Tensor]:
        """``loss_p1 ... loss_pL``, ``loss_soft_argmax``; end to end and not frozen also
        ``loss_kpt`` and ``acc_pose`` of the base head."""
        train_cfg = {} if train_cfg is None else train_cfg
        base_outputs, keypoints, scores, partner = self._initial_pose(feats, batch_data_samples)
        result = self._run_gcn(feats, keypoints, scores, partner)

        weights = gather_weights(
            batch_data_samples, 'keypoint_weights', self.num_keypoints, 'IGPGCNHead'
        )
        target = self._target_coords(batch_data_samples).to(weights.device)
        losses = {}
        for index, (weight, pose) in enumerate(zip(self.stage_weights, result.poses), 1):
            losses[f'loss_p{index}'] = weight * self.coord_loss(pose, target, weights)
        losses['loss_soft_argmax'] = self.soft_argmax_weight * self.coord_loss(
            result.sampling_points, target, weights
        )
        if base_outputs is not None and not self.freeze_base:
            pred, labels = base_head_labels(base_outputs, batch_data_samples, 'IGPGCNHead')
            losses['loss_kpt'] = self.pose_head.loss_module(pred, labels, weights)
            if train_cfg.get('compute_acc', True):
                ratio = None
                if not isinstance(pred, Tensor):
                    ratio = simcc_split_ratio(self.pose_head, 'IGPGCNHead')
                losses['acc_pose'] = base_head_accuracy(pred, labels, weights, ratio)
        return losses

    def _target_coords(self, batch_data_samples: OptSampleList) -> Tensor:
        """The target joints in [-1, 1], (B, K, 2): ``keypoint_labels`` of mmpose's
        ``RegressionLabel`` ([0, 1] of the crop) or ``keypoint_coords`` of ``DAGHeatmap``."""
        labels = batch_data_samples[0].gt_instance_labels
        if 'keypoint_coords' in labels:
            coords = gather_labels(
                batch_data_samples, 'gt_instance_labels', 'keypoint_coords', 'IGPGCNHead'
            )
            return torch.cat(coords).float()
        if 'keypoint_labels' in labels:
            coords = gather_labels(
                batch_data_samples, 'gt_instance_labels', 'keypoint_labels', 'IGPGCNHead'
            )
            return 2.0 * torch.cat(coords).float() - 1.0
        raise KeyError(
            'IGPGCNHead needs the target joints as gt_instance_labels.keypoint_coords (the '
            "DAGHeatmap codec) or keypoint_labels (dict(type='RegressionLabel', ...) as the "
            'only encoder, refiner mode)'
        )

    # ---------------------------------------------------------------- checkpoints

    def _map_base_head_keys(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Load-state-dict pre-hook: a plain mmpose checkpoint's head keys move to
        ``<prefix>pose_head.*``."""
        if self.pose_head is not None:
            own = set(self._modules) | set(_OWN_PARTS)
            move_base_head_keys(state_dict, prefix, self.pose_head, own)
