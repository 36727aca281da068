# Copyright (c) dag_mmpose contributors. All rights reserved.
"""FGMH-GCN head: wrap any mmpose top-down head and refine its pose with a multi-hop GCN."""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData, PixelData
from mmpose.codecs import UDPHeatmap
from mmpose.codecs.utils import get_simcc_normalized
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.evaluation.functional import pose_pck_accuracy, simcc_pck_accuracy
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.losses import KeypointMSELoss
from mmpose.models.utils.tta import flip_heatmaps, flip_vectors
from mmpose.registry import MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (
    ConfigType,
    Features,
    InstanceList,
    OptConfigType,
    OptSampleList,
    PixelDataList,
    Predictions,
)
from torch import Tensor, nn

from .gcn import MultiHopGCN, _check_links

# Output of the wrapped head: heatmaps (B, K, H, W) or SimCC vectors ((B, K, Wx), (B, K, Wy))
BaseOutputs = Union[Tensor, Tuple[Tensor, Tensor]]

# Submodules of FGMHGCNHead itself, whether or not a switch left them out: checkpoint keys
# under these names are never moved into the base head (see _map_base_head_keys)
_OWN_PARTS = ('pose_head', 'multi_head', 'gcn', 'loss_module')

# Which part of the head reads a label, for the error raised when it is missing
_LABEL_USERS = {
    'multi_heatmaps': 'the multi-joint branch (use_multi_branch=True)',
    'multi_keypoint_weights': 'the multi-joint branch (use_multi_branch=True)',
    'keypoint_coords': 'the GCN refinement (use_gcn=True)',
}

# Where each label the loss reads comes from, for the error raised when it is missing
_LABEL_SOURCES = {
    'heatmaps': "the base head's heatmap codec (e.g. DAGHeatmap or MSRAHeatmap)",
    'keypoint_weights': "the codec that supervises the base head (e.g. DAGHeatmap)",
    'keypoint_x_labels': 'the SimCCLabel codec (combine it with '
    'DAGHeatmap(with_target_heatmaps=False) in GenerateTarget(encoder=[...]))',
    'keypoint_y_labels': 'the SimCCLabel codec (combine it with '
    'DAGHeatmap(with_target_heatmaps=False) in GenerateTarget(encoder=[...]))',
    'multi_heatmaps': 'the DAGHeatmap codec (GetOtherInstances must run before '
    'GenerateTarget to add the other people)',
    'multi_keypoint_weights': 'the DAGHeatmap codec',
    'keypoint_coords': 'the DAGHeatmap codec',
}


class _Refinement(NamedTuple):
    """Everything one pass of :meth:`FGMHGCNHead._refine` produces.

    - base_outputs: the wrapped head's output (heatmaps or SimCC vectors).
    - scores (Tensor): keypoint scores of the initial pose in shape (B, K).
    - initial (Tensor): initial pose in [-1, 1] in shape (B, K, 2).
    - refined (Tensor): refined pose in [-1, 1] in shape (B, K, 2), float32.
    """

    base_outputs: BaseOutputs
    scores: Tensor
    initial: Tensor
    refined: Tensor


def _gather_labels(
    batch_data_samples: OptSampleList, field: str, key: str
) -> List[Tensor]:
    """Collect ``sample.<field>.<key>`` of every data sample as float32 tensors.

    Raises:
        KeyError: Naming the missing key and the transform / codec that produces it.
    """
    values = []
    for sample in batch_data_samples or []:
        container = getattr(sample, field, None)
        if container is None or key not in container:
            user = f' for {_LABEL_USERS[key]}' if key in _LABEL_USERS else ''
            raise KeyError(
                f'FGMHGCNHead.loss needs `{field}.{key}` in every data sample{user}. It is '
                f'produced by {_LABEL_SOURCES.get(key, "the codec")} in GenerateTarget, '
                "and PackPoseInputs packs it only when the codec's field/label mapping "
                'tables list it.'
            )
        values.append(container.get(key).float())
    if not values:
        raise ValueError('FGMHGCNHead.loss needs a non-empty list of data samples')
    return values


