# Copyright (c) dag_mmpose contributors. All rights reserved.
"""FGMH-GCN head: wrap any mmpose top-down head and refine its pose with a multi-hop GCN."""

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.losses import KeypointMSELoss
from mmpose.registry import MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (
    ConfigType,
    Features,
    OptConfigType,
    OptSampleList,
    Predictions,
)
from torch import Tensor, nn

from ..utils.graph_layers import MultiHopGCN
from ..utils.joint_sampling import (
    HeadOutputs,
    RegressedPointSampler,
    flip_normalized,
    normalized_to_pixels,
    pixels_to_normalized,
    sample_joint_features,
)
from ..utils.norm import batch_statistics
from ..utils.skeleton_graph import resolve_skeleton_links
from ..utils.wrapped_head import (
    base_head_frame,
    decode_base_pose,
    flip_average_outputs,
    move_base_head_keys,
    outputs_to_pred_fields,
    simcc_split_ratio,
)
from .labels import base_head_accuracy, base_head_labels, gather_labels, gather_weights

# Output of the wrapped head: heatmaps (B, K, H, W) or SimCC vectors ((B, K, Wx), (B, K, Wy))
BaseOutputs = HeadOutputs

# Submodules of FGMHGCNHead itself, whether or not a switch left them out: checkpoint keys
# under these names are never moved into the base head (see _map_base_head_keys)
_OWN_PARTS = ('pose_head', 'multi_head', 'gcn', 'point_sampler', 'loss_module')


class _Refinement(NamedTuple):
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

    base_outputs: BaseOutputs
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


