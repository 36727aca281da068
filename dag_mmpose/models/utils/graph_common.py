# Copyright (c) dag_mmpose contributors. All rights reserved.
"""What the two graph-layer families (:mod:`.multi_hop_gcn`, DAG's multi-hop GCN, and
:mod:`.sem_gcn`, OPEC-Net's SemGCN) share: BatchNorm over the channels of joint features and
the "graph convolution, BatchNorm, ReLU, dropout" layer both build on their own convolution.

Joint features are laid out as (B, J, C): batch, joints, channels.
"""

from torch import Tensor, nn

__all__ = ['JointConvBNAct', 'joint_batch_norm']


def joint_batch_norm(norm: nn.BatchNorm1d, x: Tensor) -> Tensor:
    """BatchNorm over the channels of joint features: (B, J, C) -> (B, J, C).

    ``BatchNorm1d`` normalizes dim 1, so the channels go there for the call and back after.
    """
    return norm(x.transpose(1, 2)).transpose(1, 2)


class JointConvBNAct(nn.Module):
    """A graph convolution over joints, BatchNorm over channels, ReLU, dropout.

    The base of :class:`~dag_mmpose.models.utils.GraphConvBNAct` (multi-hop modulated
    convolution) and :class:`~dag_mmpose.models.utils.SemGraphConvBNAct` (semantic
    convolution), which build their convolution and hand it in: it is built before the
    BatchNorm and registered first (``conv``, ``bn``, ``act``, ``dropout``).

    Args:
        conv (nn.Module): The graph convolution, (B, J, C_in) -> (B, J, C_out).
        out_channels (int): Its output channels C_out.
        dropout (float): Dropout probability after the activation. Defaults to 0.
    """

    def __init__(self, conv: nn.Module, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm1d(out_channels)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(B, J, C_in) -> (B, J, C_out)."""
        x = joint_batch_norm(self.bn, self.conv(x))
        return self.dropout(self.act(x))
