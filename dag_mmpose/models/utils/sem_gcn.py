# Copyright (c) dag_mmpose contributors. All rights reserved.
"""OPEC-Net's graph layers over the joints of a person: the semantic graph convolution of
SemGCN (Zhao et al., CVPR 2019) with OPEC-Net's node attention (ECCV 2020), its residual
block, and OPEC-Net's image-guided progressive GCN.

Joint features are laid out as (B, J, C): batch, joints, channels. What this family shares
with DAG's multi-hop GCN (:mod:`dag_mmpose.models.utils.multi_hop_gcn`) is in
:mod:`dag_mmpose.models.utils.graph_common`.
"""

import math
from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn

from .graph_common import JointConvBNAct, joint_batch_norm
from .skeleton_graph import SkeletonLinks, check_skeleton_links

__all__ = [
    'NodeAttention',
    'ProgressiveGCN',
    'ResidualSemGraphBlock',
    'SemGraphConv',
    'SemGraphConvBNAct',
    'skeleton_mask',
]


def skeleton_mask(skeleton_links: SkeletonLinks, num_joints: int) -> Tensor:
    """Which joints each joint hears in a semantic graph convolution: (J, J) bool, the
    skeleton's links in both directions plus every joint itself."""
    mask = torch.eye(num_joints, dtype=torch.bool)
    for i, j in check_skeleton_links(skeleton_links, num_joints):
        mask[i, j] = mask[j, i] = True
    return mask


class SemGraphConv(nn.Module):
    """Semantic graph convolution (SemGCN, Zhao et al. CVPR 2019), as OPEC-Net uses it.

    Every edge of the skeleton (self loops included) has a learnable logit ``e_ij``
    (initialized to 1); a softmax over each joint's neighbours turns them into weights
    ``a_ij`` that sum to 1 per joint, and with a self weight ``W0`` and a neighbour weight
    ``W1``::

        y_i = a_ii x_i W0 + sum_{j in N(i), j != i} a_ij x_j W1 + b

    ``W0``, ``W1`` are xavier-uniform with gain 1.414 and ``b`` is uniform in
    ``+-1 / sqrt(C_out)``, as in OPEC-Net's code.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C_out.
        mask (Tensor): (J, J) bool, which joints each joint hears (its own row), e.g. from
            :func:`skeleton_mask`; the diagonal must be set. A non-persistent buffer.
        bias (bool): Add a learnable bias. Defaults to ``True``.

    Example:
        >>> layer = SemGraphConv(3, 8, skeleton_mask([(0, 1), (1, 2)], 3))
        >>> layer(torch.rand(2, 3, 3)).shape
        torch.Size([2, 3, 8])
        >>> layer.edge_weights().sum(dim=1)
        tensor([1., 1., 1.], grad_fn=<SumBackward1>)
    """

    def __init__(
        self, in_channels: int, out_channels: int, mask: Tensor, bias: bool = True
    ) -> None:
        super().__init__()
        mask = mask.bool()
        if mask.ndim != 2 or mask.shape[0] != mask.shape[1] or not mask.diagonal().all():
            raise ValueError(
                'SemGraphConv needs a square (J, J) mask with every joint hearing itself '
                f'(diagonal set), got shape {tuple(mask.shape)}'
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.register_buffer('mask', mask.clone(), persistent=False)
        self.weight = nn.Parameter(torch.empty(2, in_channels, out_channels))
        nn.init.xavier_uniform_(self.weight, gain=1.414)
        self.edge_logits = nn.Parameter(torch.ones(int(mask.sum())))
        self.bias = None
        if bias:
            bound = 1.0 / math.sqrt(out_channels)
            self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound))

    def edge_weights(self) -> Tensor:
        """``a`` (J, J): the softmax of the edge logits over each row's neighbours, 0 off
        the graph."""
        logits = self.edge_logits.new_full(self.mask.shape, float('-inf'))
        logits = logits.masked_scatter(self.mask, self.edge_logits)
        return torch.softmax(logits, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, J, C_in) -> (B, J, C_out)."""
        weights = self.edge_weights().to(x.dtype)
        own = torch.matmul(x, self.weight[0].to(x.dtype))
        neighbours = torch.matmul(x, self.weight[1].to(x.dtype))
        diagonal = torch.diagonal(weights)
        out = diagonal[:, None] * own + torch.matmul(weights - torch.diag(diagonal), neighbours)
        if self.bias is not None:
            out = out + self.bias.to(x.dtype)
        return out


class SemGraphConvBNAct(JointConvBNAct):
    """:class:`SemGraphConv`, BatchNorm over channels, ReLU, dropout.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        mask (Tensor): (J, J) bool neighbourhoods, see :class:`SemGraphConv`.
        dropout (float): Dropout probability after the activation. Defaults to 0.
    """

    def __init__(
        self, in_channels: int, out_channels: int, mask: Tensor, dropout: float = 0.0
    ) -> None:
        super().__init__(SemGraphConv(in_channels, out_channels, mask), out_channels, dropout)


class NodeAttention(nn.Module):
    """OPEC-Net's node attention: a gate per joint from the joints' mean feature.

    ``a = sigmoid(FC(ReLU(FC(mean_j x_j))))`` with ``C -> C / 4 -> J``, and
    ``y_j = x_j + a_j x_j``: a squeeze-and-excitation over joints instead of channels.

    Args:
        channels (int): Joint feature channels C.
        num_joints (int): Number of joints J.
    """

    def __init__(self, channels: int, num_joints: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.fc = nn.Sequential(
            nn.Linear(channels, max(channels // 4, 1)),
            nn.ReLU(inplace=True),
            nn.Linear(max(channels // 4, 1), num_joints),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, J, C) -> (B, J, C)."""
        gates = self.fc(x.mean(dim=1))  # (B, J)
        return x + x * gates.unsqueeze(-1)


