# Copyright (c) dag_mmpose contributors. All rights reserved.
"""FGMH-GCN head: wrap any mmpose top-down head and refine its pose with a multi-hop GCN.

The GCN refinement (its GCN, joint features, offsets, flip test) is in :mod:`.fgmh_refinement`,
the box frame in :mod:`.box_frame`.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.losses import KeypointMSELoss
from mmpose.registry import MODELS
from mmpose.utils.typing import (
    ConfigType,
    Features,
    OptConfigType,
    OptSampleList,
    Predictions,
)
from torch import Tensor, nn

from ..utils.joint_sampling import HeadOutputs, RegressedPointSampler
from ..utils.multi_hop_gcn import MultiHopGCN
from ..utils.skeleton_graph import resolve_skeleton_links
from ..utils.wrapped_head import (
    base_head_frame,
    move_base_head_keys,
    outputs_to_pred_fields,
    pose_instances,
    simcc_split_ratio,
)
from .fgmh_refinement import FGMHRefinementMixin
from .labels import base_head_accuracy, base_head_labels, gather_labels, gather_weights

# Output of the wrapped head: heatmaps (B, K, H, W) or SimCC vectors ((B, K, Wx), (B, K, Wy))
BaseOutputs = HeadOutputs

# Submodules of FGMHGCNHead itself, whether or not a switch left them out: checkpoint keys
# under these names are never moved into the base head (see _map_base_head_keys)
_OWN_PARTS = ('pose_head', 'multi_head', 'gcn', 'point_sampler', 'loss_module')


@MODELS.register_module()
class FGMHGCNHead(FGMHRefinementMixin, BaseHead):
    """Feature-Guided Multi-Hop GCN head of DAG (ICASSP 2024, sec. 2.4-2.5).

    Wraps a stock mmpose top-down head (``pose_cfg``) as mmpose's ``VisPredictHead`` does,
    adds a multi-joint heatmap branch on ``F_m`` (``loss_multi``, training only) and refines
    the base head's pose with a multi-hop modulated GCN fed by joint features sampled from
    ``F_t`` (``refined = initial + offset``, ``loss_coord``); the base output itself is
    supervised with the target person (``loss_target``). ``use_multi_branch`` / ``use_gcn``
    switch parts off for the paper's Table 2. The input is the neck's ``(F_m, F_t)``.
    Frames, switches, test config and checkpoint loading: ``docs/fgmh_gcn_head.md``.

    Args:
        pose_cfg (dict): Config of the wrapped mmpose head, with a ``decoder`` (its
            ``input_size`` is the crop size) and ``out_channels`` (K).
        multi_cfg (dict, optional): Config of the multi-joint branch, any mmpose head whose
            ``forward((F_m,))`` returns (B, K, H, W) (resized to the targets when they
            differ). Defaults to a ``HeatmapHead`` with one 1x1 conv (fits HRNet-like
            high-resolution features; give deconvolutions for ResNet).
        multi_in_index (int): Index of ``F_m`` in the features. Defaults to 0.
        metainfo (dict, optional): Dataset meta information for the skeleton, e.g.
            ``dict(from_file='configs/_base_/datasets/coco.py')``. Give this or
            ``skeleton_links`` (neither is needed with ``use_gcn=False``).
        skeleton_links (Sequence[Sequence[int]], optional): Skeleton as (i, j) joint pairs.
        gcn_cfg (dict, optional): Arguments of :class:`MultiHopGCN` besides the channels and
            the skeleton; defaults ``hidden_channels=128, num_blocks=4, num_hops=2,
            non_local=True, dropout=0.``.
        feat_channels (int, optional): Channels of ``F_t`` (and ``F_m``). Defaults to
            ``pose_cfg['in_channels']``.
        sample_heatmaps (bool): Also sample the base heatmaps into the joint features
            (heatmap base heads only). Defaults to ``False``.
        use_scores (bool): Append the initial scores to the joint features. Defaults to
            ``True``.
        use_multi_branch (bool): Build the multi-joint branch. Defaults to ``True``.
        use_gcn (bool): Build the GCN refinement. Defaults to ``True``.
        loss (dict, optional): Config of the loss, called like :class:`DAGLoss`. Defaults to
            ``dict(type='DAGLoss')``; SimCC / RTMCC base heads need a matching
            ``target_loss`` (e.g. ``KLDiscretLoss``).
        feature_position (str): Where the sampled joint features enter the GCN:
            ``'input'`` (with the coordinates and scores, ours) or ``'last'`` (the GCN's
            input is the coordinates and scores alone and the features join before its last
            residual block, as released). Defaults to ``'input'``.
        joint_features (str): What the GCN's joint features are: ``'sampled'`` (``F_t``
            sampled at the initial pose, the paper's) or ``'regressed'`` (the release's:
            the base heatmaps through a 3x3 conv, sampled at points an MLP regresses from
            them, :class:`~dag_mmpose.models.utils.RegressedPointSampler`; heatmap base
            heads only, ``sample_heatmaps`` off). Defaults to ``'sampled'``.
        regressor_channels (int): Width of that MLP. Defaults to 1024 (the release's).
        coord_frame (str): The frame of the GCN's coordinates and offsets: ``'crop'`` ([-1, 1]
            over the crop, ours) or ``'box'`` ([-1, 1] over each person's box, as released;
            the box is the sample's ``gt_instances.bboxes`` mapped into the crop by its
            ``input_center`` / ``input_scale``, so ``forward`` without data samples refuses
            it). The loss sees the refined pose in the crop frame either way. Defaults to
            ``'crop'``.
        init_cfg (dict, optional): Initialization config. Defaults to
            :attr:`default_init_cfg`.

    Example:
        >>> import torch
        >>> head = FGMHGCNHead(
        ...     pose_cfg=dict(
        ...         type='HeatmapHead', in_channels=8, out_channels=17,
        ...         deconv_out_channels=None,
        ...         decoder=dict(type='MSRAHeatmap', input_size=(48, 64),
        ...                      heatmap_size=(12, 16), sigma=2.)),
        ...     metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
        ...     gcn_cfg=dict(hidden_channels=16, num_blocks=1))
        >>> feats = (torch.rand(2, 8, 16, 12), torch.rand(2, 8, 16, 12))
        >>> heatmaps, refined = head(feats)
        >>> heatmaps.shape, refined.shape
        (torch.Size([2, 17, 16, 12]), torch.Size([2, 17, 2]))
    """

    def __init__(
        self,
        pose_cfg: ConfigType,
        multi_cfg: OptConfigType = None,
        multi_in_index: int = 0,
        metainfo: OptConfigType = None,
        skeleton_links: Optional[Sequence[Sequence[int]]] = None,
        gcn_cfg: OptConfigType = None,
        feat_channels: Optional[int] = None,
        sample_heatmaps: bool = False,
        use_scores: bool = True,
        use_multi_branch: bool = True,
        use_gcn: bool = True,
        loss: OptConfigType = None,
        feature_position: str = 'input',
        joint_features: str = 'sampled',
        regressor_channels: int = 1024,
        coord_frame: str = 'crop',
        init_cfg: OptConfigType = None,
    ) -> None:
        self._check_switches(
            pose_cfg,
            use_multi_branch,
            use_gcn,
            sample_heatmaps,
            feature_position,
            joint_features,
            coord_frame,
        )
        super().__init__(self.default_init_cfg if init_cfg is None else init_cfg)
        self.use_multi_branch = bool(use_multi_branch)
        self.use_gcn = bool(use_gcn)
        self.feature_position = feature_position
        self.joint_features = joint_features
        self.coord_frame = coord_frame
        self.multi_in_index = multi_in_index
        self.sample_heatmaps = sample_heatmaps
        self.use_scores = use_scores
        self._build_pose_head(pose_cfg)
        # the skeleton is the GCN's graph; without a GCN a given one is still checked
        self.skeleton_links: Optional[List[Tuple[int, int]]] = None
        if use_gcn or metainfo is not None or skeleton_links is not None:
            self.skeleton_links = resolve_skeleton_links(
                metainfo, skeleton_links, self.num_keypoints, 'FGMHGCNHead'
            )
        self.feat_channels = self._check_feat_channels(feat_channels, multi_cfg)
        self._build_parts(multi_cfg, regressor_channels, gcn_cfg, loss)
        # plain mmpose checkpoints name the base head's weights `head.*`
        self._register_load_state_dict_pre_hook(self._map_base_head_keys)

    # ------------------------------------------------------------------- construction

    @staticmethod
    def _check_switches(
        pose_cfg: ConfigType,
        use_multi_branch: bool,
        use_gcn: bool,
        sample_heatmaps: bool,
        feature_position: str,
        joint_features: str,
        coord_frame: str,
    ) -> None:
        """Refuse switches that leave nothing to build or that do not go together."""
        if not (use_multi_branch or use_gcn):
            raise ValueError(
                'FGMHGCNHead with use_multi_branch=False and use_gcn=False has no DAG part '
                'left: it would be the base head alone. Use the base head itself as the '
                f'model head instead (head=dict(type={pose_cfg.get("type")!r}, ...), the '
                'pose_cfg here, with its own loss)'
            )
        if feature_position not in ('input', 'last'):
            raise ValueError(
                f"feature_position must be 'input' or 'last', got {feature_position!r}"
            )
        if joint_features not in ('sampled', 'regressed'):
            raise ValueError(
                f"joint_features must be 'sampled' or 'regressed', got {joint_features!r}"
            )
        if joint_features == 'regressed' and sample_heatmaps:
            raise ValueError(
                "FGMHGCNHead(joint_features='regressed') samples the heatmaps already; "
                'sample_heatmaps=True is for the sampled F_t features'
            )
        if coord_frame not in ('crop', 'box'):
            raise ValueError(f"coord_frame must be 'crop' or 'box', got {coord_frame!r}")

    def _build_pose_head(self, pose_cfg: ConfigType) -> None:
        """The wrapped base head, K (``num_keypoints``) and its crop frame (``input_size``,
        ``use_udp``)."""
        self.pose_cfg = pose_cfg
        self.pose_head = MODELS.build(pose_cfg)
        num_keypoints = pose_cfg.get('out_channels', pose_cfg.get('num_joints'))
        if num_keypoints is None:
            raise ValueError("FGMHGCNHead needs 'out_channels' (K) in pose_cfg")
        self.num_keypoints = int(num_keypoints)
        self.input_size, self.use_udp = base_head_frame(self.pose_head, 'FGMHGCNHead')

    def _check_feat_channels(
        self, feat_channels: Optional[int], multi_cfg: OptConfigType
    ) -> Optional[int]:
        """The channels of ``F_t`` (default ``pose_cfg['in_channels']``); an int whenever the
        GCN samples ``F_t`` or the default multi-joint branch is built on ``F_m``."""
        if feat_channels is None:
            feat_channels = self.pose_cfg.get('in_channels')
        samples_target = self.use_gcn and self.joint_features == 'sampled'
        needs_channels = samples_target or (self.use_multi_branch and multi_cfg is None)
        if needs_channels and not isinstance(feat_channels, int):
            raise ValueError(
                'FGMHGCNHead samples joint features from one feature map: give '
                f'`feat_channels` (int); pose_cfg in_channels is {feat_channels!r}'
            )
        return feat_channels

    def _build_multi_head(self, multi_cfg: OptConfigType) -> nn.Module:
        """The multi-joint branch: ``multi_cfg``, by default one 1x1 conv on ``F_m``."""
        if multi_cfg is None:
            multi_cfg = dict(
                type='HeatmapHead',
                in_channels=self.feat_channels,
                out_channels=self.num_keypoints,
                deconv_out_channels=None,
                final_layer=dict(kernel_size=1),
            )
        return MODELS.build(multi_cfg)

    def _build_parts(
        self,
        multi_cfg: OptConfigType,
        regressor_channels: int,
        gcn_cfg: OptConfigType,
        loss: OptConfigType,
    ) -> None:
        """The multi-joint branch, the regressed-point sampler, the GCN and the loss, in this
        order; switched-off parts are None, not modules: no parameter without a gradient."""
        self.multi_head: Optional[nn.Module] = None
        if self.use_multi_branch:
            self.multi_head = self._build_multi_head(multi_cfg)
        self.point_sampler: Optional[RegressedPointSampler] = None
        if self.use_gcn and self.joint_features == 'regressed':
            self.point_sampler = RegressedPointSampler(
                self.num_keypoints, self._heatmap_size(), regressor_channels
            )
        self.gcn: Optional[MultiHopGCN] = None
        if self.use_gcn:
            self.gcn = self._build_gcn(gcn_cfg)
        self.loss_module = MODELS.build(loss if loss is not None else dict(type='DAGLoss'))

    @property
    def default_init_cfg(self) -> List[dict]:
        """Convolutions as mmpose's heatmap heads; the GCN keeps its own init."""
        return [
            dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001),
            dict(type='Constant', layer='BatchNorm2d', val=1),
        ]

    # ----------------------------------------------------------------- forward parts

    def _split_ratio(self) -> float:
        return simcc_split_ratio(self.pose_head, 'FGMHGCNHead')

    def forward(self, feats: Tuple[Tensor]) -> Union[Tuple[BaseOutputs, Tensor], BaseOutputs]:
        """Run the base head and the refinement (no multi-joint branch: training only).

        Args:
            feats (Tuple[Tensor]): ``(F_m, F_t)`` from the neck, each (B, C, H, W).

        Returns:
            tuple | Tensor: ``(base_outputs, refined)``, the base head's output (heatmaps or
            SimCC vectors) and the refined pose in [-1, 1] (B, K, 2); with
            ``use_gcn=False`` the base output alone.
        """
        if self.gcn is None:
            return self._forward_base(feats)
        if self.coord_frame == 'box':
            raise ValueError(
                "FGMHGCNHead(coord_frame='box') reads each person's box from the data "
                'samples, which forward() does not get; use predict() / loss(), or '
                "coord_frame='crop'"
            )
        result = self._refine(feats)
        return result.base_outputs, result.refined(self.input_size)

    def forward_multi(self, feats: Tuple[Tensor]) -> Tensor:
        """Multi-joint heatmaps from ``F_m = feats[multi_in_index]``, (B, K, H, W)."""
        if self.multi_head is None:
            raise RuntimeError('FGMHGCNHead(use_multi_branch=False) has no multi-joint branch')
        return self.multi_head((feats[self.multi_in_index],))

    # ----------------------------------------------------------------------- predict

    def predict(
        self,
        feats: Features,
        batch_data_samples: OptSampleList,
        test_cfg: OptConfigType = None,
    ) -> Predictions:
        """Predict the refined pose.

        The initial pose and its scores are exactly the base head's own ``predict`` (flip
        test included); the refined keypoints add the GCN's offsets to it.

        Args:
            feats (Tuple[Tensor] | List[Tuple[Tensor]]): ``(F_m, F_t)``, or with
                ``test_cfg['flip_test']`` a list of two such tuples (original, flipped).
            batch_data_samples (List[PoseDataSample]): The batch data samples; the first
                one's ``metainfo['flip_indices']`` is used for flip test.
            test_cfg (dict, optional): ``flip_test``, ``flip_mode``, ``shift_heatmap``,
                ``shift_coords``, ``refine``, ``output_initial``, ``output_heatmaps``
                (``docs/fgmh_gcn_head.md``). Defaults to ``{}``.

        Returns:
            List[InstanceData] | Tuple[List[InstanceData], List[PixelData]]: per sample
            ``keypoints`` (1, K, 2) in crop pixels and ``keypoint_scores`` (1, K), with
            ``output_initial`` also ``initial_keypoints`` (1, K, 2, crop pixels), with
            ``output_heatmaps`` also the base head's heatmaps; with ``refine=False`` or
            ``use_gcn=False`` exactly the base head's ``predict``.
        """
        test_cfg = {} if test_cfg is None else test_cfg
        flip_test = test_cfg.get('flip_test', False)
        if flip_test and not (isinstance(feats, list) and len(feats) == 2):
            raise ValueError(
                'FGMHGCNHead.predict with flip_test expects a list of two feature tuples '
                '(original, flipped)'
            )

        if self.gcn is None or not test_cfg.get('refine', True):
            base_feats = [tuple(f[-1:]) for f in feats] if flip_test else tuple(feats[-1:])
            return self.pose_head.predict(base_feats, batch_data_samples, test_cfg)

        result = self._refine_for_test(feats, batch_data_samples, test_cfg)
        initial = result.keypoints if test_cfg.get('output_initial', False) else None
        refined = result.refined_pixels(self.input_size).detach()
        preds = pose_instances(refined, result.scores, initial)
        if test_cfg.get('output_heatmaps', False):
            return preds, outputs_to_pred_fields(result.base_outputs, preds)
        return preds

    # -------------------------------------------------------------------------- loss

    def loss(
        self,
        feats: Tuple[Tensor],
        batch_data_samples: OptSampleList,
        train_cfg: OptConfigType = None,
    ) -> Dict[str, Tensor]:
        """Compute ``loss_multi``, ``loss_target``, ``loss_coord`` and ``acc_pose``.

        The base head runs once; its output feeds both the target loss and the
        refinement. A switched-off part adds no loss term and reads no labels:
        ``loss_multi`` only with ``use_multi_branch``, ``loss_coord`` only with ``use_gcn``.

        Args:
            feats (Tuple[Tensor]): ``(F_m, F_t)`` from the neck, each (B, C, H, W).
            batch_data_samples (List[PoseDataSample]): Data samples with the labels listed
                in ``docs/fgmh_gcn_head.md`` (weights (1, K) or (1, 1, K)).
            train_cfg (dict, optional): ``compute_acc`` (default ``True``). Defaults to ``{}``.

        Returns:
            Dict[str, Tensor]: The losses and ``acc_pose`` (PCK of the base output).
        """
        train_cfg = {} if train_cfg is None else train_cfg
        if self.gcn is not None:
            boxes = self._boxes_in_crop(batch_data_samples, feats[-1].device)
            result = self._refine(feats, boxes)
            base_outputs, refined = result.base_outputs, result.refined(self.input_size)
        else:
            base_outputs, refined = self._forward_base(feats), None

        # (B, K) whatever extra axes the packing added (see labels.gather_weights)
        weights = gather_weights(
            batch_data_samples, 'keypoint_weights', self.num_keypoints, 'FGMHGCNHead'
        )
        target_pred, target_gt = self._target_pred_and_labels(base_outputs, batch_data_samples)
        terms = dict(target_pred=target_pred, target_gt=target_gt, target_weights=weights)
        if self.multi_head is not None:
            terms.update(self._multi_terms(feats, batch_data_samples))
        if refined is not None:
            coord_gt = torch.cat(
                gather_labels(
                    batch_data_samples, 'gt_instance_labels', 'keypoint_coords', 'FGMHGCNHead'
                )
            )
            terms.update(coord_pred=refined, coord_gt=coord_gt, coord_weights=weights)
        losses = self.loss_module(**terms)

        if train_cfg.get('compute_acc', True):
            split_ratio = None if isinstance(target_pred, Tensor) else self._split_ratio()
            losses['acc_pose'] = base_head_accuracy(target_pred, target_gt, weights, split_ratio)
        return losses

    def _target_pred_and_labels(
        self, base_outputs: BaseOutputs, batch_data_samples: OptSampleList
    ) -> Tuple[BaseOutputs, BaseOutputs]:
        """The base output in float32 and its labels: heatmaps, or SimCC (x, y) vectors."""
        if not isinstance(base_outputs, Tensor) and isinstance(
            getattr(self.loss_module, 'target_loss', None), KeypointMSELoss
        ):
            raise ValueError(
                'FGMHGCNHead: the base head outputs SimCC vectors, so DAGLoss needs a '
                "matching target_loss, e.g. dict(type='KLDiscretLoss', "
                'use_target_weight=True, beta=10., label_softmax=True)'
            )
        return base_head_labels(base_outputs, batch_data_samples, 'FGMHGCNHead')

    def _multi_terms(
        self, feats: Tuple[Tensor], batch_data_samples: OptSampleList
    ) -> Dict[str, Tensor]:
        """``multi_pred`` (resized to the targets), ``multi_gt`` and ``multi_weights``."""
        multi_pred = self.forward_multi(feats).float()
        multi_gt = torch.stack(
            gather_labels(batch_data_samples, 'gt_fields', 'multi_heatmaps', 'FGMHGCNHead')
        )
        multi_weights = gather_weights(
            batch_data_samples, 'multi_keypoint_weights', self.num_keypoints, 'FGMHGCNHead'
        )
        if multi_pred.shape[-2:] != multi_gt.shape[-2:]:
            multi_pred = F.interpolate(
                multi_pred, size=multi_gt.shape[-2:], mode='bilinear', align_corners=False
            )
        return dict(multi_pred=multi_pred, multi_gt=multi_gt, multi_weights=multi_weights)

    # ---------------------------------------------------------------- checkpoints

    def _map_base_head_keys(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Load-state-dict pre-hook: a plain mmpose checkpoint's head keys
        (``<prefix>final_layer.*`` ...) move to ``<prefix>pose_head.*``."""
        own = set(self._modules) | set(_OWN_PARTS)
        move_base_head_keys(state_dict, prefix, self.pose_head, own)
