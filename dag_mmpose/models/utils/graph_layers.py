# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Graph layers over the joints of a person: the multi-hop modulated graph convolution of
MM-GCN (Lee & Kim, BMVC 2022) as used by DAG (ICASSP 2024, eq. 3), its residual block, a
non-local block over joints, and the FGMH-GCN refinement network built from them; the
semantic graph convolution of SemGCN (Zhao et al., CVPR 2019) with OPEC-Net's node attention
(ECCV 2020), its residual block, and OPEC-Net's image-guided progressive GCN.

Joint features are laid out as (B, J, C): batch, joints, channels. The adjacencies come from
:mod:`dag_mmpose.models.utils.skeleton_graph`.
"""

import math
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .skeleton_graph import SkeletonLinks, check_skeleton_links, multi_hop_adjacencies

__all__ = [
    'GraphConvBNAct',
    'JointNonLocal',
    'MultiHopGCN',
    'MultiHopModulatedGraphConv',
    'NodeAttention',
    'ProgressiveGCN',
    'ResidualGraphBlock',
    'ResidualSemGraphBlock',
    'SemGraphConv',
    'SemGraphConvBNAct',
    'skeleton_mask',
]


class MultiHopModulatedGraphConv(nn.Module):
    """Multi-hop modulated graph convolution (MM-GCN; DAG eq. 3).

    With joint features ``X`` in (J, C_in) (one sample), for every hop ``k``::

        Y = sum_k  Lambda_k * (X W0 + A_k X W1)  + b

    ``W0`` (self) and ``W1`` (neighbors) are shared over hops, ``A_k`` is the
    row-normalized exact-k-hop adjacency (no self loops: the self connection is ``W0``),
    and ``Lambda_k`` in (J, C_out) is a learnable per-hop, per-joint, per-channel
    modulation initialized to 1, multiplied element-wise. The paper writes the neighbor
    term as ``W1 M A_k`` for a (C, J) feature matrix ``M``; in the (J, C) layout used here
    that is ``A_k X W1``, i.e. every joint averages its k-hop neighbors.

    ``hop_combination='gated'`` combines the hops as the authors' release does (MM-GCN's
    code): with ``C_k = Lambda_k * (X W0 + A_k X W1)``,
    ``Y = C_1 + (1 - Lambda_1) * C_2 + (1 - Lambda_1) * (1 - Lambda_2) * C_3 + ...``, so at
    init (``Lambda = 1``) only the 1-hop term is on and each farther hop is gated by the
    nearer ones.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C_out.
        adjacencies (Tensor): Hop adjacencies in shape (H, J, J), e.g. from
            :func:`multi_hop_adjacencies`. Stored as a non-persistent buffer: it is derived
            from the dataset's skeleton, not learned, so it stays out of checkpoints.
        bias (bool): Add a learnable bias. Defaults to ``True``.
        hop_combination (str): ``'sum'`` (eq. 3 of the paper) or ``'gated'`` (the
            release). Defaults to ``'sum'``.

    Example:
        >>> adj = multi_hop_adjacencies([(0, 1), (1, 2)], 3, num_hops=2)
        >>> layer = MultiHopModulatedGraphConv(4, 8, adj)
        >>> layer(torch.rand(2, 3, 4)).shape
        torch.Size([2, 3, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacencies: Tensor,
        bias: bool = True,
        hop_combination: str = 'sum',
    ) -> None:
        super().__init__()
        if hop_combination not in ('sum', 'gated'):
            raise ValueError(f"hop_combination must be 'sum' or 'gated', got {hop_combination!r}")
        self.hop_combination = hop_combination
        if adjacencies.ndim != 3 or adjacencies.shape[1] != adjacencies.shape[2]:
            raise ValueError(
                f'adjacencies must have shape (H, J, J), got {tuple(adjacencies.shape)}'
            )
        num_hops, num_joints = adjacencies.shape[:2]
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.register_buffer('adjacencies', adjacencies.float().clone(), persistent=False)
        self.self_weight = nn.Linear(in_channels, out_channels, bias=False)
        self.neighbor_weight = nn.Linear(in_channels, out_channels, bias=False)
        self.modulation = nn.Parameter(torch.ones(num_hops, num_joints, out_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """Apply the graph convolution.

        Args:
            x (Tensor): Joint features in shape (B, J, C_in).

        Returns:
            Tensor: Joint features in shape (B, J, C_out).
        """
        own = self.self_weight(x)  # (B, J, C_out)
        neighbors = self.neighbor_weight(x)  # (B, J, C_out)
        # (H, J, J) @ (B, 1, J, C_out) -> (B, H, J, C_out)
        gathered = torch.matmul(self.adjacencies.to(neighbors.dtype), neighbors.unsqueeze(1))
        hops = self.modulation * (own.unsqueeze(1) + gathered)  # (B, H, J, C_out)
        if self.hop_combination == 'gated':
            # hop k is gated by prod_{j<k} (1 - Lambda_j): the running product written out
            # (what cumprod computes, in the same order; ONNX has no cumprod)
            gates = [torch.ones_like(self.modulation[0])]
            for factor in 1.0 - self.modulation[:-1]:
                gates.append(gates[-1] * factor)
            hops = torch.stack(gates) * hops
        out = hops.sum(dim=1)
        if self.bias is not None:
            out = out + self.bias
        return out


class GraphConvBNAct(nn.Module):
    """Multi-hop modulated graph convolution, BatchNorm over channels, ReLU, dropout.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        adjacencies (Tensor): Hop adjacencies in shape (H, J, J).
        dropout (float): Dropout probability after the activation. Defaults to 0.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacencies: Tensor,
        dropout: float = 0.0,
        hop_combination: str = 'sum',
    ) -> None:
        super().__init__()
        self.conv = MultiHopModulatedGraphConv(
            in_channels, out_channels, adjacencies, hop_combination=hop_combination
        )
        self.bn = nn.BatchNorm1d(out_channels)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(B, J, C_in) -> (B, J, C_out)."""
        x = self.conv(x)
        # BatchNorm1d normalizes dim 1, so channels go there for the call
        x = self.bn(x.transpose(1, 2)).transpose(1, 2)
        return self.dropout(self.act(x))


class ResidualGraphBlock(nn.Module):
    """Two :class:`GraphConvBNAct` layers with an identity shortcut.

    ``y = x + F(x)``, or with ``post_norm`` ``y = ReLU(BN(x + F(x)))`` (the authors' DAG
    release normalizes and activates the residual sum).

    Args:
        channels (int): Input, hidden and output channels.
        adjacencies (Tensor): Hop adjacencies in shape (H, J, J).
        dropout (float): Dropout probability inside the layers. Defaults to 0.
        hop_combination (str): See :class:`MultiHopModulatedGraphConv`. Defaults to
            ``'sum'``.
        post_norm (bool): BatchNorm over channels and ReLU after the residual sum.
            Defaults to ``False``.
    """

    def __init__(
        self,
        channels: int,
        adjacencies: Tensor,
        dropout: float = 0.0,
        hop_combination: str = 'sum',
        post_norm: bool = False,
    ) -> None:
        super().__init__()
        self.layer1 = GraphConvBNAct(channels, channels, adjacencies, dropout, hop_combination)
        self.layer2 = GraphConvBNAct(channels, channels, adjacencies, dropout, hop_combination)
        self.norm: Optional[nn.BatchNorm1d] = nn.BatchNorm1d(channels) if post_norm else None

    def forward(self, x: Tensor) -> Tensor:
        """(B, J, C) -> (B, J, C)."""
        out = x + self.layer2(self.layer1(x))
        if self.norm is None:
            return out
        return F.relu(self.norm(out.transpose(1, 2)).transpose(1, 2))


class JointNonLocal(nn.Module):
    """Non-local (self-attention) block over the joints of one person.

    Every joint attends to every other joint, which lets the refinement use joints that
    are far apart on the skeleton (e.g. the visible wrist for an occluded one).
    ``out = x + gamma * W_o(softmax(Q K^T / sqrt(d)) V)`` with ``Q, K, V`` linear maps to
    ``channels // 2``. ``gamma`` is a learnable scalar, by default starting at 0 so that the
    block starts as the identity and does not disturb the graph features early in training.

    The authors' DAG release uses the embedded-Gaussian non-local block of Wang et al.:
    logits without the ``1 / sqrt(d)`` scale (``qk_scale=1.0``) and a BatchNorm after the
    output projection (``norm=True``; ``out = x + gamma * BN(W_o(...))`` with ``gamma = 1``,
    which the release checkpoint converter writes).

    Args:
        channels (int): Joint feature channels C.
        inter_channels (int, optional): Channels of Q, K, V. Defaults to ``C // 2``.
        init_gamma (float): Initial ``gamma``. Defaults to 0.
        qk_scale (float, optional): Factor on the Q.K logits; ``None`` is ``1 / sqrt(d)``.
            Defaults to ``None``.
        norm (bool): BatchNorm over channels after the output projection. Defaults to
            ``False``.
    """

    def __init__(
        self,
        channels: int,
        inter_channels: Optional[int] = None,
        init_gamma: float = 0.0,
        qk_scale: Optional[float] = None,
        norm: bool = False,
    ) -> None:
        super().__init__()
        if qk_scale is not None and not qk_scale > 0:
            raise ValueError(f'JointNonLocal: qk_scale must be positive or None, got {qk_scale!r}')
        inter_channels = inter_channels or max(channels // 2, 1)
        self.qk_scale = None if qk_scale is None else float(qk_scale)
        self.query = nn.Linear(channels, inter_channels)
        self.key = nn.Linear(channels, inter_channels)
        self.value = nn.Linear(channels, inter_channels)
        self.out_proj = nn.Linear(inter_channels, channels)
        self.norm: Optional[nn.BatchNorm1d] = nn.BatchNorm1d(channels) if norm else None
        self.gamma = nn.Parameter(torch.full((1,), float(init_gamma)))

    def forward(self, x: Tensor) -> Tensor:
        """(B, J, C) -> (B, J, C)."""
        # one head, as (B, 1, J, C): the 4-D layout ONNX's attention export takes
        query, key, value = (proj(x).unsqueeze(1) for proj in (self.query, self.key, self.value))
        attended = F.scaled_dot_product_attention(query, key, value, scale=self.qk_scale)
        out = self.out_proj(attended.squeeze(1))
        if self.norm is not None:
            out = self.norm(out.transpose(1, 2)).transpose(1, 2)
        return x + self.gamma * out


class MultiHopGCN(nn.Module):
    """The FGMH-GCN refinement network: joint features -> per-joint output (an offset).

    Layout (as released by the DAG authors, who follow the SemGCN / MM-GCN code family
    where ``num_layers=4`` counts *residual blocks*)::

        GraphConvBNAct(in -> hidden)
        num_blocks x [ResidualGraphBlock(hidden) (2 graph convs), JointNonLocal(hidden)]
        MultiHopModulatedGraphConv(hidden -> out)

    The defaults (2 hops, 128 hidden, 4 residual blocks) therefore hold
    ``1 + 2 * 4 + 1 = 10`` graph convolutions.

    The output layer starts at zero (weights and bias), so the network starts as the
    identity of the refinement: every offset is exactly 0 and a model fine-tuned from a plain
    mmpose checkpoint predicts exactly what the plain model predicts at step 0. Its first
    update makes the output layer non-zero, from then on every parameter gets a gradient. For
    that the non-local blocks start at ``gamma = 0.1``, not 0: a zero ``gamma`` behind the
    zero output layer would leave their query / key / value weights without a gradient for
    two more steps, and the output layer alone already makes the start the identity.

    Args:
        in_channels (int): Input channels per joint.
        out_channels (int): Output channels per joint (2 for an x/y offset).
        skeleton_links (Sequence[Sequence[int]]): Links as (i, j) joint index pairs.
        num_joints (int): Number of joints J.
        hidden_channels (int): Hidden channels. Defaults to 128.
        num_blocks (int): Number of residual blocks. Defaults to 4.
        num_hops (int): Number of hops H of every graph convolution. Defaults to 2.
        non_local (bool | str): Where :class:`JointNonLocal` blocks go: ``True`` /
            ``'every'`` after every residual block (ours), ``'once'`` one after the last
            residual block (the release), ``False`` / ``'none'`` none. Defaults to ``True``.
        dropout (float): Dropout probability inside the graph layers. Defaults to 0.
        hop_combination (str): How every graph convolution combines its hops: ``'sum'``
            (the paper's eq. 3) or ``'gated'`` (the release); see
            :class:`MultiHopModulatedGraphConv`. Defaults to ``'sum'``.
        symmetric_adjacency (bool): Use ``(D^-1 A + (D^-1 A)^T) / 2`` as the release's graph
            convolution does, instead of the row-normalized ``D^-1 A``. Defaults to
            ``False``.
        late_channels (int): Channels of features joined to the hidden features before the
            last residual block (``forward(x, late)``, joined in front:
            ``cat[late, hidden]``), as the release joins its joint features; the last
            block, its non-local block and the output layer then work on
            ``hidden + late_channels``. Defaults to 0 (everything enters at the input).
        residual_norm (bool): BatchNorm and ReLU after every residual sum (the release);
            see :class:`ResidualGraphBlock`. Defaults to ``False``.
        non_local_cfg (dict, optional): Further arguments of every :class:`JointNonLocal`
            (``qk_scale``, ``norm``; the release: ``dict(qk_scale=1.0, norm=True)``).
        self_links_in_degree (bool): A self link ``(i, i)`` in ``skeleton_links`` counts
            towards joint ``i``'s 1-hop degree (the release's COCO table);
            see :func:`~dag_mmpose.models.utils.k_hop_adjacency`. Defaults to ``False``.

    Example:
        >>> links = [(0, 1), (1, 2), (2, 3)]
        >>> gcn = MultiHopGCN(5, 2, links, num_joints=4, hidden_channels=16, num_blocks=1)
        >>> gcn(torch.rand(2, 4, 5)).shape
        torch.Size([2, 4, 2])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        skeleton_links: SkeletonLinks,
        num_joints: int,
        hidden_channels: int = 128,
        num_blocks: int = 4,
        num_hops: int = 2,
        non_local: Union[bool, str] = True,
        dropout: float = 0.0,
        hop_combination: str = 'sum',
        symmetric_adjacency: bool = False,
        late_channels: int = 0,
        residual_norm: bool = False,
        non_local_cfg: Optional[dict] = None,
        self_links_in_degree: bool = False,
    ) -> None:
        super().__init__()
        if num_blocks < 0:
            raise ValueError(f'num_blocks must be >= 0, got {num_blocks}')
        placement = {True: 'every', False: 'none'}.get(non_local, non_local)
        if placement not in ('every', 'once', 'none'):
            raise ValueError(
                f"non_local must be True, False, 'every', 'once' or 'none', got {non_local!r}"
            )
        if late_channels < 0 or (late_channels and num_blocks < 1):
            raise ValueError(
                f'late_channels must be >= 0 and needs num_blocks >= 1, got {late_channels} '
                f'with num_blocks={num_blocks}'
            )
        self.num_joints = num_joints
        self.late_channels = int(late_channels)
        adjacencies = multi_hop_adjacencies(
            skeleton_links, num_joints, num_hops, self_links_in_degree=self_links_in_degree
        )
        if symmetric_adjacency:
            adjacencies = 0.5 * (adjacencies + adjacencies.transpose(1, 2))
        hops = dict(hop_combination=hop_combination)
        self.input_layer = GraphConvBNAct(
            in_channels, hidden_channels, adjacencies, dropout, **hops
        )
        widths = [hidden_channels] * num_blocks
        if late_channels:
            widths[-1] += late_channels
        blocks: List[nn.Module] = []
        for index, width in enumerate(widths):
            blocks.append(
                ResidualGraphBlock(width, adjacencies, dropout, post_norm=residual_norm, **hops)
            )
            last = index == len(widths) - 1
            if placement == 'every' or (placement == 'once' and last):
                blocks.append(JointNonLocal(width, init_gamma=0.1, **(non_local_cfg or {})))
        # with late features the last block (and its non-local) runs after the join
        split = len(blocks) - (1 + int(placement != 'none')) if late_channels else len(blocks)
        self.blocks = nn.Sequential(*blocks[:split])
        self.late_blocks = nn.Sequential(*blocks[split:]) if late_channels else None
        out_width = widths[-1] if widths else hidden_channels
        self.output_layer = MultiHopModulatedGraphConv(out_width, out_channels, adjacencies, **hops)
        nn.init.zeros_(self.output_layer.self_weight.weight)
        nn.init.zeros_(self.output_layer.neighbor_weight.weight)

    def forward(self, x: Tensor, late: Optional[Tensor] = None) -> Tensor:
        """Run the network.

        Args:
            x (Tensor): Joint features in shape (B, J, C_in).
            late (Tensor, optional): Features joined before the last residual block,
                (B, J, late_channels); required exactly when ``late_channels > 0``.

        Returns:
            Tensor: Per-joint output in shape (B, J, C_out).
        """
        if x.shape[1] != self.num_joints:
            raise ValueError(
                f'MultiHopGCN was built for {self.num_joints} joints, got input with '
                f'{x.shape[1]} joints (shape {tuple(x.shape)})'
            )
        if (late is None) != (self.late_channels == 0) or (
            late is not None and late.shape[-1] != self.late_channels
        ):
            raise ValueError(
                f'MultiHopGCN(late_channels={self.late_channels}) got late features of shape '
                f'{None if late is None else tuple(late.shape)}'
            )
        out = self.blocks(self.input_layer(x))
        if self.late_blocks is not None:
            out = self.late_blocks(torch.cat([late.to(out.dtype), out], dim=-1))
        return self.output_layer(out)


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


class SemGraphConvBNAct(nn.Module):
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
        super().__init__()
        self.conv = SemGraphConv(in_channels, out_channels, mask)
        self.bn = nn.BatchNorm1d(out_channels)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(B, J, C_in) -> (B, J, C_out)."""
        x = self.bn(self.conv(x).transpose(1, 2)).transpose(1, 2)
        return self.dropout(self.act(x))


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
        out = self.act(self.bn((x + out).transpose(1, 2)).transpose(1, 2))
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
