# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Single-head attention over channel-last tokens through torch's fused
:func:`~torch.nn.functional.scaled_dot_product_attention` (SDPA) kernels, as
:class:`~dag_mmpose.models.necks.ADAM`'s spatial attention runs it: 1x1 convs applied as
linear maps to tokens, Q / K / V padded to one head width, and the autocast query of every
supported torch."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['autocast_enabled', 'padded_attention', 'pointwise']


def autocast_enabled(device_type: str) -> bool:
    """Whether autocast is active for ``device_type`` (torch 2.0-2.3 and newer)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:
        # Before torch 2.4 the query took no argument and only covered CUDA.
        if device_type == 'cpu':
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


def pointwise(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """Apply a 1x1 conv to channel-last tokens in the dtype of ``x``.

    Args:
        x (Tensor): Tokens of shape (B, N, C_in), float32 or float64.
        conv (nn.Conv2d): A 1x1 conv with ``C_in`` input channels.

    Returns:
        Tensor: (B, N, C_out), contiguous in the last dimension, which is what
        the fused attention kernels require.
    """
    bias = None if conv.bias is None else conv.bias.to(x.dtype)
    return F.linear(x, conv.weight.flatten(1).to(x.dtype), bias)


def padded_attention(query: Tensor, key: Tensor, value: Tensor, width: int, scale: float) -> Tensor:
    """Single-head attention with Q, K and V zero-padded to one head width ``width``.

    The CPU flash kernel wants one head dimension for Q, K and V: zero channels add nothing
    to ``q . k`` and the padded value channels are sliced off, so the result is exact.

    Args:
        query (Tensor): (B, N, C_qk).
        key (Tensor): (B, N, C_qk).
        value (Tensor): (B, N, C).
        width (int): The common head width, at least ``C_qk`` and ``C``.
        scale (float): Factor on the Q.K logits (explicit, because SDPA's default
            ``1 / sqrt(E)`` would see the padded width).

    Returns:
        Tensor: (B, N, C), ``out_i = sum_j softmax_j(scale * q_i . k_j) v_j``.
    """
    qk_channels, channels = query.size(-1), value.size(-1)
    if width > qk_channels:
        query = F.pad(query, (0, width - qk_channels))
        key = F.pad(key, (0, width - qk_channels))
    if width > channels:
        value = F.pad(value, (0, width - channels))
    out = F.scaled_dot_product_attention(
        query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1), scale=scale
    )
    return out.squeeze(1)[..., :channels]
