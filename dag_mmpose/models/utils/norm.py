# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Normalization helpers."""

from contextlib import contextmanager
from typing import Iterator, Optional

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['batch_statistics']


@contextmanager
def batch_statistics(module: Optional[nn.Module], enabled: bool = True) -> Iterator[None]:
    """Within the block, every BatchNorm layer of ``module`` normalizes with the statistics of
    the batch it is given, as in training, but leaves its running statistics (and
    ``num_batches_tracked``) untouched; on exit each layer is as it was.

    The authors' DAG release tests its GCN in training mode (``tools/test_dag.py`` never
    calls ``gcn.eval()``), so its BatchNorms use each test batch's statistics; this
    reproduces that without changing the checkpoint's buffers.

    Args:
        module (nn.Module, optional): The module whose BatchNorm layers switch; ``None`` is
            a no-op.
        enabled (bool): Switch; ``False`` makes the block a no-op. Defaults to ``True``.

    Example:
        >>> import torch
        >>> bn = nn.BatchNorm1d(2).eval()
        >>> x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
        >>> with batch_statistics(bn):
        ...     y = bn(x)
        >>> y.abs().max().item() < 1.01, bn.running_mean.tolist(), bn.training
        (True, [0.0, 0.0], False)
    """
    saved = []
    if enabled and module is not None:
        for layer in module.modules():
            if isinstance(layer, _BatchNorm):
                saved.append(
                    (
                        layer,
                        layer.training,
                        layer.running_mean,
                        layer.running_var,
                        layer.num_batches_tracked,
                    )
                )
                # without running statistics a BatchNorm normalizes with the batch's and
                # updates nothing (torch's BatchNorm forward)
                layer.training = True
                layer.running_mean = None
                layer.running_var = None
                layer.num_batches_tracked = None
    try:
        yield
    finally:
        for layer, training, mean, var, tracked in saved:
            layer.training = training
            layer.running_mean = mean
            layer.running_var = var
            layer.num_batches_tracked = tracked
