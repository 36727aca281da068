# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The ADAM neck of DAG; its fused attention kernels' plumbing is in :mod:`.fused_attention`."""

import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptMultiConfig
from torch import Tensor

from ...utils.checks import check_number
from .fused_attention import autocast_enabled, padded_attention, pointwise


@MODELS.register_module()
class ADAM(BaseModule):
    """Adaptive Discriminative Attention Module (DAG, ICASSP 2024, sec. 2.3).

    Turns the multi-joint features ``F_m`` of a top-down crop (one backbone
    output map) into target features ``F_t`` that focus on the person the crop
    is centered on: ``F_t = spatial(channel(F_m))``.

    *Channel attention* takes the feature vector at the body center of the map
    (the crop is centered on the target box, so by default the map center, row
    ``H // 2``, column ``W // 2``), passes it through ``Linear(C, C)`` with
    bias and no sigmoid, broadcasts it over H x W and multiplies it into the
    map. The linear layer starts at weight 0 and bias 1, so the channel
    attention starts as the identity and a pretrained baseline starts
    unchanged; this initialization is our choice, the paper does not give one.

    *Spatial attention* is self-attention over the N = h * w positions: Q and
    K from 1x1 convs with ``C_qk`` channels, V from a 1x1 conv with C
    channels, ``out_i = sum_j softmax_j(scale * q_i . k_j) v_j``, added back
    as ``x + gamma * out`` with the learnable scalar ``gamma`` starting at 0.
    The paper writes this as ``S = softmax(K^T Q)``, ``out = V S^T``; that is
    the same computation with the names of the two (equally learnable)
    projections swapped. With ``spatial_downsample = s > 1`` Q, K and V are
    computed on the map average-pooled to ``ceil(H / s) x ceil(W / s)`` and
    ``out`` is upsampled bilinearly back to H x W before the residual sum.

    The attention runs through
    :func:`~torch.nn.functional.scaled_dot_product_attention` (SDPA) so that
    no N x N matrix is materialised where a fused kernel exists. The CPU
    kernel wants one head dimension for Q, K and V, so Q and K are
    zero-padded to the value width ``D`` (C rounded up to a multiple of 8, or
    ``C_qk`` if larger; V is padded too when narrower): zero channels add
    nothing to ``q . k`` and padded value channels are sliced off, so the
    result is exact. One head of width
    C wastes some Q.K multiply-adds on zeros, but on CPU it measured faster
    than both the naive N x N product and ``C / C_qk`` heads of width
    ``C_qk`` sharing Q and K (the flash kernel is slow at head dim 8 and
    repeats the softmax per head); ``tools/analysis/benchmark_adam.py``
    compares it with the naive product. Kernels by device (torch 2.x):

    - CPU: the flash-attention CPU kernel, for float32 / float64 / bfloat16 /
      float16 inputs whose Q, K and V head dims are equal (any size);
      otherwise SDPA falls back to the math path, which builds N x N.
    - CUDA: flash attention needs fp16 / bf16 and equal head dims <= 256;
      memory-efficient attention also takes float32, needs equal Q and K
      head dims and all head dims divisible by 4 (float32) or 8 (half).
      Because the attention runs in float32 (see below), CUDA runs the
      memory-efficient kernel; float64 inputs fall back to the math path.

    SDPA scales the logits by ``1 / sqrt(C_qk)`` unless told otherwise; the
    paper's ``softmax(K^T Q)`` has no scale, so the
    default ``qk_scale=1.0`` follows the paper and ``qk_scale=None`` selects
    the transformer convention ``1 / sqrt(C_qk)``.

    Mixed precision: both attentions run in float32 (float64 inputs stay
    float64) inside an autocast-disabled region, because the channel product
    ``x * (W x + b)`` and the unscaled Q.K logits overflow float16 (max 65504)
    for activations of magnitude 1e3-1e4. Under autocast ``F_t`` is therefore
    returned in float32 (the next layer's autocast casts it as it needs);
    without autocast it keeps the input dtype, so a model cast wholesale to
    float16 gets float16 back and can overflow. ``F_m`` is always the input
    tensor itself.

    Args:
        in_channels (int): Channels C of the selected backbone map.
        in_index (int): Which element of the backbone output tuple to use.
            Default: -1 (the last one).
        use_channel_attention (bool): Apply the channel attention.
            Default: ``True``.
        use_spatial_attention (bool): Apply the spatial attention.
            Default: ``True``.
        center_yx (Sequence[float]): Relative (y, x) position, each in
            [0, 1], of the body-center feature used by the channel attention;
            row ``min(int(y * H), H - 1)``, column ``min(int(x * W), W - 1)``.
            Default: ``(0.5, 0.5)``, i.e. row ``H // 2``, column ``W // 2``.
        qk_reduction (int): Q and K have ``C / qk_reduction`` channels,
            rounded up to a multiple of 8 and at least 8. Default: 8.
        qk_scale (float, optional): Factor on the Q.K logits. ``1.0`` (the
            default) is the paper's unscaled softmax; ``None`` means
            ``1 / sqrt(C_qk)``.
        spatial_downsample (int): Average-pooling factor applied before the
            spatial attention (1 = none). Default: 1.
        fuse_input (bool): Return ``F_t = conv1x1(cat[F_m, attended])`` instead of
            the attended map, as the authors' release fuses its backbone output
            with the attended features (``concat_predict``). The 1x1 conv starts
            as the identity on the attended half and zero on ``F_m`` (with
            ``attention_index``: the identity on ``F_m`` and zero on the attended
            map; our choice, the release initializes it at random), so the module
            still starts as the identity ``F_t = F_m``. Default: ``False``.
        attention_index (int, optional): Attend to ``inputs[attention_index]``
            instead of ``inputs[in_index]`` (the release: HRNet's stage-3 map).
            Default: ``None``.
        instance_scale (float | str, optional): The authors' release multiplies the
            instance vector by a ``Linear(1, 1)`` it creates anew, at random, in
            every forward pass: ``r * v`` with ``r ~ U(-1, 1)``, one ``r`` per
            call, so its heatmaps are ``A + r B``. ``None`` (the default) leaves
            the vector as it is (``r = 1``, ours); a number fixes ``r`` (``0.`` is
            the release's expectation, ``E[A + r B] = A``); ``'random'`` draws
            ``r`` as the release does, from torch's global CPU generator exactly as
            ``nn.Linear(1, 1)`` initializes its weight (so a seed set with
            ``torch.manual_seed`` or mmengine's ``randomness.seed`` fixes the
            draws). ``docs/release_deviations.md`` says what each choice means.
        multi_features (str): What ``F_m`` is: ``'input'`` (the default: the
            selected map, ``inputs[in_index]``) or ``'attended'`` (the map after
            the channel / spatial attention, before ``fuse_input``'s fusion: the
            input of the release's multi-joint predictor).
        upsample_factor (int): Upsample ``F_m`` and ``F_t`` bilinearly by this
            factor (``align_corners=False``) after everything else, as the
            release does before its heatmap convs (``UP_SCALE=2``). Default: 1.
        init_cfg (:obj:`ConfigDict` or dict or list[:obj:`ConfigDict` or \
            dict], optional): Initialization config dict. ``None`` (the
            default) keeps PyTorch's default init for the Q / K / V convs and
            the identity init of the channel attention described above.

    Example:
        >>> import torch
        >>> self = ADAM(in_channels=32).eval()
        >>> inputs = (torch.rand(2, 32, 64, 48), )
        >>> multi_feats, target_feats = self.forward(inputs)
        >>> print(multi_feats.shape, target_feats.shape)
        torch.Size([2, 32, 64, 48]) torch.Size([2, 32, 64, 48])
        >>> # at initialization the module is the identity
        >>> print(torch.equal(multi_feats, target_feats))
        True
    """

    def __init__(
        self,
        in_channels: int,
        in_index: int = -1,
        use_channel_attention: bool = True,
        use_spatial_attention: bool = True,
        center_yx: Sequence[float] = (0.5, 0.5),
        qk_reduction: int = 8,
        qk_scale: Optional[float] = 1.0,
        spatial_downsample: int = 1,
        fuse_input: bool = False,
        attention_index: Optional[int] = None,
        instance_scale: Optional[Union[float, str]] = None,
        multi_features: str = 'input',
        upsample_factor: int = 1,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.instance_scale, self.upsample_factor = self._check_release_options(
            instance_scale, multi_features, upsample_factor, use_channel_attention
        )
        self.multi_features = multi_features
        self._check_attention_options(
            in_channels,
            in_index,
            attention_index,
            center_yx,
            qk_reduction,
            qk_scale,
            spatial_downsample,
        )

        self.in_channels = in_channels
        self.in_index = in_index
        self.attention_index = attention_index
        self.use_channel_attention = use_channel_attention
        self.use_spatial_attention = use_spatial_attention
        self.center_yx = (float(center_yx[0]), float(center_yx[1]))
        self.spatial_downsample = spatial_downsample
        # Multiples of 8 satisfy the alignment rules of every fused SDPA kernel.
        qk_channels = math.ceil(in_channels / qk_reduction)
        self.qk_channels = max(8, math.ceil(qk_channels / 8) * 8)
        self.qk_scale = qk_scale
        # Common head width of Q, K and V inside the fused kernel.
        self.attention_channels = max(self.qk_channels, math.ceil(in_channels / 8) * 8)

        if use_channel_attention:
            self.channel_fc = nn.Linear(in_channels, in_channels)
            nn.init.zeros_(self.channel_fc.weight)
            nn.init.ones_(self.channel_fc.bias)
        if use_spatial_attention:
            self.query_conv = nn.Conv2d(in_channels, self.qk_channels, 1)
            self.key_conv = nn.Conv2d(in_channels, self.qk_channels, 1)
            self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
            # gamma = 0 lets a pretrained baseline start unchanged (as in SAGAN).
            self.gamma = nn.Parameter(torch.zeros(1))
        self.fuse_input = bool(fuse_input)
        if self.fuse_input:
            self.fusion_conv = self._identity_fusion_conv()

    @staticmethod
    def _check_release_options(
        instance_scale: Optional[Union[float, str]],
        multi_features: str,
        upsample_factor: int,
        use_channel_attention: bool,
    ) -> Tuple[Optional[Union[float, str]], int]:
        """Check the options of the authors' release (``instance_scale``,
        ``multi_features``, ``upsample_factor``); returns ``instance_scale`` (a number as a
        float) and ``upsample_factor`` as an int."""
        if isinstance(instance_scale, str):
            if instance_scale != 'random':
                raise ValueError(
                    "ADAM: instance_scale must be None, a number or 'random', got "
                    f'{instance_scale!r}'
                )
        elif instance_scale is not None:
            instance_scale = check_number(instance_scale, 'instance_scale', 'ADAM')
        if multi_features not in ('input', 'attended'):
            raise ValueError(
                f"ADAM: multi_features must be 'input' or 'attended', got {multi_features!r}"
            )
        upsample_factor = check_number(
            upsample_factor, 'upsample_factor', 'ADAM', ge=1, integer=True
        )
        if instance_scale is not None and not use_channel_attention:
            raise ValueError(
                "ADAM: instance_scale scales the channel attention's instance vector; it "
                'needs use_channel_attention=True'
            )
        return instance_scale, int(upsample_factor)

    @staticmethod
    def _check_attention_options(
        in_channels: int,
        in_index: int,
        attention_index: Optional[int],
        center_yx: Sequence[float],
        qk_reduction: int,
        qk_scale: Optional[float],
        spatial_downsample: int,
    ) -> None:
        """Check the input selection and the attention's options."""
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        if not isinstance(in_index, int):
            raise TypeError(f'in_index must be an int, got {in_index!r}')
        if attention_index is not None and not isinstance(attention_index, int):
            raise TypeError(f'attention_index must be an int or None, got {attention_index!r}')
        if len(center_yx) != 2 or not all(0.0 <= float(c) <= 1.0 for c in center_yx):
            raise ValueError(
                f'center_yx must be a relative (y, x) pair in [0, 1], got {center_yx!r}'
            )
        if not isinstance(qk_reduction, int) or qk_reduction < 1:
            raise ValueError(f'qk_reduction must be a positive int, got {qk_reduction!r}')
        if qk_scale is not None and not qk_scale > 0:
            raise ValueError(f'qk_scale must be positive or None, got {qk_scale!r}')
        if not isinstance(spatial_downsample, int) or spatial_downsample < 1:
            raise ValueError(
                f'spatial_downsample must be a positive int, got {spatial_downsample!r}'
            )

    def _identity_fusion_conv(self) -> nn.Conv2d:
        """``fuse_input``'s 1x1 conv over ``cat[F_m, attended]``, starting as the identity on
        the attended half (with ``attention_index``: on ``F_m``) and zero on the other."""
        channels = self.in_channels
        fusion_conv = nn.Conv2d(2 * channels, channels, 1)
        with torch.no_grad():
            fusion_conv.weight.zero_()
            fusion_conv.bias.zero_()
            eye = torch.eye(channels)[:, :, None, None]
            if self.attention_index is None:
                # the attended map is F_m at init: pass it, so the attention learns
                fusion_conv.weight[:, channels:] = eye
            else:
                # the attended map is another one: pass F_m itself
                fusion_conv.weight[:, :channels] = eye
        return fusion_conv

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """Select one backbone map and compute the target features.

        Args:
            inputs (Tuple[Tensor, ...]): Backbone outputs; ``inputs[in_index]``
                has shape (B, C, H, W) with C = ``in_channels``.

        Returns:
            Tuple[Tensor, Tensor]: ``(F_m, F_t)``, both (B, C, H, W): the
            selected map unchanged (multi-joint features) and the enhanced
            target features.
        """
        feats = self._select_input(inputs, self.in_index)
        attended = feats
        if self.attention_index is not None:
            attended = self._select_input(inputs, self.attention_index, 'attention_index')
            if self.fuse_input and attended.shape[-2:] != feats.shape[-2:]:
                raise ValueError(
                    f'ADAM(fuse_input=True) joins backbone outputs {self.in_index} and '
                    f'{self.attention_index} (attention_index), which must be of one size; got '
                    f'{tuple(feats.shape)} and {tuple(attended.shape)}'
                )
        if not (
            self.use_channel_attention
            or self.use_spatial_attention
            or self.fuse_input
            or self.upsample_factor > 1
        ):
            return feats, attended

        # float16 / bfloat16 are computed in float32, float64 stays float64.
        compute_dtype = torch.promote_types(feats.dtype, torch.float32)
        out_dtype = compute_dtype if autocast_enabled(feats.device.type) else feats.dtype
        with torch.autocast(device_type=feats.device.type, enabled=False):
            x = attended.to(compute_dtype)
            if self.use_channel_attention:
                x = self._channel_attention(x)
            if self.use_spatial_attention:
                x = self._spatial_attention(x)
            multi = x if self.multi_features == 'attended' else feats
            if self.fuse_input:
                x = F.conv2d(
                    torch.cat([feats.to(compute_dtype), x], dim=1),
                    self.fusion_conv.weight.to(compute_dtype),
                    self.fusion_conv.bias.to(compute_dtype),
                )
            if self.upsample_factor > 1:
                multi, x = (
                    F.interpolate(
                        t,
                        scale_factor=self.upsample_factor,
                        mode='bilinear',
                        align_corners=False,
                    )
                    for t in (multi, x)
                )
        if multi is not feats:
            multi = multi.to(out_dtype)
        return multi, x.to(out_dtype)

    def _select_input(
        self, inputs: Tuple[Tensor, ...], index: int, name: str = 'in_index'
    ) -> Tensor:
        """Pick ``inputs[index]`` (the argument ``name``) and check its shape."""
        if not isinstance(inputs, (tuple, list)):
            raise TypeError(
                'ADAM expects the backbone output as a tuple or list of '
                f'tensors, got {type(inputs).__name__}'
            )
        if not -len(inputs) <= index < len(inputs):
            raise IndexError(
                f'ADAM {name}={index} is out of range for {len(inputs)} backbone outputs'
            )
        feats = inputs[index]
        if not isinstance(feats, Tensor) or feats.dim() != 4:
            shape = tuple(feats.shape) if isinstance(feats, Tensor) else type(feats).__name__
            raise ValueError(
                f'ADAM expects backbone output {index} to be a (B, C, H, W) tensor, got {shape}'
            )
        if feats.size(1) != self.in_channels:
            raise ValueError(
                f'ADAM expects {self.in_channels} channels (in_channels) but '
                f'backbone output {index} has {feats.size(1)} '
                f'channels, shape {tuple(feats.shape)}'
            )
        return feats

    def _channel_attention(self, x: Tensor) -> Tensor:
        """Re-weight channels by a linear map of the body-center feature.

        Args:
            x (Tensor): (B, C, H, W), float32 or float64.

        Returns:
            Tensor: (B, C, H, W).
        """
        h, w = x.shape[-2:]
        row = min(int(self.center_yx[0] * h), h - 1)
        col = min(int(self.center_yx[1] * w), w - 1)
        instance = x[:, :, row, col]
        if self.instance_scale == 'random':
            # the release's fresh nn.Linear(1, 1): its weight is PyTorch's default init,
            # kaiming_uniform_(a=sqrt(5)) of a (1, 1) tensor, i.e. U(-1, 1), drawn on the CPU
            scale = torch.empty(1, 1)
            nn.init.kaiming_uniform_(scale, a=math.sqrt(5))
            instance = instance * scale.to(device=x.device, dtype=x.dtype)
        elif self.instance_scale is not None:
            instance = instance * self.instance_scale
        weights = F.linear(
            instance, self.channel_fc.weight.to(x.dtype), self.channel_fc.bias.to(x.dtype)
        )
        return x * weights[:, :, None, None]

    def _spatial_attention(self, x: Tensor) -> Tensor:
        """Self-attention over positions, added back with the gate ``gamma``.

        Args:
            x (Tensor): (B, C, H, W), float32 or float64.

        Returns:
            Tensor: (B, C, H, W).
        """
        b, c, h, w = x.shape
        src = x
        if self.spatial_downsample > 1:
            size = (math.ceil(h / self.spatial_downsample), math.ceil(w / self.spatial_downsample))
            src = F.adaptive_avg_pool2d(x, size)
        src_h, src_w = src.shape[-2:]
        tokens = src.flatten(2).transpose(1, 2)  # (B, N, C)
        query = pointwise(tokens, self.query_conv)
        key = pointwise(tokens, self.key_conv)
        value = pointwise(tokens, self.value_conv)
        out = self._attention(query, key, value)  # (B, N, C)
        out = out.transpose(1, 2).reshape(b, c, src_h, src_w)
        if self.spatial_downsample > 1:
            out = F.interpolate(out, size=(h, w), mode='bilinear', align_corners=False)
        return x + self.gamma.to(x.dtype) * out

    def _attention(self, query: Tensor, key: Tensor, value: Tensor) -> Tensor:
        """Single-head attention through the fused SDPA kernels.

        Args:
            query (Tensor): (B, N, C_qk).
            key (Tensor): (B, N, C_qk).
            value (Tensor): (B, N, C).

        Returns:
            Tensor: (B, N, C), ``out_i = sum_j softmax_j(scale * q_i . k_j) v_j``.
        """
        # Explicit, because SDPA's default 1 / sqrt(E) would see the padded width.
        scale = 1 / math.sqrt(query.size(-1)) if self.qk_scale is None else self.qk_scale
        return padded_attention(query, key, value, self.attention_channels, scale)