def _gather_weights(
    batch_data_samples: OptSampleList, key: str, num_keypoints: int
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
    values = _gather_labels(batch_data_samples, 'gt_instance_labels', key)
    for index, value in enumerate(values):
        if value.numel() != num_keypoints:
            raise ValueError(
                f'FGMHGCNHead expects `gt_instance_labels.{key}` to hold one weight per '
                f'keypoint, (1, {num_keypoints}), in every data sample; sample {index} has '
                f'{tuple(value.shape)}. With GenerateTarget(encoder=[...]) only one encoder '
                'may emit keypoint_weights (use DAGHeatmap(with_target_heatmaps=False) '
                'next to the codec of the base head).'
            )
    return torch.cat([value.reshape(1, num_keypoints) for value in values])


@MODELS.register_module()
class FGMHGCNHead(BaseHead):
    """Feature-Guided Multi-Hop GCN head of DAG (ICASSP 2024, sec. 2.4-2.5).

    Wraps a stock mmpose top-down head (``pose_cfg``; ``HeatmapHead``, ``SimCCHead``,
    ``RTMCCHead``, ...) the way :class:`mmpose.models.heads.VisPredictHead` does, and adds:

    1. a *multi-joint* heatmap branch ``multi_head`` on the backbone features ``F_m``
       (supervised with every person in the crop: ``loss_multi``; training only);
    2. a *refinement* ``gcn`` of the base head's pose: the initial pose is the hard argmax
       of the base output (no gradient through it), joint features are bilinearly sampled
       from the target features ``F_t`` at the initial joints (``grid_sample``),
       concatenated with the initial coordinates in [-1, 1] and the scores, and a
       multi-hop modulated GCN over the dataset's skeleton predicts an offset: ``refined =
       initial + offset`` (supervised with the target pose: ``loss_pose``).

    The base head's own output is supervised with the target person (``loss_target``).

    Each DAG part is one switch, for the ablation of the paper (Table 2). A switched-off
    part is not built, so every parameter that remains receives a gradient (DDP with
    ``find_unused_parameters=False``), its loss term is neither computed nor logged, and
    the labels only it reads are not required:

    - ``use_multi_branch=False``: no ``multi_head`` and no ``loss_multi``; the samples need
      no ``multi_heatmaps`` / ``multi_keypoint_weights``. ``multi_cfg`` and
      ``multi_in_index`` are ignored.
    - ``use_gcn=False``: no ``gcn`` and no ``loss_pose``; :meth:`forward` returns the base
      output alone and :meth:`predict` is the base head's own ``predict`` (what
      ``test_cfg['refine']=False`` gives with the GCN); the samples need no
      ``keypoint_coords``. ``gcn_cfg``, ``sample_heatmaps`` and ``use_scores`` are ignored
      and the skeleton is optional (a given ``metainfo`` is still checked against K).
    - both ``False`` would be the base head alone: a ``ValueError`` says to use ``pose_cfg`` as
      the model head instead.

    Ignoring the arguments of a switched-off part lets an ablation config inherit the full
    DAG config and change one line.

    The input is the neck's ``(F_m, F_t)``: the base head and the sampling use ``F_t =
    feats[-1]`` (the base head is called on ``feats[-1:]``), the multi-joint branch uses
    ``feats[multi_in_index]``. With a plain backbone output ``(F,)`` both are ``F``.

    Coordinates follow the ``DAGHeatmap`` codec: ``u = 2 x / w - 1``, ``v = 2 y / h - 1``
    with ``(w, h)`` the ``input_size`` of the base head's decoder and ``(x, y)`` input-crop
    pixels. Heatmap indices map to pixels as mmpose's encoders place them: ``x = i * w / W``
    (MSRA), ``x = i * (w - 1) / (W - 1)`` (UDP: decoder ``UDPHeatmap`` or ``use_udp``),
    ``x = i / simcc_split_ratio`` (SimCC).

    A plain mmpose checkpoint of the base head (keys ``head.final_layer.*`` ...) loads into
    this head: a load-state-dict pre-hook moves such keys to ``head.pose_head.*``, so only
    the DAG parts (multi-joint branch, GCN, and the neck outside) start from scratch. A
    full DAG checkpoint loads into a head with parts switched off (``strict=False``): the
    keys of the missing parts are reported as unexpected, the rest loads.

    Args:
        pose_cfg (dict): Config of the wrapped mmpose head. It must have a ``decoder``
            (its ``input_size`` is the crop size) and ``out_channels`` (K).
        multi_cfg (dict, optional): Config of the multi-joint branch, any mmpose head whose
            ``forward((F_m,))`` returns (B, K, H, W). Its output is resized (bilinear) to
            the size of ``multi_heatmaps`` when they differ. Defaults to a ``HeatmapHead``
            without deconvolutions: one 1x1 conv from ``feat_channels`` to K, which fits
            high-resolution features such as HRNet's; low-resolution backbones (ResNet)
            should give deconvolutions here.
        multi_in_index (int): Index of ``F_m`` in the features. Defaults to 0.
        metainfo (dict, optional): Dataset meta information for the skeleton, e.g.
            ``dict(from_file='configs/_base_/datasets/coco.py')``, parsed by mmpose's
            ``parse_pose_metainfo`` (mmpose's own dataset configs are found even when
            mmpose is installed as a package). Give this or ``skeleton_links`` (neither
            is needed with ``use_gcn=False``).
        skeleton_links (Sequence[Sequence[int]], optional): Skeleton as (i, j) joint
            index pairs. Give this or ``metainfo``.
        gcn_cfg (dict, optional): Arguments of :class:`MultiHopGCN` besides the channels
            and the skeleton: ``hidden_channels`` (128), ``num_blocks`` (4), ``num_hops``
            (2), ``non_local`` (True), ``dropout`` (0.). Given keys override defaults.
        feat_channels (int, optional): Channels of ``F_t`` (and ``F_m``), needed by the
            GCN and the default multi-joint branch. Defaults to ``pose_cfg['in_channels']``.
        sample_heatmaps (bool): Also sample the base head's heatmaps (K values per joint)
            into the joint features. Heatmap base heads only. Defaults to ``False``.
        use_scores (bool): Append the initial keypoint scores to the joint features.
            Defaults to ``True``.
        use_multi_branch (bool): Build the multi-joint branch and its loss term
            ``loss_multi``. Defaults to ``True``.
        use_gcn (bool): Build the GCN refinement and its loss term ``loss_pose``.
            Defaults to ``True``.
        loss (dict, optional): Config of the loss, called like :class:`DAGLoss`, with
            ``None`` for the inputs of a switched-off part. Defaults to
            ``dict(type='DAGLoss')``; a SimCC / RTMCC base head needs a matching
            ``target_loss`` (e.g. ``KLDiscretLoss``).
        init_cfg (dict, optional): Initialisation config. Defaults to
            :attr:`default_init_cfg`.

    Test config keys read by :meth:`predict`: ``flip_test``, ``shift_coords`` (flip the
    refined x back as ``w - 1 - x``, mmpose's pixel flip; default ``True``), ``refine``
    (``False`` returns exactly the base head's own ``predict``; default ``True``; without
    a GCN the base head's ``predict`` is always used), ``output_initial`` (also return
    the initial pose as ``initial_keypoints``; default ``False``; only with refinement),
    ``output_heatmaps``, and for the heatmaps output ``flip_mode`` / ``shift_heatmap``.

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
        >>> # the "+ADAM" row of the ablation: multi-joint branch, no GCN
        >>> adam_only = FGMHGCNHead(
        ...     pose_cfg=dict(
        ...         type='HeatmapHead', in_channels=8, out_channels=17,
        ...         deconv_out_channels=None,
        ...         decoder=dict(type='MSRAHeatmap', input_size=(48, 64),
        ...                      heatmap_size=(12, 16), sigma=2.)),
        ...     use_gcn=False)
        >>> adam_only(feats).shape, adam_only.gcn
        (torch.Size([2, 17, 16, 12]), None)
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
    ) -> None:
        if not (use_multi_branch or use_gcn):
            raise ValueError(
                'FGMHGCNHead with use_multi_branch=False and use_gcn=False has no DAG part '
                'left: it would be the base head alone. Use the base head itself as the '
                f"model head instead (head=dict(type={pose_cfg.get('type')!r}, ...), the "
                'pose_cfg here, with its own loss)'
            )
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

        decoder = getattr(self.pose_head, 'decoder', None)
        if decoder is None or getattr(decoder, 'input_size', None) is None:
            raise ValueError(
                'FGMHGCNHead needs a `decoder` with `input_size` in pose_cfg: the crop size '
                'turns the initial pose into normalised coordinates'
            )
        self.input_size = (int(decoder.input_size[0]), int(decoder.input_size[1]))
        self.use_udp = isinstance(decoder, UDPHeatmap) or bool(getattr(decoder, 'use_udp', False))

        # the skeleton is the GCN's graph; without a GCN a given one is still checked
        self.skeleton_links: Optional[List[Tuple[int, int]]] = None
        if use_gcn or metainfo is not None or skeleton_links is not None:
            self.skeleton_links = self._resolve_skeleton(
                metainfo, skeleton_links, self.num_keypoints
            )

        if feat_channels is None:
            feat_channels = pose_cfg.get('in_channels')
        needs_channels = use_gcn or (use_multi_branch and multi_cfg is None)
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

        self.gcn: Optional[MultiHopGCN] = None
        if use_gcn:
            self.gcn = self._build_gcn(gcn_cfg)

        self.loss_module = MODELS.build(loss if loss is not None else dict(type='DAGLoss'))

        # plain mmpose checkpoints name the base head's weights `head.*`
        self._register_load_state_dict_pre_hook(self._map_base_head_keys)

    def _build_gcn(self, gcn_cfg: OptConfigType) -> MultiHopGCN:
        """The refinement GCN: joint features in, a 2-D offset per joint out."""
        gcn_args = dict(
            hidden_channels=128, num_blocks=4, num_hops=2, non_local=True, dropout=0.0
        )
        gcn_args.update(gcn_cfg or {})
        gcn_in_channels = (
            self.feat_channels
            + 2
            + int(self.use_scores)
            + (self.num_keypoints if self.sample_heatmaps else 0)
        )
        return MultiHopGCN(
            gcn_in_channels,
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

    @staticmethod
    def _resolve_skeleton(
        metainfo: OptConfigType,
        skeleton_links: Optional[Sequence[Sequence[int]]],
        num_keypoints: int,
    ) -> List[Tuple[int, int]]:
        """Return the skeleton links from ``skeleton_links`` or the dataset metainfo."""
        if (metainfo is None) == (skeleton_links is None):
            raise ValueError(
                'FGMHGCNHead needs exactly one of `metainfo` (e.g. '
                "dict(from_file='configs/_base_/datasets/coco.py')) and `skeleton_links`"
            )
        if metainfo is not None:
            meta = parse_pose_metainfo(dict(metainfo))
            if meta['num_keypoints'] != num_keypoints:
                raise ValueError(
                    f"the metainfo of {meta.get('dataset_name')!r} has "
                    f"{meta['num_keypoints']} keypoints but the base head predicts "
                    f'{num_keypoints}'
                )
            skeleton_links = meta['skeleton_links']
        links = _check_links(skeleton_links, num_keypoints)
        if not links:
            raise ValueError('FGMHGCNHead needs a skeleton with at least one link')
        return links

    # ----------------------------------------------------------------- forward parts

    @torch.no_grad()
    def _initial_pose(self, outputs: BaseOutputs) -> Tuple[Tensor, Tensor]:
        """Hard-argmax pose of the base output, without gradient (as released).

        Args:
            outputs (Tensor | Tuple[Tensor, Tensor]): Heatmaps (B, K, H, W) or SimCC
                vectors ((B, K, Wx), (B, K, Wy)).

        Returns:
            tuple:
            - keypoints (Tensor): input-crop pixels in shape (B, K, 2), float32.
            - scores (Tensor): maxima in shape (B, K), float32 (SimCC: the smaller of the
              x and y maxima, as mmpose's ``get_simcc_maximum``).
        """
        w_in, h_in = self.input_size
        if isinstance(outputs, Tensor):
            if outputs.ndim != 4 or outputs.shape[1] != self.num_keypoints:
                raise ValueError(
                    f'FGMHGCNHead expects base heatmaps in shape (B, {self.num_keypoints}, '
                    f'H, W), got {tuple(outputs.shape)}'
                )
            width, height = outputs.shape[-1], outputs.shape[-2]
            scores, index = outputs.flatten(2).float().max(dim=-1)
            x = (index % width).float()
            y = torch.div(index, width, rounding_mode='floor').float()
            if self.use_udp:
                scale = ((w_in - 1) / max(width - 1, 1), (h_in - 1) / max(height - 1, 1))
            else:
                scale = (w_in / width, h_in / height)
            keypoints = torch.stack([x * scale[0], y * scale[1]], dim=-1)
        elif isinstance(outputs, (tuple, list)) and len(outputs) == 2:
            max_x, index_x = outputs[0].float().max(dim=-1)
            max_y, index_y = outputs[1].float().max(dim=-1)
            keypoints = torch.stack([index_x, index_y], dim=-1).float() / self._split_ratio()
            scores = torch.minimum(max_x, max_y)
        else:
            raise TypeError(
                'FGMHGCNHead supports base heads that output heatmaps (B, K, H, W) or '
                f'SimCC vectors ((B, K, Wx), (B, K, Wy)); got {type(outputs).__name__}'
            )
        return keypoints, scores

    def _split_ratio(self) -> float:
        """SimCC bins per input pixel, from the base head's decoder (or the head)."""
        ratio = getattr(self.pose_head.decoder, 'simcc_split_ratio', None)
        if ratio is None:
            ratio = getattr(self.pose_head, 'simcc_split_ratio', None)
        if ratio is None:
            raise ValueError(
                'FGMHGCNHead: the base head outputs SimCC vectors but neither its decoder '
                'nor the head defines `simcc_split_ratio`'
            )
        return float(ratio)

    def _to_normalised(self, keypoints: Tensor) -> Tensor:
        """Input-crop pixels (..., 2) -> [-1, 1] (``u = 2 x / w - 1``)."""
        size = keypoints.new_tensor(self.input_size)
        return 2.0 * keypoints / size - 1.0

    def _to_pixels(self, coords: Tensor) -> Tensor:
        """[-1, 1] (..., 2) -> input-crop pixels (``x = (u + 1) w / 2``)."""
        size = coords.new_tensor(self.input_size)
        return (coords + 1.0) * size / 2.0

    def _sample(self, maps: Tensor, keypoints: Tensor) -> Tensor:
        """Bilinearly sample ``maps`` at input-crop pixel locations.

        The grid puts map pixel ``j`` where the codec puts heatmap index ``j``, so that a
        joint decoded from a heatmap samples exactly its own feature cell whatever the
        map's resolution.

        Args:
            maps (Tensor): Feature maps in shape (B, C, H, W).
            keypoints (Tensor): Locations in input-crop pixels, shape (B, K, 2).

        Returns:
            Tensor: Sampled features in shape (B, K, C).
        """
        height, width = maps.shape[-2:]
        size_in = keypoints.new_tensor(self.input_size)
        if self.use_udp:
            # UDP: index j sits at x = j (w - 1) / (W - 1): corners align
            grid = 2.0 * keypoints / (size_in - 1.0) - 1.0
            align_corners = True
        else:
            # MSRA / SimCC: index j sits at x = j w / W; with align_corners=False the
            # centre of cell j is at grid (2 j + 1) / W - 1
            size_map = keypoints.new_tensor((width, height))
            grid = 2.0 * keypoints / size_in + 1.0 / size_map - 1.0
            align_corners = False
        sampled = F.grid_sample(
            maps,
            grid.unsqueeze(1).to(maps.dtype),
            mode='bilinear',
            padding_mode='border',
            align_corners=align_corners,
        )  # (B, C, 1, K)
        return sampled.squeeze(2).transpose(1, 2)

    def _forward_base(self, feats: Sequence[Tensor]) -> BaseOutputs:
        """The base head's forward on ``F_t = feats[-1]``."""
        return self.pose_head.forward(tuple(feats[-1:]))

    def _refine(self, feats: Sequence[Tensor]) -> _Refinement:
        """Base head forward, initial pose, joint features and GCN refinement.

        Args:
            feats (Sequence[Tensor]): Features; ``feats[-1]`` is ``F_t`` (B, C, H, W).

        Returns:
            _Refinement: base outputs, scores, initial and refined pose.
        """
        if self.gcn is None:
            raise RuntimeError('FGMHGCNHead(use_gcn=False) has no GCN refinement')
        target_feats = feats[-1]
        base_outputs = self._forward_base(feats)
        keypoints, scores = self._initial_pose(base_outputs)
        initial = self._to_normalised(keypoints)

        joint_feats = [self._sample(target_feats, keypoints)]
        if self.sample_heatmaps:
            if not isinstance(base_outputs, Tensor):
                raise ValueError(
                    'FGMHGCNHead(sample_heatmaps=True) needs a heatmap base head; the '
                    'base head outputs SimCC vectors'
                )
            joint_feats.append(self._sample(base_outputs, keypoints))
        # one dtype for the GCN input, that of the features (fp16 / bf16 under autocast
        # or a half model); the refined pose itself is added in float32 below
        dtype = joint_feats[0].dtype
        joint_feats.append(initial.to(dtype))
        if self.use_scores:
            joint_feats.append(scores.unsqueeze(-1).to(dtype))
        offsets = self.gcn(torch.cat(joint_feats, dim=-1))
        refined = initial + offsets.float()
        return _Refinement(base_outputs, scores, initial, refined)

    def forward(
        self, feats: Tuple[Tensor]
    ) -> Union[Tuple[BaseOutputs, Tensor], BaseOutputs]:
        """Run the base head and the refinement (no multi-joint branch: training only).

        Args:
            feats (Tuple[Tensor]): ``(F_m, F_t)`` from the neck, each (B, C, H, W).

        Returns:
            tuple: ``(base_outputs, refined)``:

            - base_outputs: the base head's output, heatmaps (B, K, H, W) or SimCC
              vectors ((B, K, Wx), (B, K, Wy)).
            - refined (Tensor): refined pose in [-1, 1] in shape (B, K, 2).

            With ``use_gcn=False`` there is no refined pose: ``base_outputs`` alone, as
            the base head's ``forward`` returns it.
        """
        if self.gcn is None:
            return self._forward_base(feats)
        result = self._refine(feats)
        return result.base_outputs, result.refined

    def forward_multi(self, feats: Tuple[Tensor]) -> Tensor:
        """Multi-joint heatmaps from ``F_m = feats[multi_in_index]``, (B, K, H, W)."""
        if self.multi_head is None:
            raise RuntimeError(
                'FGMHGCNHead(use_multi_branch=False) has no multi-joint branch'
            )
        return self.multi_head.forward((feats[self.multi_in_index],))

    # ----------------------------------------------------------------------- predict

    def _flip_back(self, coords: Tensor, flip_indices: Sequence[int], shift: bool) -> Tensor:
        """Map [-1, 1] coordinates of the flipped image back to the original one.

        mmpose flips pixels as ``x -> w - 1 - x``, i.e. ``u -> -u - 2 / w``; without
        ``shift`` it is ``u -> -u``. Symmetric joints swap by ``flip_indices``.
        """
        coords = coords[:, list(flip_indices)]
        offset = 2.0 / self.input_size[0] if shift else 0.0
        return torch.stack([-coords[..., 0] - offset, coords[..., 1]], dim=-1)

    def _flip_average_outputs(
        self,
        outputs: BaseOutputs,
        flipped: BaseOutputs,
        flip_indices: Sequence[int],
        test_cfg: ConfigType,
    ) -> BaseOutputs:
        """Average base outputs with the flipped pass's, as the mmpose heads do."""
        if isinstance(outputs, Tensor):
            flipped = flip_heatmaps(
                flipped,
                flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                flip_indices=flip_indices,
                shift_heatmap=test_cfg.get('shift_heatmap', False),
            )
            return (outputs + flipped) * 0.5
        flipped_x, flipped_y = flip_vectors(flipped[0], flipped[1], flip_indices=flip_indices)
        return (outputs[0] + flipped_x) * 0.5, (outputs[1] + flipped_y) * 0.5

    @staticmethod
    def _pred_fields(outputs: BaseOutputs, preds: InstanceList) -> PixelDataList:
        """Heatmaps to return with ``output_heatmaps`` (SimCC: as RTMCCHead builds them)."""
        if isinstance(outputs, Tensor):
            return [PixelData(heatmaps=hm) for hm in outputs.detach()]
        pred_x = get_simcc_normalized(outputs[0].detach().float())
        pred_y = get_simcc_normalized(outputs[1].detach().float())
        heatmaps = torch.matmul(pred_y.unsqueeze(-1), pred_x.unsqueeze(-2))  # (B, K, Wy, Wx)
        for instances, x_labels, y_labels in zip(preds, to_numpy(pred_x), to_numpy(pred_y)):
            instances.keypoint_x_labels = x_labels[None]
            instances.keypoint_y_labels = y_labels[None]
        return [PixelData(heatmaps=hm) for hm in heatmaps]

    def predict(
        self,
        feats: Features,
        batch_data_samples: OptSampleList,
        test_cfg: OptConfigType = None,
    ) -> Predictions:
        """Predict the refined pose.

        Args:
            feats (Tuple[Tensor] | List[Tuple[Tensor]]): ``(F_m, F_t)``, or with
                ``test_cfg['flip_test']`` a list of two such tuples (original, flipped).
            batch_data_samples (List[PoseDataSample]): The batch data samples; the first
                one's ``metainfo['flip_indices']`` is used for flip test.
            test_cfg (dict, optional): See the class docstring. Defaults to ``{}``.

        Returns:
            List[InstanceData] | Tuple[List[InstanceData], List[PixelData]]: per sample
            ``keypoints`` (1, K, 2) in input-crop pixels and ``keypoint_scores`` (1, K)
            (the base head's maxima; flip-averaged with flip test); with
            ``test_cfg['output_heatmaps']`` also the base head's (flip-averaged) heatmaps.
            With ``test_cfg['output_initial']`` each InstanceData also holds
            ``initial_keypoints`` (1, K, 2): the hard-argmax pose the GCN refined, in
            input-crop pixels and flip-averaged like ``keypoints``, so that ``keypoints -
            initial_keypoints`` is the (averaged) offset of the GCN. mmpose's top-down
            estimator maps only ``keypoints`` to image pixels; ``initial_keypoints`` stay
            in crop pixels (see :class:`RefinementVisualizationHook`).
            With ``test_cfg['refine']=False`` or ``use_gcn=False``: exactly the base
            head's ``predict``.
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

        if flip_test:
            flip_indices = batch_data_samples[0].metainfo['flip_indices']
            result = self._refine(feats[0])
            result_flip = self._refine(feats[1])
            refined = 0.5 * (
                result.refined
                + self._flip_back(
                    result_flip.refined, flip_indices, test_cfg.get('shift_coords', True)
                )
            )
            scores = 0.5 * (result.scores + result_flip.scores[:, list(flip_indices)])
            initial = 0.5 * (
                result.initial
                + self._flip_back(
                    result_flip.initial, flip_indices, test_cfg.get('shift_coords', True)
                )
            )
        else:
            result = self._refine(feats)
            refined, scores, initial = result.refined, result.scores, result.initial

        keypoints = to_numpy(self._to_pixels(refined.detach()))
        scores = to_numpy(scores.detach().float())
        preds = [
            InstanceData(keypoints=kpts[None], keypoint_scores=kpt_scores[None])
            for kpts, kpt_scores in zip(keypoints, scores)
        ]
        if test_cfg.get('output_initial', False):
            initial_keypoints = to_numpy(self._to_pixels(initial.detach().float()))
            for instances, kpts in zip(preds, initial_keypoints):
                instances.initial_keypoints = kpts[None]

        if test_cfg.get('output_heatmaps', False):
            outputs = result.base_outputs
            if flip_test:
                outputs = self._flip_average_outputs(
                    outputs, result_flip.base_outputs, flip_indices, test_cfg
                )
            return preds, self._pred_fields(outputs, preds)
        return preds

    # -------------------------------------------------------------------------- loss

    def loss(
        self,
        feats: Tuple[Tensor],
        batch_data_samples: OptSampleList,
        train_cfg: OptConfigType = None,
    ) -> Dict[str, Tensor]:
        """Compute ``loss_multi``, ``loss_target``, ``loss_pose`` and ``acc_pose``.

        The base head runs once; its output feeds both the target loss and the
        refinement. A switched-off part adds no loss term and reads no labels:
        ``loss_multi`` only with ``use_multi_branch``, ``loss_pose`` only with ``use_gcn``.

        Args:
            feats (Tuple[Tensor]): ``(F_m, F_t)`` from the neck, each (B, C, H, W).
            batch_data_samples (List[PoseDataSample]): Data samples with
                ``gt_instance_labels.keypoint_weights`` (1, K) (or (1, 1, K) as combined
                encoders pack it) and the base head's targets (``gt_fields.heatmaps``, or
                ``gt_instance_labels.keypoint_x_labels`` / ``keypoint_y_labels`` for
                SimCC / RTMCC heads); with ``use_multi_branch`` also
                ``gt_fields.multi_heatmaps`` (K, H, W) and
                ``gt_instance_labels.multi_keypoint_weights`` (1, K); with ``use_gcn``
                also ``gt_instance_labels.keypoint_coords`` (1, K, 2).
            train_cfg (dict, optional): ``compute_acc`` (default ``True``) switches the
                accuracy off. Defaults to ``{}``.

        Returns:
            Dict[str, Tensor]: The losses and ``acc_pose`` (PCK of the base output, as the
            base head would log it).
        """
        train_cfg = {} if train_cfg is None else train_cfg
        if self.gcn is not None:
            result = self._refine(feats)
            base_outputs, refined = result.base_outputs, result.refined
        else:
            base_outputs, refined = self._forward_base(feats), None

        multi_pred = multi_target = multi_weights = None
        if self.multi_head is not None:
            multi_pred = self.forward_multi(feats).float()
            multi_target = torch.stack(
                _gather_labels(batch_data_samples, 'gt_fields', 'multi_heatmaps')
            )
            # weights as (B, K) whatever extra axes the packing added (see _gather_weights)
            multi_weights = _gather_weights(
                batch_data_samples, 'multi_keypoint_weights', self.num_keypoints
            )
            if multi_pred.shape[-2:] != multi_target.shape[-2:]:
                multi_pred = F.interpolate(
                    multi_pred,
                    size=multi_target.shape[-2:],
                    mode='bilinear',
                    align_corners=False,
                )

        weights = _gather_weights(batch_data_samples, 'keypoint_weights', self.num_keypoints)
        pose_target = pose_weights = None
        if refined is not None:
            pose_target = torch.cat(
                _gather_labels(batch_data_samples, 'gt_instance_labels', 'keypoint_coords')
            )
            pose_weights = weights

        if isinstance(base_outputs, Tensor):
            target_pred = base_outputs.float()
            target = torch.stack(_gather_labels(batch_data_samples, 'gt_fields', 'heatmaps'))
        else:
            if isinstance(getattr(self.loss_module, 'target_loss', None), KeypointMSELoss):
                raise ValueError(
                    'FGMHGCNHead: the base head outputs SimCC vectors, so DAGLoss needs a '
                    "matching target_loss, e.g. dict(type='KLDiscretLoss', "
                    'use_target_weight=True, beta=10., label_softmax=True)'
                )
            target_pred = tuple(o.float() for o in base_outputs)
            target = tuple(
                torch.cat(_gather_labels(batch_data_samples, 'gt_instance_labels', key))
                for key in ('keypoint_x_labels', 'keypoint_y_labels')
            )

        losses = self.loss_module(
            multi_pred,
            multi_target,
            multi_weights,
            target_pred,
            target,
            weights,
            refined,
            pose_target,
            pose_weights,
        )

        if train_cfg.get('compute_acc', True):
            mask = to_numpy(weights) > 0
            if isinstance(target_pred, Tensor):
                _, avg_acc, _ = pose_pck_accuracy(
                    output=to_numpy(target_pred), target=to_numpy(target), mask=mask
                )
            else:
                _, avg_acc, _ = simcc_pck_accuracy(
                    output=to_numpy(target_pred),
                    target=to_numpy(target),
                    simcc_split_ratio=self._split_ratio(),
                    mask=mask,
                )
            losses['acc_pose'] = torch.tensor(avg_acc, device=weights.device)
        return losses

    # ---------------------------------------------------------------- checkpoints

    def _map_base_head_keys(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        *args,
        **kwargs,
    ) -> None:
        """Move a plain mmpose head's keys (``<prefix>final_layer.*`` ...) to
        ``<prefix>pose_head.*``.

        A key is moved when its first name is a submodule, parameter or buffer of the
        base head and not one of this head's own submodules (``pose_head``,
        ``multi_head``, ``gcn``, ``loss_module``, built or switched off), so DAG
        checkpoints load unchanged.
        """
        own = set(self._modules) | set(_OWN_PARTS)
        base = set(self.pose_head._modules) | set(self.pose_head._parameters)
        base |= set(self.pose_head._buffers)
        for key in list(state_dict):
            if not key.startswith(prefix):
                continue
            name = key[len(prefix):]
            first = name.split('.', 1)[0]
            if first in base and first not in own:
                state_dict[f'{prefix}pose_head.{name}'] = state_dict.pop(key)
