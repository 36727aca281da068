# Copyright (c) dag_mmpose contributors. All rights reserved.
"""mmpose's top-down decoders in torch: the initial pose of a refinement head without leaving
the device.

mmpose decodes a head's output in numpy, sample by sample (``BaseHead.decode``). A head that
refines the decoded pose in the same step (``FGMHGCNHead``, ``IGPGCNHead``) would copy the
heatmaps to the host and wait for them in every training step, break ``torch.compile``'s graph
and could not be exported. :func:`torch_decode` gives what mmpose's numpy decoders give,
batched, on the outputs' device, for the codecs the base heads use:

- ``MSRAHeatmap``: argmax and the quarter offset towards the higher neighbour
  (``refine_keypoints``), or with ``unbiased=True`` DARK (``refine_keypoints_dark``);
- ``UDPHeatmap`` (``heatmap_type='gaussian'``): DARK-UDP (``refine_keypoints_dark_udp``);
- ``LegacyMSRAHeatmap``: the original HRNet code's quarter offset (both axes inside, or
  none) with (0, 0) for joints of no positive response;
- ``DAGHeatmap``: the MSRA / UDP / legacy codec it delegates to;
- ``SimCCLabel`` (SimCC / RTMCC heads, ``use_dark=False``): argmax of the x / y vectors.

Every quirk of the numpy code is kept (the ``1 < x`` bounds of the quarter offset, joints of
no positive response at -1, DARK-UDP's flat indexing that wraps around for them), so the
results agree to float rounding (``tests/test_models/test_utils/test_torch_decoding.py``).
Other codecs return ``None``: the caller falls back to mmpose's numpy decoder.
"""

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmpose.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap
from torch import Tensor

from ...codecs.legacy_msra_heatmap import LegacyMSRAHeatmap

__all__ = ['heatmap_maximum', 'simcc_maximum', 'torch_decode', 'torch_decoder_name']

Outputs = Union[Tensor, Tuple[Tensor, Tensor]]


def _resolve(codec) -> object:
    """The codec that really decodes: DAGHeatmap delegates to an MSRA / UDP codec."""
    return getattr(codec, '_target_codec', codec)


def torch_decoder_name(codec) -> Optional[str]:
    """Which torch decoder serves ``codec`` (``'msra'``, ``'legacy'``, ``'dark'``, ``'udp'``,
    ``'simcc'``),
    or ``None`` when there is none here."""
    codec = _resolve(codec)
    if type(codec) is LegacyMSRAHeatmap:
        return 'legacy'
    if type(codec) is MSRAHeatmap:
        return 'dark' if codec.unbiased else 'msra'
    if type(codec) is UDPHeatmap and codec.heatmap_type == 'gaussian':
        return 'udp'
    if type(codec) is SimCCLabel and not codec.use_dark and not codec.decode_visibility:
        return 'simcc'
    return None


