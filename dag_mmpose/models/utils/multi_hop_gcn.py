# Copyright (c) dag_mmpose contributors. All rights reserved.
"""DAG's multi-hop GCN over the joints of a person: the multi-hop modulated graph convolution
of MM-GCN (Lee & Kim, BMVC 2022) as used by DAG (ICASSP 2024, eq. 3), its residual block, a
non-local block over joints, and the FGMH-GCN refinement network built from them.

Joint features are laid out as (B, J, C): batch, joints, channels. The adjacencies come from
:mod:`dag_mmpose.models.utils.skeleton_graph`; what this family shares with OPEC-Net's
(:mod:`dag_mmpose.models.utils.sem_gcn`) is in :mod:`dag_mmpose.models.utils.graph_common`.
"""

from typing import List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .graph_common import JointConvBNAct, joint_batch_norm
from .skeleton_graph import SkeletonLinks, multi_hop_adjacencies

__all__ = [
    'GraphConvBNAct',
    'JointNonLocal',
    'MultiHopGCN',
    'MultiHopModulatedGraphConv',
    'ResidualGraphBlock',
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


class GraphConvBNAct(JointConvBNAct):
    """Multi-hop modulated graph convolution, BatchNorm over channels, ReLU, dropout.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        adjacencies (Tensor): Hop adjacencies in shape (H, J, J).
        dropout (float): Dropout probability after the activation. Defaults to 0.
        hop_combination (str): See :class:`MultiHopModulatedGraphConv`. Defaults to
            ``'sum'``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacencies: Tensor,
        dropout: float = 0.0,
        hop_combination: str = 'sum',
    ) -> None:
        conv = MultiHopModulatedGraphConv(
            in_channels, out_channels, adjacencies, hop_combination=hop_combination
        )
        super().__init__(conv, out_channels, dropout)


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
        return F.relu(joint_batch_norm(self.norm, out))


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
            out = joint_batch_norm(self.norm, out)
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
        placement = self._non_local_placement(num_blocks, non_local, late_channels)
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

    @staticmethod
    def _non_local_placement(
        num_blocks: int, non_local: Union[bool, str], late_channels: int
    ) -> str:
        """Check the block layout; returns where the non-local blocks go: ``'every'``,
        ``'once'`` or ``'none'``."""
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
        return placement

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
