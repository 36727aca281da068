# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Joints on a crop: sample features at the joints and move coordinates between the crop's
frames. For refinement heads that correct a base head's pose from image features (FGMH-GCN;
OPEC-Net's IGP-GCN).

Frames, with ``input_size = (w, h)`` the crop size of the base head's codec:

- *crop pixels* ``(x, y)``: what mmpose's top-down heads predict;
- *normalized* ``(u, v) = (2 x / w - 1, 2 y / h - 1)`` in [-1, 1]: what the ``DAGHeatmap``
  codec encodes as ``keypoint_coords`` and the GCN refines.

Heatmap index ``i`` sits where mmpose's encoders place it: ``x = i * w / W`` (MSRA),
``x = i * (w - 1) / (W - 1)`` (UDP), ``x = i / simcc_split_ratio`` (SimCC).
"""

from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmpose.models.utils.tta import flip_coordinates
from torch import Tensor, nn

__all__ = [
    'HeadOutputs',
    'RegressedPointSampler',
    'flip_normalized',
    'flip_pixels',
    'heatmap_to_pixels',
    'normalized_to_pixels',
    'pixels_to_normalized',
    'sample_joint_features',
    'soft_argmax',
]

# A top-down head's output: heatmaps (B, K, H, W) or SimCC vectors ((B, K, Wx), (B, K, Wy))
HeadOutputs = Union[Tensor, Tuple[Tensor, Tensor]]


def pixels_to_normalized(keypoints: Tensor, input_size: Tuple[int, int]) -> Tensor:
    """Crop pixels (..., 2) -> [-1, 1] (``u = 2 x / w - 1``)."""
    size = keypoints.new_tensor(input_size)
    return 2.0 * keypoints / size - 1.0


def normalized_to_pixels(coords: Tensor, input_size: Tuple[int, int]) -> Tensor:
    """[-1, 1] (..., 2) -> crop pixels (``x = (u + 1) w / 2``)."""
    size = coords.new_tensor(input_size)
    return (coords + 1.0) * size / 2.0


def flip_normalized(
    coords: Tensor, flip_indices: Sequence[int], input_size: Tuple[int, int], shift: bool = True
) -> Tensor:
    """Map [-1, 1] coordinates predicted on the flipped crop back to the original crop.

    mmpose's :func:`~mmpose.models.utils.tta.flip_coordinates` does the flip (in its [0, 1]
    frame): ``x -> w - 1 - x`` in pixels with ``shift``, ``x -> w - x`` without; symmetric
    joints swap by ``flip_indices``.

    Args:
        coords (Tensor): Coordinates in [-1, 1], shape (B, K, 2).
        flip_indices (Sequence[int]): Index of each joint's mirror joint.
        input_size (Tuple[int, int]): Crop size (w, h).
        shift (bool): Shift by one pixel as mmpose's pixel flip. Defaults to ``True``.

    Returns:
        Tensor: Coordinates in [-1, 1], shape (B, K, 2).
    """
    unit = (coords + 1.0) * 0.5
    flipped = flip_coordinates(unit, list(flip_indices), shift, input_size)
    return 2.0 * flipped - 1.0


def flip_pixels(
    keypoints: Tensor, flip_indices: Sequence[int], input_size: Tuple[int, int], shift: bool = True
) -> Tensor:
    """Mirror a pose in crop pixels into the flipped crop: :func:`flip_normalized` in pixels
    (the flip is its own inverse, so this also maps a flipped crop's pose back).

    Args:
        keypoints (Tensor): Keypoints in crop pixels, shape (B, K, 2).
        flip_indices (Sequence[int]): Index of each joint's mirror joint.
        input_size (Tuple[int, int]): Crop size (w, h).
        shift (bool): Shift by one pixel as mmpose's pixel flip. Defaults to ``True``.

    Returns:
        Tensor: Mirrored keypoints in crop pixels, shape (B, K, 2), float32.
    """
    normalized = pixels_to_normalized(keypoints.float(), input_size)
    flipped = flip_normalized(normalized, flip_indices, input_size, shift)
    return normalized_to_pixels(flipped, input_size)


def soft_argmax(heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
    """The expected location under a softmax over all pixels of each map (integral pose
    regression; OPEC-Net's joint sampling points).

    Args:
        heatmaps (Tensor): Logits in shape (B, K, H, W).

    Returns:
        tuple: ``(locations, peaks)``: (B, K, 2) in heatmap index units ``(i, j)`` (column,
        row; a peak at index 3 gives 3.0), float32, and (B, K) the largest softmax
        probability of each map.

    Example:
        >>> maps = torch.full((1, 1, 4, 5), -1e4)
        >>> maps[0, 0, 2, 3] = 0.0
        >>> soft_argmax(maps)[0]
        tensor([[[3., 2.]]])
    """
    if heatmaps.ndim != 4:
        raise ValueError(f'soft_argmax expects (B, K, H, W) heatmaps, got {tuple(heatmaps.shape)}')
    batch, num_maps, height, width = heatmaps.shape
    probs = torch.softmax(heatmaps.float().flatten(2), dim=-1).view(batch, num_maps, height, width)
    cols = torch.arange(width, device=heatmaps.device, dtype=probs.dtype)
    rows = torch.arange(height, device=heatmaps.device, dtype=probs.dtype)
    x = (probs.sum(dim=2) * cols).sum(dim=-1)
    y = (probs.sum(dim=3) * rows).sum(dim=-1)
    return torch.stack([x, y], dim=-1), probs.flatten(2).amax(dim=-1)


def heatmap_to_pixels(
    locations: Tensor,
    input_size: Tuple[int, int],
    heatmap_size: Tuple[int, int],
    use_udp: bool = False,
) -> Tensor:
    """Heatmap index units (..., 2) -> crop pixels, as the codecs place an index:
    ``x = i * w / W`` (MSRA), ``x = i * (w - 1) / (W - 1)`` (UDP)."""
    size_in = locations.new_tensor(input_size)
    size_map = locations.new_tensor(heatmap_size)
    if use_udp:
        return locations * (size_in - 1.0) / (size_map - 1.0)
    return locations * size_in / size_map


def sample_joint_features(
    maps: Tensor, keypoints: Tensor, input_size: Tuple[int, int], use_udp: bool = False
) -> Tensor:
    """Bilinearly sample ``maps`` at crop-pixel locations (``grid_sample``).

    The grid puts map pixel ``j`` where the codec puts heatmap index ``j``, so that a joint
    decoded from a heatmap samples exactly its own feature cell whatever the map's
    resolution.

    Args:
        maps (Tensor): Feature maps in shape (B, C, H, W).
        keypoints (Tensor): Locations in crop pixels, shape (B, K, 2).
        input_size (Tuple[int, int]): Crop size (w, h).
        use_udp (bool): The maps are in UDP's frame (corners align). Defaults to ``False``.

    Returns:
        Tensor: Sampled features in shape (B, K, C).
    """
    height, width = maps.shape[-2:]
    size_in = keypoints.new_tensor(input_size)
    if use_udp:
        # UDP: index j sits at x = j (w - 1) / (W - 1): corners align
        grid = 2.0 * keypoints / (size_in - 1.0) - 1.0
        align_corners = True
    else:
        # MSRA / SimCC: index j sits at x = j w / W; with align_corners=False the center of
        # cell j is at grid (2 j + 1) / W - 1
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


class RegressedPointSampler(nn.Module):
    """Joint features as the authors' DAG release makes them: heatmaps sampled at regressed
    points.

    ``maps = Conv3x3(heatmaps)`` (K -> K channels); for each joint an MLP
    ``H*W -> hidden -> hidden -> 2`` (ReLU between) regresses a point in [-1, 1] from that
    joint's flattened map, and every map is bilinearly sampled at every joint's point
    (``grid_sample``, ``align_corners=False``, zero padding, as released): K features per
    joint. The points have no loss of their own; they learn through the GCN's. The layers
    keep PyTorch's default initialization, as released.

    Args:
        num_keypoints (int): K, the heatmap channels.
        heatmap_size (Tuple[int, int]): The heatmaps' (W, H); the MLP's input is W * H.
        hidden_channels (int): Width of the MLP. Defaults to 1024 (the release's).

    Example:
        >>> import torch
        >>> sampler = RegressedPointSampler(17, (12, 16), hidden_channels=32)
        >>> feats, points = sampler(torch.rand(2, 17, 16, 12))
        >>> feats.shape, points.shape
        (torch.Size([2, 17, 17]), torch.Size([2, 17, 2]))
    """

    def __init__(
        self, num_keypoints: int, heatmap_size: Tuple[int, int], hidden_channels: int = 1024
    ) -> None:
        super().__init__()
        self.num_keypoints = int(num_keypoints)
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        width, height = self.heatmap_size
        self.level_conv = nn.Conv2d(self.num_keypoints, self.num_keypoints, 3, padding=1)
        self.point_mlp = nn.Sequential(
            nn.Linear(width * height, hidden_channels),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, hidden_channels),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, 2),
        )

    def init_weights(self) -> None:
        """PyTorch's default initialization, whatever the enclosing head's ``init_cfg``
        did to the conv (mmengine calls this after the parent's ``init_cfg``)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.reset_parameters()

    def forward(self, heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
        """Sample the convolved heatmaps at the regressed points.

        Args:
            heatmaps (Tensor): (B, K, H, W) with (W, H) = ``heatmap_size``.

        Returns:
            tuple: features (B, K, K) (joint k's row holds every map at joint k's point)
            and the points (B, K, 2) in [-1, 1].
        """
        expected = (self.num_keypoints, self.heatmap_size[1], self.heatmap_size[0])
        if heatmaps.ndim != 4 or tuple(heatmaps.shape[1:]) != expected:
            raise ValueError(
                f'RegressedPointSampler expects heatmaps of shape (B, {expected[0]}, '
                f'{expected[1]}, {expected[2]}) (K, H, W of its heatmap_size), got '
                f'{tuple(heatmaps.shape)}'
            )
        maps = self.level_conv(heatmaps)
        points = self.point_mlp(maps.flatten(2))  # (B, K, 2)
        sampled = F.grid_sample(
            maps, points.unsqueeze(1).to(maps.dtype), mode='bilinear', align_corners=False
        )  # (B, K, 1, K)
        return sampled.squeeze(2).transpose(1, 2), points
