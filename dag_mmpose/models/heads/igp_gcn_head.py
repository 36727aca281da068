# Copyright (c) dag_mmpose contributors. All rights reserved.
"""IGP-GCN head of OPEC-Net: correct a top-down pose with a progressive GCN fed by image
features sampled at the joints of the CFA neck's maps.

The GCN passes (initial pose, CoupleGraph, flip test) are in :mod:`.igp_refinement`.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import MODELS
from mmpose.utils.typing import (
    ConfigType,
    Features,
    OptConfigType,
    OptSampleList,
    Predictions,
)
from torch import Tensor

from ...utils.checks import check_number, check_size
from ..utils.joint_sampling import HeadOutputs, normalized_to_pixels
from ..utils.sem_gcn import ProgressiveGCN
from ..utils.skeleton_graph import resolve_skeleton_links
from ..utils.wrapped_head import (
    base_head_frame,
    move_base_head_keys,
    outputs_to_pred_fields,
    pose_instances,
    simcc_split_ratio,
)
from .igp_refinement import IGPRefinementMixin, gcn_graph
from .labels import base_head_accuracy, base_head_labels, gather_labels, gather_weights

_OWN_PARTS = ('pose_head', 'gcn', 'coord_loss')
_REFINE_JOINTS = ('low_score', 'all')


@MODELS.register_module()
class IGPGCNHead(IGPRefinementMixin, BaseHead):
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
        couple_graph: bool = False,
        init_cfg: OptConfigType = None,
    ) -> None:
        super().__init__(init_cfg)
        self.level_channels = tuple(int(c) for c in level_channels)
        self._check_loss_weights(stage_weights, soft_argmax_weight)
        num_keypoints = self._build_base(pose_cfg, num_keypoints, input_size, use_udp, freeze_base)
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
        graph_links, graph_nodes = gcn_graph(
            self.skeleton_links, self.num_keypoints, self.couple_graph
        )
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

    # ------------------------------------------------------------------- construction

    def _check_loss_weights(
        self, stage_weights: Sequence[float], soft_argmax_weight: float
    ) -> None:
        """``stage_weights`` (one per level) and ``soft_argmax_weight``: finite, >= 0."""
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

    def _build_base(
        self,
        pose_cfg: OptConfigType,
        num_keypoints: Optional[int],
        input_size: Optional[Tuple[int, int]],
        use_udp: bool,
        freeze_base: bool,
    ) -> Optional[int]:
        """The base head and its crop frame (end to end), or the given crop frame (refiner
        mode): sets ``pose_head``, ``input_size``, ``use_udp``; returns K (``pose_cfg``'s
        ``out_channels`` end to end, else ``num_keypoints``)."""
        self.pose_head = None
        if pose_cfg is not None:
            if input_size is not None:
                raise ValueError(
                    'IGPGCNHead: input_size is for the refiner mode (pose_cfg=None); end to '
                    "end the crop size is the base head decoder's input_size"
                )
            self.pose_head = MODELS.build(pose_cfg)
            self.input_size, self.use_udp = base_head_frame(self.pose_head, 'IGPGCNHead')
            return pose_cfg.get('out_channels', num_keypoints)
        if input_size is None:
            raise ValueError(
                'IGPGCNHead in refiner mode (pose_cfg=None) needs input_size, the crop '
                'size (w, h) the initial poses are warped into'
            )
        if freeze_base:
            raise ValueError('IGPGCNHead(freeze_base=True) needs a base head (pose_cfg)')
        self.input_size = check_size(input_size, 'input_size', 'IGPGCNHead')
        self.use_udp = bool(use_udp)
        return num_keypoints

    def train(self, mode: bool = True) -> 'IGPGCNHead':
        """A frozen base head stays in eval mode (its BatchNorm statistics too)."""
        super().train(mode)
        if self.freeze_base:
            self.pose_head.eval()
        return self

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

        output_initial = initial if test_cfg.get('output_initial', False) else None
        preds = pose_instances(final, scores.float(), output_initial)
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