@MODELS.register_module()
class FGMHGCNHead(BaseHead):
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
        use_multi_branch (bool): Build the multi-joint branch. Defaults to ``True``.
        use_gcn (bool): Build the GCN refinement. Defaults to ``True``.
        loss (dict, optional): Config of the loss, called like :class:`DAGLoss`. Defaults to
            ``dict(type='DAGLoss')``; SimCC / RTMCC base heads need a matching
            ``target_loss`` (e.g. ``KLDiscretLoss``).
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
        init_cfg: OptConfigType = None,
        feature_position: str = 'input',
        joint_features: str = 'sampled',
        regressor_channels: int = 1024,
        coord_frame: str = 'crop',
    ) -> None:
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
        self.feature_position = feature_position
        if joint_features not in ('sampled', 'regressed'):
            raise ValueError(
                f"joint_features must be 'sampled' or 'regressed', got {joint_features!r}"
            )
        if joint_features == 'regressed' and sample_heatmaps:
            raise ValueError(
                "FGMHGCNHead(joint_features='regressed') samples the heatmaps already; "
                'sample_heatmaps=True is for the sampled F_t features'
            )
        self.joint_features = joint_features
        if coord_frame not in ('crop', 'box'):
            raise ValueError(f"coord_frame must be 'crop' or 'box', got {coord_frame!r}")
        self.coord_frame = coord_frame
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        self.use_multi_branch = bool(use_multi_branch)
        self.use_gcn = bool(use_gcn)

        self.pose_cfg = pose_cfg
        self.pose_head = MODELS.build(pose_cfg)
        num_keypoints = pose_cfg.get('out_channels', pose_cfg.get('num_joints'))
        if num_keypoints is None:
            raise ValueError("FGMHGCNHead needs 'out_channels' (K) in pose_cfg")
        self.num_keypoints = int(num_keypoints)

        self.input_size, self.use_udp = base_head_frame(self.pose_head, 'FGMHGCNHead')

        # the skeleton is the GCN's graph; without a GCN a given one is still checked
        self.skeleton_links: Optional[List[Tuple[int, int]]] = None
        if use_gcn or metainfo is not None or skeleton_links is not None:
            self.skeleton_links = resolve_skeleton_links(
                metainfo, skeleton_links, self.num_keypoints, 'FGMHGCNHead'
            )

        if feat_channels is None:
            feat_channels = pose_cfg.get('in_channels')
        samples_target = use_gcn and joint_features == 'sampled'
        needs_channels = samples_target or (use_multi_branch and multi_cfg is None)
        if needs_channels and not isinstance(feat_channels, int):
            raise ValueError(
                'FGMHGCNHead samples joint features from one feature map: give '
                f'`feat_channels` (int); pose_cfg in_channels is {feat_channels!r}'
            )
        self.feat_channels = feat_channels
        self.multi_in_index = multi_in_index
        self.sample_heatmaps = sample_heatmaps
        self.use_scores = use_scores

        # switched-off parts are None, not modules: no parameter without a gradient
        self.multi_head: Optional[nn.Module] = None
        if use_multi_branch:
            if multi_cfg is None:
                multi_cfg = dict(
                    type='HeatmapHead',
                    in_channels=feat_channels,
                    out_channels=self.num_keypoints,
                    deconv_out_channels=None,
                    final_layer=dict(kernel_size=1),
                )
            self.multi_head = MODELS.build(multi_cfg)

        self.point_sampler: Optional[RegressedPointSampler] = None
        if use_gcn and joint_features == 'regressed':
            self.point_sampler = RegressedPointSampler(
                self.num_keypoints, self._heatmap_size(), regressor_channels
            )

        self.gcn: Optional[MultiHopGCN] = None
        if use_gcn:
            self.gcn = self._build_gcn(gcn_cfg)

        self.loss_module = MODELS.build(loss if loss is not None else dict(type='DAGLoss'))

        # plain mmpose checkpoints name the base head's weights `head.*`
        self._register_load_state_dict_pre_hook(self._map_base_head_keys)

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

    @property
    def default_init_cfg(self) -> List[dict]:
        """Convolutions as mmpose's heatmap heads; the GCN keeps its own init."""
        return [
            dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001),
            dict(type='Constant', layer='BatchNorm2d', val=1),
        ]

    # ----------------------------------------------------------------- forward parts

    def _initial_pose(self, outputs: BaseOutputs) -> Tuple[Tensor, Tensor]:
        """The base head's own decoding of ``outputs`` (crop pixels (B, K, 2), scores
        (B, K)), without gradient: :func:`~dag_mmpose.models.utils.decode_base_pose`."""
        return decode_base_pose(self.pose_head, outputs, self.num_keypoints, 'FGMHGCNHead')

    def _split_ratio(self) -> float:
        return simcc_split_ratio(self.pose_head, 'FGMHGCNHead')

    def _sample_at(self, maps: Tensor, keypoints: Tensor) -> Tensor:
        """Features of ``maps`` (B, C, H, W) at crop-pixel ``keypoints`` (B, K, 2): (B, K, C)."""
        return sample_joint_features(maps, keypoints.float(), self.input_size, use_udp=self.use_udp)

    def _forward_base(self, feats: Sequence[Tensor]) -> BaseOutputs:
        """The base head's forward on ``F_t = feats[-1]``."""
        return self.pose_head(tuple(feats[-1:]))

    def _offsets(
        self,
        feats: Sequence[Tensor],
        base_outputs: BaseOutputs,
        keypoints: Tensor,
        scores: Tensor,
        boxes: Optional[Tensor] = None,
    ) -> Tensor:
        """The GCN's offsets (B, K, 2) in [-1, 1] units, float32, for the pose ``keypoints``
        (crop pixels, B x K x 2) with ``scores`` (B, K) on the features ``feats``; the units
        are those of the crop, or with ``boxes`` ((B, 4) ``(x0, y0, w, h)`` in crop pixels)
        those of each box.

        Joint features: ``F_t = feats[-1]`` sampled at the joints, with ``sample_heatmaps``
        also ``base_outputs`` (with ``joint_features='regressed'`` instead the base heatmaps
        sampled at regressed points), then the joints in [-1, 1] and with ``use_scores``
        the scores.
        """
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
        # one dtype for the GCN input, that of the features (fp16 / bf16 under autocast
        # or a half model); the refined pose itself is added in float32
        dtype = joint_feats[0].dtype
        if boxes is None:
            coords = pixels_to_normalized(keypoints.float(), self.input_size)
        else:
            # as released: (x - x0) / w - 0.5, doubled
            boxes = boxes.float()[:, None]
            coords = ((keypoints.float() - boxes[..., :2]) / boxes[..., 2:] - 0.5) * 2.0
        pose = [coords.to(dtype)]
        if self.use_scores:
            pose.append(scores.unsqueeze(-1).to(dtype))
        if self.feature_position == 'last':
            return self.gcn(torch.cat(pose, dim=-1), torch.cat(joint_feats, dim=-1)).float()
        return self.gcn(torch.cat(joint_feats + pose, dim=-1)).float()

    def _refine(self, feats: Sequence[Tensor], boxes: Optional[Tensor] = None) -> _Refinement:
        """Base head forward, its decoded pose and the GCN's offsets.

        Args:
            feats (Sequence[Tensor]): Features; ``feats[-1]`` is ``F_t`` (B, C, H, W).
            boxes (Tensor, optional): With ``coord_frame='box'``, the boxes in crop pixels,
                (B, 4) ``(x0, y0, w, h)`` (:meth:`_boxes_in_crop`).

        Returns:
            _Refinement: base outputs, initial keypoints and scores, offsets.
        """
        if self.gcn is None:
            raise RuntimeError('FGMHGCNHead(use_gcn=False) has no GCN refinement')
        base_outputs = self._forward_base(feats)
        keypoints, scores = self._initial_pose(base_outputs)
        offsets = self._offsets(feats, base_outputs, keypoints, scores, boxes)
        return _Refinement(base_outputs, keypoints, scores, offsets, boxes)

    def _boxes_in_crop(self, batch_data_samples: OptSampleList, device) -> Optional[Tensor]:
        """With ``coord_frame='box'``: each sample's box in crop pixels, (B, 4) float32
        ``(x0, y0, w, h)``; ``None`` in the crop frame.

        The box is ``gt_instances.bboxes`` (image pixels, ``x1, y1, x2, y2``; the detection
        box at test) mapped into the crop by the sample's ``input_center`` and
        ``input_scale`` (``TopdownAffine``): exact at test; a training crop's rotation is
        left out (the frame then is the box shifted and scaled with the crop).
        """
        if self.coord_frame != 'box':
            return None
        if not batch_data_samples:
            raise ValueError(
                "FGMHGCNHead(coord_frame='box') normalizes the GCN's coordinates over each "
                "person's box, which it reads from the data samples' gt_instances.bboxes"
            )
        size = np.asarray(self.input_size, dtype=np.float64)
        rows = []
        for sample in batch_data_samples:
            meta = sample.metainfo
            bboxes = sample.gt_instances.get('bboxes') if 'gt_instances' in sample else None
            missing = [k for k in ('input_center', 'input_scale') if k not in meta]
            if bboxes is None or missing:
                raise ValueError(
                    "FGMHGCNHead(coord_frame='box') needs each data sample's "
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
                    "FGMHGCNHead(coord_frame='box') divides by the box size; sample "
                    f'{meta.get("id", meta.get("img_id"))} has box {box.tolist()} (x1, y1, x2, '
                    f'y2) with input_center {center.tolist()}, input_scale {scale.tolist()}'
                )
            rows.append(np.concatenate([top_left, extent]))
        return torch.as_tensor(np.stack(rows), dtype=torch.float32, device=device)

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

        norm_stats = test_cfg.get('gcn_norm_stats', 'running')
        if norm_stats not in ('running', 'batch'):
            raise ValueError(
                f"FGMHGCNHead: test_cfg gcn_norm_stats must be 'running' or 'batch', got "
                f'{norm_stats!r}'
            )
        device = (feats[0] if flip_test else feats)[-1].device
        boxes = self._boxes_in_crop(batch_data_samples, device)
        with batch_statistics(self.gcn, enabled=norm_stats == 'batch'):
            if flip_test:
                flip_indices = batch_data_samples[0].metainfo['flip_indices']
                result = self._refine_with_flip(feats, flip_indices, test_cfg, boxes)
            else:
                result = self._refine(feats, boxes)

        keypoints = to_numpy(result.refined_pixels(self.input_size).detach())
        scores = to_numpy(result.scores)
        preds = [
            InstanceData(keypoints=kpts[None], keypoint_scores=kpt_scores[None])
            for kpts, kpt_scores in zip(keypoints, scores)
        ]
        if test_cfg.get('output_initial', False):
            for instances, kpts in zip(preds, to_numpy(result.keypoints)):
                instances.initial_keypoints = kpts[None]

        if test_cfg.get('output_heatmaps', False):
            return preds, outputs_to_pred_fields(result.base_outputs, preds)
        return preds

    def _refine_with_flip(
        self,
        feats: List[Tuple[Tensor]],
        flip_indices: Sequence[int],
        test_cfg: ConfigType,
        boxes: Optional[Tensor] = None,
    ) -> _Refinement:
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
            return _Refinement(averaged, keypoints, scores, offsets, boxes)
        shift = test_cfg.get('shift_coords', True)
        mirrored = flip_normalized(
            pixels_to_normalized(keypoints.float(), self.input_size),
            flip_indices,
            self.input_size,
            shift,
        )
        mirrored_boxes = None
        if boxes is not None:
            # the box mirrored into the flipped crop with the same pixel flip
            right = boxes[:, 0] + boxes[:, 2]
            mirrored_boxes = boxes.clone()
            mirrored_boxes[:, 0] = self.input_size[0] - float(shift) - right
        mirrored_offsets = self._offsets(
            feats[1],
            flipped_outputs,
            normalized_to_pixels(mirrored, self.input_size),
            scores[:, flip_indices],
            mirrored_boxes,
        )
        mirrored_offsets = mirrored_offsets[:, flip_indices] * offsets.new_tensor([-1.0, 1.0])
        return _Refinement(
            base_outputs=averaged,
            keypoints=keypoints,
            scores=scores,
            offsets=0.5 * (offsets + mirrored_offsets),
            boxes=boxes,
        )

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
        weights = gather_weights(batch_data_samples, 'keypoint_weights', self.num_keypoints)
        target_pred, target_gt = self._target_pred_and_labels(base_outputs, batch_data_samples)
        terms = dict(target_pred=target_pred, target_gt=target_gt, target_weights=weights)
        if self.multi_head is not None:
            terms.update(self._multi_terms(feats, batch_data_samples))
        if refined is not None:
            coord_gt = torch.cat(
                gather_labels(batch_data_samples, 'gt_instance_labels', 'keypoint_coords')
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
        return base_head_labels(base_outputs, batch_data_samples)

    def _multi_terms(
        self, feats: Tuple[Tensor], batch_data_samples: OptSampleList
    ) -> Dict[str, Tensor]:
        """``multi_pred`` (resized to the targets), ``multi_gt`` and ``multi_weights``."""
        multi_pred = self.forward_multi(feats).float()
        multi_gt = torch.stack(gather_labels(batch_data_samples, 'gt_fields', 'multi_heatmaps'))
        multi_weights = gather_weights(
            batch_data_samples, 'multi_keypoint_weights', self.num_keypoints
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