class ResidualSemGraphBlock(nn.Module):
    """OPEC-Net's residual block with node attention ("ResGCN-Att").

    ``y = NodeAttention(ReLU(BN(x + SemGraphConv(ReLU(BN(SemGraphConv(x)))))))``, the inner
    width ``C / 2``; features given to ``forward`` are joined to ``x`` first, so ``channels``
    counts them.

    Args:
        channels (int): Input (after the join) and output channels C.
        mask (Tensor): (J, J) bool neighbourhoods, see :class:`SemGraphConv`.
        dropout (float): Dropout probability after the first layer. Defaults to 0.
    """

    def __init__(self, channels: int, mask: Tensor, dropout: float = 0.0) -> None:
        super().__init__()
        self.channels = channels
        self.layer1 = SemGraphConvBNAct(channels, max(channels // 2, 1), mask, dropout)
        self.layer2 = SemGraphConv(max(channels // 2, 1), channels, mask)
        self.bn = nn.BatchNorm1d(channels)
        self.act = nn.ReLU(inplace=True)
        self.attention = NodeAttention(channels, mask.shape[0])

    def forward(self, x: Tensor, joined: Optional[Tensor] = None) -> Tensor:
        """(B, J, C - C_joined) [+ (B, J, C_joined)] -> (B, J, C)."""
        if joined is not None:
            x = torch.cat([joined.to(x.dtype), x], dim=-1)
        if x.shape[-1] != self.channels:
            raise ValueError(
                f'ResidualSemGraphBlock({self.channels}) got {x.shape[-1]} channels after '
                'joining the joint features'
            )
        out = self.layer2(self.layer1(x))
        out = self.act(joint_batch_norm(self.bn, x + out))
        return self.attention(out)


class ProgressiveGCN(nn.Module):
    """OPEC-Net's Image-Guided Progressive GCN: a pose in, one pose per feature level out.

    Layout (OPEC-Net's code, with ``hidden_channels=128`` and ``level_channels=(256, 128,
    128)``: widths 384, 512, 640)::

        SemGraphConvBNAct(in -> hidden), ResidualSemGraphBlock(hidden)
        for each level l: ResidualSemGraphBlock(on cat[J_l, h]), P_l = SemGraphConv(-> out)

    Every ``P_l`` is an absolute pose (as OPEC-Net), not an offset.

    Args:
        in_channels (int): Channels of the input pose per joint (3: x, y, score).
        out_channels (int): Channels of each output (2).
        skeleton_links (Sequence[Sequence[int]]): Links as (i, j) joint index pairs.
        num_joints (int): Number of joints J.
        level_channels (Sequence[int]): Channels of the joint features of each level, in
            the order they join. Defaults to ``(256, 128, 128)``.
        hidden_channels (int): Channels after the input layer. Defaults to 128.
        dropout (float): Dropout probability inside the blocks. Defaults to 0.

    Example:
        >>> gcn = ProgressiveGCN(3, 2, [(0, 1), (1, 2)], 3, (8, 4), hidden_channels=16)
        >>> poses = gcn(torch.rand(2, 3, 3), [torch.rand(2, 3, 8), torch.rand(2, 3, 4)])
        >>> [tuple(p.shape) for p in poses]
        [(2, 3, 2), (2, 3, 2)]
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        skeleton_links: SkeletonLinks,
        num_joints: int,
        level_channels: Sequence[int] = (256, 128, 128),
        hidden_channels: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not level_channels:
            raise ValueError('ProgressiveGCN needs at least one level of joint features')
        mask = skeleton_mask(skeleton_links, num_joints)
        self.num_joints = num_joints
        self.level_channels = tuple(int(c) for c in level_channels)
        self.input_layer = SemGraphConvBNAct(in_channels, hidden_channels, mask, dropout)
        self.input_block = ResidualSemGraphBlock(hidden_channels, mask, dropout)
        self.level_blocks = nn.ModuleList()
        self.output_layers = nn.ModuleList()
        width = hidden_channels
        for channels in self.level_channels:
            width += channels
            self.level_blocks.append(ResidualSemGraphBlock(width, mask, dropout))
            self.output_layers.append(SemGraphConv(width, out_channels, mask))

    def forward(self, x: Tensor, joint_features: Sequence[Tensor]) -> List[Tensor]:
        """Run the network.

        Args:
            x (Tensor): Input pose in shape (B, J, C_in).
            joint_features (Sequence[Tensor]): One (B, J, C_l) per level.

        Returns:
            List[Tensor]: The pose after each level, each (B, J, C_out).
        """
        if x.shape[1] != self.num_joints:
            raise ValueError(
                f'ProgressiveGCN was built for {self.num_joints} joints, got input of shape '
                f'{tuple(x.shape)}'
            )
        got = tuple(f.shape[-1] for f in joint_features)
        if got != self.level_channels:
            raise ValueError(
                f'ProgressiveGCN expects joint features with channels {self.level_channels}, '
                f'got {got}'
            )
        out = self.input_block(self.input_layer(x))
        poses = []
        levels = zip(self.level_blocks, self.output_layers, joint_features)
        for block, output_layer, feats in levels:
            out = block(out, feats)
            poses.append(output_layer(out))
        return poses