def heatmap_maximum(heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
    """``get_heatmap_maximum`` of (B, K, H, W): locations (B, K, 2) float32 ``(x, y)`` of the
    first maximum, -1 where the maximum is <= 0, and the maxima (B, K)."""
    batch, num, _, width = heatmaps.shape
    vals, index = heatmaps.reshape(batch, num, -1).max(dim=-1)
    locs = torch.stack([index % width, torch.div(index, width, rounding_mode='floor')], dim=-1)
    locs = torch.where((vals > 0)[..., None], locs.float(), locs.new_tensor(-1.0).float())
    return locs, vals


def simcc_maximum(simcc_x: Tensor, simcc_y: Tensor) -> Tuple[Tensor, Tensor]:
    """``get_simcc_maximum`` of (B, K, Wx) / (B, K, Wy): locations (B, K, 2) in bins, -1
    where the score is <= 0; the score is the smaller of the two maxima."""
    max_x, x_locs = simcc_x.max(dim=-1)
    max_y, y_locs = simcc_y.max(dim=-1)
    vals = torch.minimum(max_x, max_y)
    locs = torch.stack([x_locs, y_locs], dim=-1).float()
    return torch.where((vals > 0)[..., None], locs, locs.new_tensor(-1.0)), vals


def _gather(maps: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """``maps[b, k, y, x]`` for (B, K) integer coordinates, clamped into the map (the
    callers mask the points their bounds exclude)."""
    height, width = maps.shape[-2:]
    flat = (y.clamp(0, height - 1) * width + x.clamp(0, width - 1)).long()
    return maps.flatten(2).gather(2, flat[..., None])[..., 0]


def _quarter_offset(locs: Tensor, heatmaps: Tensor) -> Tensor:
    """``refine_keypoints``: a quarter pixel towards the higher neighbour, per axis, with
    mmpose's bounds (``1 < x < W - 1`` and ``0 < y < H`` for x)."""
    height, width = heatmaps.shape[-2:]
    x, y = locs[..., 0].long(), locs[..., 1].long()
    dx = _gather(heatmaps, x + 1, y) - _gather(heatmaps, x - 1, y)
    dy = _gather(heatmaps, x, y + 1) - _gather(heatmaps, x, y - 1)
    dx = torch.where((x > 1) & (x < width - 1) & (y > 0) & (y < height), dx, 0)
    dy = torch.where((y > 1) & (y < height - 1) & (x > 0) & (x < width), dy, 0)
    return locs + torch.stack([dx, dy], dim=-1).sign().float() * 0.25


def _legacy_quarter_offset(locs: Tensor, heatmaps: Tensor) -> Tensor:
    """:func:`~dag_mmpose.codecs.legacy_msra_heatmap.legacy_refine` in torch: (0, 0) where
    ``locs`` is -1 (no positive response), the quarter offset on both axes only when
    ``1 < x < W - 1`` and ``1 < y < H - 1``."""
    height, width = heatmaps.shape[-2:]
    locs = locs.clamp(min=0.0)
    x, y = locs[..., 0].long(), locs[..., 1].long()
    dx = _gather(heatmaps, x + 1, y) - _gather(heatmaps, x - 1, y)
    dy = _gather(heatmaps, x, y + 1) - _gather(heatmaps, x, y - 1)
    inside = ((x > 1) & (x < width - 1) & (y > 1) & (y < height - 1))[..., None]
    step = torch.stack([dx, dy], dim=-1).sign().float() * 0.25
    return locs + torch.where(inside, step, 0.0)


# OpenCV's fixed kernels for the small sizes (``getGaussianKernel(size, 0)``); larger ones
# follow its formula (sigma from the size), which gives the same float32 values
_SMALL_KERNELS = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
    9: (0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875, 0.1171875,
        0.05078125, 0.015625),
}  # fmt: skip


def _gaussian_kernel(size: int, device: torch.device) -> Tensor:
    """cv2's Gaussian kernel of ``size`` (``GaussianBlur(.., (size, size), 0)``), float64,
    built on ``device`` from constants (nothing for ``torch.compile`` to break on)."""
    if size in _SMALL_KERNELS:
        return torch.tensor(_SMALL_KERNELS[size], dtype=torch.float64, device=device)
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    weights = torch.exp(-x * x / (2 * sigma * sigma))
    # OpenCV's float32 kernel: its values are what the blur multiplies by
    return (weights / weights.sum()).float().double()


class _BlurredMaps:
    """mmpose's ``gaussian_blur`` of (B, K, H, W) heatmaps, read at chosen pixels only.

    ``gaussian_blur`` blurs each map with zeros beyond its border (OpenCV's
    ``GaussianBlur``, float32) and scales it back to the map's own maximum (0 / 0: NaN for
    an all-zero map, as in numpy). DARK reads the result in a 5 x 5 neighbourhood of each
    joint, DARK-UDP in a 3 x 3 one, so only those pixels are blurred, in float64 and rounded
    to float32: OpenCV's float32 blur is that to within one unit in the last place (a
    float32 convolution is off by two), which matters because the Newton step magnifies it
    where the Hessian is nearly singular. The scale needs each blurred map's maximum: a
    float32 convolution of the whole map gives it, to within that unit.
    """

    def __init__(self, heatmaps: Tensor, size: int) -> None:
        batch, num, height, width = heatmaps.shape
        self.maps = heatmaps.float().reshape(batch * num, height, width)
        self.weights = _gaussian_kernel(size, heatmaps.device)
        self.border = (size - 1) // 2
        # the maps as the channels of one image: a depthwise convolution (one channel per
        # group) is several times faster on CPU than a batch of one-channel maps
        count = batch * num
        kernel = self.weights.float()
        whole = F.conv2d(
            self.maps[None],
            kernel.reshape(1, 1, 1, size).expand(count, 1, 1, size),
            padding=(0, self.border),
            groups=count,
        )
        whole = F.conv2d(
            whole,
            kernel.reshape(1, 1, size, 1).expand(count, 1, size, 1),
            padding=(self.border, 0),
            groups=count,
        )
        origin_max = self.maps.amax(dim=(1, 2))
        self.scale = origin_max / whole[0].amax(dim=(1, 2))  # (B * K,), float32 as numpy

    def at(self, maps: Tensor, ys: Tensor, xs: Tensor) -> Tensor:
        """The scaled blurred value (float32) of map ``maps`` (indices into B * K) at pixel
        ``(xs, ys)`` (inside the map), for integer tensors of one shape."""
        height, width = self.maps.shape[-2:]
        taps = torch.arange(-self.border, self.border + 1, device=ys.device)
        rows = ys[..., None] + taps  # (..., S)
        cols = xs[..., None] + taps
        inside = ((rows >= 0) & (rows < height))[..., :, None] & ((cols >= 0) & (cols < width))[
            ..., None, :
        ]
        window = self.maps[
            maps[..., None, None],
            rows.clamp(0, height - 1)[..., :, None],
            cols.clamp(0, width - 1)[..., None, :],
        ]
        window = torch.where(inside, window.double(), 0)
        blurred = (window * self.weights[:, None] * self.weights[None, :]).sum(dim=(-1, -2))
        return blurred.float() * self.scale[maps]


def _dark(locs: Tensor, heatmaps: Tensor, blur_kernel_size: int) -> Tensor:
    """``refine_keypoints_dark``: the Newton step on the log of the blurred heatmap at the
    argmax, where ``1 < x < W - 2`` and ``1 < y < H - 2`` and the Hessian is regular."""
    batch, num, height, width = heatmaps.shape
    blurred = _BlurredMaps(heatmaps, blur_kernel_size)
    maps = torch.arange(batch * num, device=locs.device).reshape(batch, num)
    x, y = locs[..., 0].long(), locs[..., 1].long()

    def at(dx: int, dy: int) -> Tensor:
        ys = (y + dy).clamp(0, height - 1)
        xs = (x + dx).clamp(0, width - 1)
        return blurred.at(maps, ys, xs).clamp_min(1e-10).log()

    center = at(0, 0)
    dx = 0.5 * (at(1, 0) - at(-1, 0))
    dy = 0.5 * (at(0, 1) - at(0, -1))
    dxx = 0.25 * (at(2, 0) - 2 * center + at(-2, 0))
    dxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    dyy = 0.25 * (at(0, 2) - 2 * center + at(0, -2))
    det = dxx * dyy - dxy**2
    inside = (x > 1) & (x < width - 2) & (y > 1) & (y < height - 2) & (det != 0)
    # numpy inverts the float32 Hessian in float64 and returns float32
    det64 = dxx.double() * dyy.double() - dxy.double() ** 2
    det64 = torch.where(inside, det64, 1)
    inv_xx = (dyy.double() / det64).float()
    inv_xy = (-dxy.double() / det64).float()
    inv_yy = (dxx.double() / det64).float()
    offset = -torch.stack([inv_xx * dx + inv_xy * dy, inv_xy * dx + inv_yy * dy], dim=-1)
    return locs + torch.where(inside[..., None], offset, 0)


def _dark_udp(locs: Tensor, heatmaps: Tensor, blur_kernel_size: int) -> Tensor:
    """``refine_keypoints_dark_udp``: the Newton step on the log of the blurred heatmap
    (clipped to [1e-3, 50]) padded by one edge pixel, read through numpy's flat index of one
    sample's padded maps (which wraps around for the -1 of joints without a positive
    response, into other joints' maps)."""
    batch, num, height, width = heatmaps.shape
    blurred = _BlurredMaps(heatmaps, blur_kernel_size)
    row = width + 2
    per_map = row * (height + 2)
    index = (locs[..., 0] + 1 + (locs[..., 1] + 1) * row).long()
    index = index + per_map * torch.arange(num, device=locs.device)
    first_map = num * torch.arange(batch, device=locs.device)[:, None]

    def at(shift: int) -> Tensor:
        flat = (index + shift) % (num * per_map)
        rest = flat % per_map
        # edge padding: a padded pixel reads the nearest pixel of the map
        ys = (torch.div(rest, row, rounding_mode='floor') - 1).clamp(0, height - 1)
        xs = (rest % row - 1).clamp(0, width - 1)
        maps = first_map + torch.div(flat, per_map, rounding_mode='floor')
        return blurred.at(maps, ys, xs).clamp(1e-3, 50.0).log()

    center = at(0)
    ix1, ix1_ = at(1), at(-1)
    iy1, iy1_ = at(row), at(-row)
    ix1y1, ix1_y1_ = at(row + 1), at(-row - 1)
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    dxx = (ix1 - 2 * center + ix1_).double()
    dyy = (iy1 - 2 * center + iy1_).double()
    dxy = (0.5 * (ix1y1 - ix1 - iy1 + center + center - ix1_ - iy1_ + ix1_y1_)).double()
    # np.linalg.inv(hessian + eps * I) in float64, applied to the float32 derivative
    eps = torch.finfo(torch.float32).eps
    det = (dxx + eps) * (dyy + eps) - dxy * dxy
    step_x = ((dyy + eps) * dx.double() - dxy * dy.double()) / det
    step_y = (-dxy * dx.double() + (dxx + eps) * dy.double()) / det
    return (locs.double() - torch.stack([step_x, step_y], dim=-1)).float()


def torch_decode(codec, outputs: Outputs) -> Optional[Tuple[Tensor, Tensor]]:
    """Decode a batch of head outputs as ``codec.decode`` does sample by sample.

    Args:
        codec: The head's decoder (an mmpose codec, or ``DAGHeatmap``).
        outputs (Tensor | Tuple[Tensor, Tensor]): Heatmaps (B, K, H, W) or SimCC vectors
            ((B, K, Wx), (B, K, Wy)).

    Returns:
        tuple | None: keypoints (B, K, 2) float32 in crop pixels and scores (B, K) in the
        outputs' dtype (bfloat16 as float32, as mmpose's numpy path gives it), on the
        outputs' device; ``None`` when :func:`torch_decoder_name` has no decoder for
        ``codec``.
    """
    name = torch_decoder_name(codec)
    if name is None:
        return None
    codec = _resolve(codec)
    # detached: the initial pose carries no gradient (mmpose's decoders are numpy)
    if name == 'simcc':
        simcc_x, simcc_y = (t.detach() for t in outputs)
        if simcc_x.dtype == torch.bfloat16:
            simcc_x, simcc_y = simcc_x.float(), simcc_y.float()
        locs, scores = simcc_maximum(simcc_x, simcc_y)
        return locs / codec.simcc_split_ratio, scores
    heatmaps = outputs.detach()
    if heatmaps.dtype == torch.bfloat16:
        heatmaps = heatmaps.float()
    locs, scores = heatmap_maximum(heatmaps)
    if name == 'msra':
        locs = _quarter_offset(locs, heatmaps)
    elif name == 'legacy':
        locs = _legacy_quarter_offset(locs, heatmaps)
    elif name == 'dark':
        locs = _dark(locs, heatmaps, codec.blur_kernel_size)
    else:
        locs = _dark_udp(locs, heatmaps, codec.blur_kernel_size)
        # numpy: keypoints / [W - 1, H - 1] * input_size, in float64
        width, height = codec.heatmap_size
        frame = locs.new_tensor([width - 1, height - 1], dtype=torch.float64)
        size = locs.new_tensor(codec.input_size, dtype=torch.float64)
        return (locs.double() / frame * size).float(), scores
    return locs * locs.new_tensor(codec.scale_factor), scores
