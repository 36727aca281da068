# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The DAG training loss: multi-joint heatmaps + target output + refined pose (eq. 4)."""
from typing import Dict, Optional, Tuple, Union

from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

# A base head's output / target: heatmaps, or (x, y) vectors for SimCC-style heads
HeadTensors = Union[Tensor, Tuple[Tensor, ...]]


@MODELS.register_module()
class DAGLoss(nn.Module):
    """``L = l_m + l_t + lambda * l_p`` of DAG (ICASSP 2024, eq. 4).

    - ``l_m``: multi-joint heatmaps (every annotated person in the crop) against the
      multi-joint branch on the backbone features.
    - ``l_t``: the target person's labels against the wrapped base head's output
      (heatmaps, or (x, y) SimCC vectors with e.g. ``KLDiscretLoss``).
    - ``l_p``: the GCN-refined pose against the target pose, both normalised to [-1, 1]
      over the crop; ``lambda`` is the ``loss_weight`` of ``pose_loss``.

    Each term is built from its own mmpose loss config and returned under its own key, so
    mmengine logs them separately (and sums every ``loss_*`` key for the update). A term
    whose prediction is ``None`` is skipped and its key left out: that is how
    :class:`FGMHGCNHead` with ``use_multi_branch=False`` / ``use_gcn=False`` trains
    without ``l_m`` / ``l_p`` (the ablation of the paper's Table 2). The
    defaults are the released DAG weights in mmpose units: the authors' heatmap MSE is
    half of mmpose's ``KeypointMSELoss``, hence ``loss_weight=0.5``; ``lambda = 0.01``.
    With weighted sub-losses (``use_target_weight=True``, the defaults) joints with weight
    0 contribute nothing, and a batch without any labelled joint gives exactly 0 for every
    term.

    Args:
        multi_loss (dict, optional): Config of ``l_m``. Defaults to
            ``dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=0.5)``.
        target_loss (dict, optional): Config of ``l_t``. Defaults to the same as
            ``multi_loss``; set e.g. ``dict(type='KLDiscretLoss', use_target_weight=True,
            beta=10., label_softmax=True)`` for a SimCC / RTMCC base head.
        pose_loss (dict, optional): Config of ``l_p``. Defaults to
            ``dict(type='L1Loss', use_target_weight=True, loss_weight=0.01)``.

    Example:
        >>> import torch
        >>> loss = DAGLoss()
        >>> hm, w = torch.rand(2, 17, 16, 12), torch.ones(2, 17)
        >>> xy = torch.rand(2, 17, 2)
        >>> sorted(loss(hm, hm, w, hm, hm, w, xy, xy, w))
        ['loss_multi', 'loss_pose', 'loss_target']
        >>> sorted(loss(None, None, None, hm, hm, w, xy, xy, w))
        ['loss_pose', 'loss_target']
    """

    def __init__(
        self,
        multi_loss: OptConfigType = None,
        target_loss: OptConfigType = None,
        pose_loss: OptConfigType = None,
    ) -> None:
        super().__init__()
        # defaults are built here, not in the signature, so no config dict is shared
        heatmap_default = dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=0.5)
        self.multi_loss = MODELS.build(multi_loss if multi_loss is not None else heatmap_default)
        self.target_loss = MODELS.build(
            target_loss if target_loss is not None else dict(heatmap_default)
        )
        self.pose_loss = MODELS.build(
            pose_loss
            if pose_loss is not None
            else dict(type='L1Loss', use_target_weight=True, loss_weight=0.01)
        )

    def forward(
        self,
        multi_pred: Optional[Tensor],
        multi_target: Optional[Tensor],
        multi_weights: Optional[Tensor],
        target_pred: HeadTensors,
        target_target: HeadTensors,
        target_weights: Tensor,
        pose_pred: Optional[Tensor],
        pose_target: Optional[Tensor],
        pose_weights: Optional[Tensor],
    ) -> Dict[str, Tensor]:
        """Compute the three terms, or those whose prediction is given.

        Note:
            - batch size: B
            - number of keypoints: K
            - multi-joint heatmap size: [W, H]
            - base head output: heatmaps (B, K, H', W') or SimCC vectors
              ((B, K, Wx), (B, K, Wy))

        Args:
            multi_pred (Tensor, optional): Multi-joint heatmaps predicted, shape
                (B, K, H, W); ``None`` skips ``loss_multi`` (with its target / weights).
            multi_target (Tensor): Multi-joint target heatmaps, shape (B, K, H, W).
            multi_weights (Tensor): Multi-joint keypoint weights, shape (B, K).
            target_pred (Tensor | Tuple[Tensor]): The base head's output.
            target_target (Tensor | Tuple[Tensor]): Its target, same structure.
            target_weights (Tensor): Target keypoint weights, shape (B, K).
            pose_pred (Tensor, optional): Refined pose in [-1, 1], shape (B, K, 2);
                ``None`` skips ``loss_pose`` (with its target / weights).
            pose_target (Tensor): Target pose in [-1, 1], shape (B, K, 2).
            pose_weights (Tensor): Target keypoint weights, shape (B, K).

        Returns:
            Dict[str, Tensor]: Scalars ``loss_multi`` (unless skipped), ``loss_target``,
            ``loss_pose`` (unless skipped).
        """
        losses = {}
        if multi_pred is not None:
            losses['loss_multi'] = self.multi_loss(multi_pred, multi_target, multi_weights)
        losses['loss_target'] = self.target_loss(target_pred, target_target, target_weights)
        if pose_pred is not None:
            losses['loss_pose'] = self.pose_loss(pose_pred, pose_target, pose_weights)
        return losses
