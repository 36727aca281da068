# Copyright (c) dag_mmpose contributors. All rights reserved.
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptMultiConfig
from torch import Tensor


class _ChannelGate(nn.Module):
    """SE gate of CFA: GAP of cat[u, skip] (2C) -> FC 2C->C -> ReLU -> FC C->C -> sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(2 * channels, channels),
            nn.ReLU(inplace=True),
            nn.Linear(channels, channels),
            nn.Sigmoid(),
        )

    def forward(self, upsampled: Tensor, skip: Tensor) -> Tensor:
        """``upsampled * gate + skip``, both (B, C, H, W)."""
        pooled = torch.cat([upsampled, skip], dim=1).mean(dim=(2, 3))
        return upsampled * self.fc(pooled)[:, :, None, None] + skip


@MODELS.register_module()
class CFANeck(BaseModule):
    """Cascaded Feature Adaption of OPEC-Net (ECCV 2020, sec. 3.1).

    Adapts three (or more) backbone levels, coarse to fine, into the maps the IGP-GCN
    samples its joint features from, and predicts a K-channel heatmap whose soft-argmax gives
    the sampling points. With levels ``F_0`` (coarsest) ... ``F_L`` (finest, each twice the
    size of the one before) and ``out_channels`` ``c_0 ... c_L``::

        r_0 = ReLU(conv3x3(F_0 -> c_0))
        u_l = ReLU(ConvT2x2/2(r_{l-1}))                               (c_{l-1} channels)
        m_l = u_l * SE(cat[u_l, P_l(F_l)]) + P_l(F_l)
        r_l = ReLU(conv3x3(m_l -> c_l))
        H   = conv3x3(r_L -> K)

    ``SE`` is GAP -> FC(2C -> C) -> ReLU -> FC(C -> C) -> sigmoid. ``P_l`` is the identity
    when ``F_l`` has ``c_{l-1}`` channels (OPEC-Net's ResNet levels 512 / 256 / 128 with
    ``out_channels=(256, 128, 128)``), else a 1x1 conv to ``c_{l-1}`` (our addition, so that
    any backbone fits, e.g. HRNet-W32's 128 / 64 / 32 channels).

    The output is ``(r_0, ..., r_L, H, base)``: the adapted maps, the heatmap and
    ``inputs[base_index]``, the map a wrapped base head reads (last, because mmpose's heads
    read ``feats[-1]``). The convolutions are Kaiming-normal (fan out) with zero bias, as in
    OPEC-Net's code.

    Args:
        in_channels (Sequence[int]): Channels of the selected levels, coarse to fine.
        in_indices (Sequence[int]): Their indices in the backbone output, coarse to fine
            (HRNet with ``multiscale_output=True``: ``(2, 1, 0)``; ResNet with
            ``out_indices=(0, 1, 2, 3)``: ``(2, 1, 0)``).
        out_channels (Sequence[int]): ``c_0 ... c_L``. Defaults to ``(256, 128, 128)``.
        num_keypoints (int): K, the heatmap channels. Defaults to 17.
        base_index (int): Index of the backbone output passed on for the base head.
            Defaults to -1.
        detach_inputs (bool): Stop the gradient of everything CFA feeds (the IGP-GCN's
            losses) at the backbone: the backbone and base head then learn from the base
            head's loss alone, exactly as the plain model, while CFA and the GCN learn on
            their features, as OPEC-Net trains them on a frozen base model but in one run.
            ``base`` is passed on undetached. Defaults to ``False``.
        init_cfg (dict | list[dict], optional): Initialization config.

    Example:
        >>> import torch
        >>> neck = CFANeck(in_channels=(128, 64, 32), in_indices=(2, 1, 0), base_index=0)
        >>> inputs = (torch.rand(2, 32, 16, 12), torch.rand(2, 64, 8, 6),
        ...           torch.rand(2, 128, 4, 3))
        >>> [tuple(out.shape[1:]) for out in neck(inputs)]
        [(256, 4, 3), (128, 8, 6), (128, 16, 12), (17, 16, 12), (32, 16, 12)]
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_indices: Sequence[int],
        out_channels: Sequence[int] = (256, 128, 128),
        num_keypoints: int = 17,
        base_index: int = -1,
        detach_inputs: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
            ]
        super().__init__(init_cfg=init_cfg)
        in_channels, in_indices = tuple(in_channels), tuple(in_indices)
        out_channels = tuple(out_channels)
        if not (len(in_channels) == len(in_indices) == len(out_channels) >= 2):
            raise ValueError(
                'CFANeck needs in_channels, in_indices and out_channels of one length (>= 2 '
                f'levels, coarse to fine); got {len(in_channels)}, {len(in_indices)} and '
                f'{len(out_channels)}'
            )
        self.in_channels = in_channels
        self.in_indices = in_indices
        self.out_channels = out_channels
        self.num_keypoints = num_keypoints
        self.base_index = base_index
        self.detach_inputs = bool(detach_inputs)

        self.level_convs = nn.ModuleList([nn.Conv2d(in_channels[0], out_channels[0], 3, padding=1)])
        self.upsamples = nn.ModuleList()
        self.laterals = nn.ModuleList()
        self.gates = nn.ModuleList()
        for level in range(1, len(in_channels)):
            width = out_channels[level - 1]
            self.upsamples.append(nn.ConvTranspose2d(width, width, 2, stride=2))
            if in_channels[level] == width:
                self.laterals.append(nn.Identity())
            else:
                self.laterals.append(nn.Conv2d(in_channels[level], width, 1))
            self.gates.append(_ChannelGate(width))
            self.level_convs.append(nn.Conv2d(width, out_channels[level], 3, padding=1))
        self.heatmap_conv = nn.Conv2d(out_channels[-1], num_keypoints, 3, padding=1)

    def _levels(self, inputs: Tuple[Tensor, ...]) -> List[Tensor]:
        """The selected backbone maps, checked against the config."""
        if not isinstance(inputs, (tuple, list)):
            raise TypeError(f'CFANeck expects a tuple of backbone outputs, got {type(inputs)}')
        levels = []
        for index, channels in zip(self.in_indices, self.in_channels):
            if not -len(inputs) <= index < len(inputs):
                raise IndexError(
                    f'CFANeck in_indices {self.in_indices}: index {index} is out of range for '
                    f'{len(inputs)} backbone outputs (HRNet needs multiscale_output=True)'
                )
            feats = inputs[index]
            if feats.ndim != 4 or feats.shape[1] != channels:
                raise ValueError(
                    f'CFANeck expects backbone output {index} with {channels} channels, got '
                    f'shape {tuple(feats.shape)}'
                )
            levels.append(feats)
        return levels

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        """Adapt the levels.

        Args:
            inputs (Tuple[Tensor, ...]): Backbone outputs.

        Returns:
            Tuple[Tensor, ...]: ``(r_0, ..., r_L, H, inputs[base_index])``.
        """
        levels = self._levels(inputs)
        if self.detach_inputs:
            levels = [level.detach() for level in levels]
        adapted = [F.relu(self.level_convs[0](levels[0]))]
        for level in range(1, len(levels)):
            upsampled = F.relu(self.upsamples[level - 1](adapted[-1]))
            skip = self.laterals[level - 1](levels[level])
            if upsampled.shape[-2:] != skip.shape[-2:]:
                raise ValueError(
                    f'CFANeck: level {level} (backbone output {self.in_indices[level]}) must be '
                    f'twice the size of the level before; got {tuple(skip.shape[-2:])} for '
                    f'an upsampled {tuple(upsampled.shape[-2:])}'
                )
            fused = self.gates[level - 1](upsampled, skip)
            adapted.append(F.relu(self.level_convs[level](fused)))
        heatmaps = self.heatmap_conv(adapted[-1])
        return (*adapted, heatmaps, inputs[self.base_index])
