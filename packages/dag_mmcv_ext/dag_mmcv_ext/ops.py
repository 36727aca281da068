# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The stand-in ``mmcv._ext``: mmcv's compiled-op interface, served by torchvision.

Loaded as ``mmcv._ext`` by :mod:`dag_mmcv_ext` when mmcv has no compiled extension
(mmcv-lite). It implements what a detector in front of a top-down pose model calls:

- ``nms``: torchvision's kernel on the boxes in mmcv's processing order (``scores.sort(0,
  descending=True)``, the call mmcv's kernels make, so tied scores keep mmcv's order; a
  stable sort would not) with mmcv's legacy ``offset`` (a box is ``x2 - x1 + offset`` wide);
- ``roi_align_forward`` / ``roi_align_backward`` in ``'avg'`` mode (mmcv's only mode that
  torchvision has; ``RoIAlign`` in mmdet's RoI extractors uses it);
- ``get_compiler_version`` / ``get_compiling_cuda_version`` for environment reports.

Every other name of mmcv's op interface exists, so ``mmcv.ops`` imports (it checks them all
at import), and raises ``NotImplementedError`` naming the op and the command that installs
mmcv with its compiled ops when it is called. CPU and CUDA tensors alike: torchvision has
both kernels.
"""

from typing import Callable

import torch
import torchvision
from torch import Tensor

#: tells this module from a compiled ``mmcv._ext``
DAG_MMCV_EXT_STANDIN = True
#: the ops served here; any other name of mmcv's interface raises when called
SUPPORTED_OPS = (
    'nms',
    'roi_align_forward',
    'roi_align_backward',
    'get_compiler_version',
    'get_compiling_cuda_version',
)
FULL_MMCV_COMMAND = 'bash tools/install.sh --mmcv full'


def get_compiler_version() -> str:
    return 'none: mmcv-lite with dag_mmcv_ext stand-ins (torchvision)'


def get_compiling_cuda_version() -> str:
    return 'not available (mmcv-lite)'


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0) -> Tensor:
    """mmcv's ``nms`` kernel: indices (long) of the kept boxes, highest score first.

    Args:
        boxes (Tensor): (N, 4) ``x1, y1, x2, y2``.
        scores (Tensor): (N,).
        iou_threshold (float): Boxes overlapping a kept one by more are dropped.
        offset (int): 0, or 1 for mmcv's legacy pixel convention (``x2 - x1 + 1`` wide).
    """
    if offset not in (0, 1):
        raise ValueError(f'nms: offset must be 0 or 1, got {offset}')
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = scores.sort(0, descending=True)[1]
    ordered = boxes[order]
    if offset:
        ordered = torch.cat([ordered[:, :2], ordered[:, 2:] + offset], dim=1)
    keep = torchvision.ops.nms(ordered, scores[order], float(iou_threshold))
    return order[keep]


def _check_avg(pool_mode: int) -> None:
    if pool_mode != 1:
        raise NotImplementedError(
            "roi_align in 'max' mode needs mmcv's compiled ops (the stand-ins serve 'avg', "
            f"RoIAlign's default): install full mmcv with `{FULL_MMCV_COMMAND}`"
        )


def roi_align_forward(
    input: Tensor,
    rois: Tensor,
    output: Tensor,
    argmax_y: Tensor,
    argmax_x: Tensor,
    aligned_height: int,
    aligned_width: int,
    spatial_scale: float,
    sampling_ratio: int,
    pool_mode: int,
    aligned: bool,
) -> None:
    """Write the RoI features (K, C, aligned_height, aligned_width) into ``output``;
    ``rois`` are (K, 5) ``batch index, x1, y1, x2, y2``."""
    _check_avg(pool_mode)
    output.copy_(
        torchvision.ops.roi_align(
            input,
            rois,
            (aligned_height, aligned_width),
            spatial_scale=spatial_scale,
            sampling_ratio=sampling_ratio,
            aligned=aligned,
        )
    )


def roi_align_backward(
    grad_output: Tensor,
    rois: Tensor,
    argmax_y: Tensor,
    argmax_x: Tensor,
    grad_input: Tensor,
    aligned_height: int,
    aligned_width: int,
    spatial_scale: float,
    sampling_ratio: int,
    pool_mode: int,
    aligned: bool,
) -> None:
    """Add the gradient of :func:`roi_align_forward` into ``grad_input``. RoI Align is linear
    in its input, so the gradient is taken through torchvision's op at any input."""
    _check_avg(pool_mode)
    with torch.enable_grad():
        probe = torch.zeros_like(grad_input, requires_grad=True)
        pooled = torchvision.ops.roi_align(
            probe,
            rois,
            (aligned_height, aligned_width),
            spatial_scale=spatial_scale,
            sampling_ratio=sampling_ratio,
            aligned=aligned,
        )
        (grad,) = torch.autograd.grad(pooled, probe, grad_output)
    grad_input.add_(grad)


def _unavailable(name: str) -> Callable:
    def op(*args, **kwargs):
        raise NotImplementedError(
            f"mmcv op {name!r} needs mmcv's compiled ops: this environment has mmcv-lite with "
            f'stand-ins for {", ".join(SUPPORTED_OPS[:3])} only. Install full mmcv with '
            f'`{FULL_MMCV_COMMAND}`'
        )

    op.__name__ = name
    return op


def __getattr__(name: str) -> Callable:
    """Any other op of mmcv's interface: present (``mmcv.ops`` checks them all at import),
    raising ``NotImplementedError`` when called."""
    if name.startswith('_'):
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return _unavailable(name)
