# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The DAG training loss: multi-joint heatmaps + target output + refined keypoints (eq. 4)."""

from typing import Dict, Optional, Tuple, Union

from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

# A base head's output / target: heatmaps, or (x, y) vectors for SimCC-style heads
HeadTensors = Union[Tensor, Tuple[Tensor, ...]]


@MODELS.register_module()
class DAGLoss(nn.Module):
    """``L = l_m + l_t + lambda * l_p`` of DAG (ICASSP 2024, eq. 4).

    - ``l_m`` (``loss_multi``): multi-joint heatmaps (every annotated person in the crop)
      against the multi-joint branch on the backbone features.
    - ``l_t`` (``loss_target``): the target person's labels against the wrapped base head's
      output (heatmaps, or (x, y) SimCC vectors with e.g. ``KLDiscretLoss``).
    - ``l_p`` (``loss_coord``): the GCN-refined keypoint coordinates against the target's,
      both normalized to [-1, 1] over the crop; ``lambda`` is the ``loss_weight`` of
      ``coord_loss``.

    Each term is built from its own mmpose loss config and returned under its own key, so
    mmengine logs them separately. A term whose prediction is ``None`` is skipped and its key
    left out (:class:`FGMHGCNHead` with ``use_multi_branch=False`` / ``use_gcn=False``). The
    defaults are the released DAG weights in mmpose units: the authors' heatmap MSE is half of
    mmpose's ``KeypointMSELoss``, hence ``loss_weight=0.5``; ``lambda = 0.01``. With weighted
    sub-losses (the defaults) joints with weight 0 contribute nothing, and a batch without any
    labelled joint gives exactly 0 for every term.

    Args:
        multi_loss (dict, optional): Config of ``l_m``. Defaults to
            ``dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=0.5)``.
        target_loss (dict, optional): Config of ``l_t``. Defaults to the same as
            ``multi_loss``; set e.g. ``dict(type='KLDiscretLoss', use_target_weight=True,
            beta=10., label_softmax=True)`` for a SimCC / RTMCC base head.
        coord_loss (dict, optional): Config of ``l_p``. Defaults to
            ``dict(type='L1Loss', use_target_weight=True, loss_weight=0.01)``.

    Example:
        >>> import torch
        >>> loss = DAGLoss()
        >>> hm, w = torch.rand(2, 17, 16, 12), torch.ones(2, 17)
        >>> xy = torch.rand(2, 17, 2)
        >>> sorted(loss(target_pred=hm, target_gt=hm, target_weights=w,
        ...             multi_pred=hm, multi_gt=hm, multi_weights=w,
        ...             coord_pred=xy, coord_gt=xy, coord_weights=w))
        ['loss_coord', 'loss_multi', 'loss_target']
        >>> sorted(loss(target_pred=hm, target_gt=hm, target_weights=w))
        ['loss_target']
    """

    def __init__(
        self,
        multi_loss: OptConfigType = None,
        target_loss: OptConfigType = None,
        coord_loss: OptConfigType = None,
    ) -> None:
        super().__init__()
        # defaults are built here, not in the signature, so no config dict is shared
        heatmap_default = dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=0.5)
        self.multi_loss = MODELS.build(multi_loss if multi_loss is not None else heatmap_default)
        self.target_loss = MODELS.build(
            target_loss if target_loss is not None else dict(heatmap_default)
        )
        self.coord_loss = MODELS.build(
            coord_loss
            if coord_loss is not None
            else dict(type='L1Loss', use_target_weight=True, loss_weight=0.01)
        )

    def forward(
        self,
        *,
        target_pred: HeadTensors,
        target_gt: HeadTensors,
        target_weights: Tensor,
        multi_pred: Optional[Tensor] = None,
        multi_gt: Optional[Tensor] = None,
        multi_weights: Optional[Tensor] = None,
        coord_pred: Optional[Tensor] = None,
        coord_gt: Optional[Tensor] = None,
        coord_weights: Optional[Tensor] = None,
    ) -> Dict[str, Tensor]:
        """Compute ``loss_target`` and the optional terms whose prediction is given.

        Keyword arguments only: the three (prediction, label, weights) triples have the same
        shapes, so a positional swap would train silently wrong.

        Note:
            - batch size: B
            - number of keypoints: K
            - multi-joint heatmap size: [W, H]
            - base head output: heatmaps (B, K, H', W') or SimCC vectors
              ((B, K, Wx), (B, K, Wy))

        Args:
            target_pred (Tensor | Tuple[Tensor]): The base head's output.
            target_gt (Tensor | Tuple[Tensor]): Its labels, same structure.
            target_weights (Tensor): Target keypoint weights, shape (B, K).
            multi_pred (Tensor, optional): Multi-joint heatmaps predicted, shape
                (B, K, H, W); ``None`` skips ``loss_multi``.
            multi_gt (Tensor, optional): Multi-joint target heatmaps, shape (B, K, H, W).
            multi_weights (Tensor, optional): Multi-joint keypoint weights, shape (B, K).
            coord_pred (Tensor, optional): Refined keypoints in [-1, 1], shape (B, K, 2);
                ``None`` skips ``loss_coord``.
            coord_gt (Tensor, optional): Target keypoints in [-1, 1], shape (B, K, 2).
            coord_weights (Tensor, optional): Keypoint weights, shape (B, K).

        Returns:
            Dict[str, Tensor]: Scalars ``loss_multi`` (unless skipped), ``loss_target``,
            ``loss_coord`` (unless skipped).
        """
        losses = {}
        if multi_pred is not None:
            losses['loss_multi'] = self.multi_loss(multi_pred, multi_gt, multi_weights)
        losses['loss_target'] = self.target_loss(target_pred, target_gt, target_weights)
        if coord_pred is not None:
            losses['loss_coord'] = self.coord_loss(coord_pred, coord_gt, coord_weights)
        return losses
