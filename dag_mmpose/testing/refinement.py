# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Refinement heads for tests: a GCN that is not the identity, and a base head whose pose
mirrors exactly with its input."""

from contextlib import contextmanager
from typing import Iterator, Tuple

import torch
from torch import nn


def randomize_output_layer(module: nn.Module, seed: int = 0, std: float = 0.1) -> nn.Module:
    """Give every ``MultiHopGCN`` output layer in ``module`` random weights, in place.

    The output layer starts at zero (the refinement starts as the identity), so a test of
    flip averaging or of the refined pose needs non-zero offsets first.
    """
    from dag_mmpose.models.utils import MultiHopGCN

    generator = torch.Generator().manual_seed(seed)
    found = False
    for gcn in module.modules():
        if isinstance(gcn, MultiHopGCN):
            found = True
            layer = gcn.output_layer
            with torch.no_grad():
                for weight in (layer.self_weight.weight, layer.neighbor_weight.weight):
                    weight.copy_(torch.randn(weight.shape, generator=generator) * std)
    if not found:
        raise ValueError(f'{type(module).__name__} holds no MultiHopGCN')
    return module


def mirror_exact_simcc_cfg(
    in_channels: int, size: Tuple[int, int], num_keypoints: int = 17
) -> dict:
    """A ``SimCCHead`` config whose pose mirrors exactly with its input features.

    One SimCC bin and one feature cell per crop pixel (``input_size`` = feature size =
    ``size``, ``(w, h)``), so mirrored vectors decode to ``x -> w - 1 - x`` and the features
    a refinement samples there are the mirrored cells. Heatmap decoders are not exactly
    mirror-symmetric (mmpose's quarter offset skips ``x = 1`` but not ``x = W - 2``), so
    flip-test symmetry is tested with this head.
    """
    return dict(
        type='SimCCHead',
        in_channels=in_channels,
        out_channels=num_keypoints,
        input_size=size,
        in_featuremap_size=size,
        simcc_split_ratio=1.0,
        deconv_out_channels=None,
        decoder=dict(type='SimCCLabel', input_size=size, sigma=(2.0, 2.0), simcc_split_ratio=1.0),
    )


@contextmanager
def no_host_transfer() -> Iterator[None]:
    """Make every way a tensor reaches the host raise inside the block: ``Tensor.cpu``,
    ``numpy``, ``item``, ``tolist`` and ``__array__`` (what ``np.asarray(tensor)`` calls).

    A model step that passes inside it queues work without waiting for the device (on a GPU
    a host copy synchronises) and has no numpy between its operations (``torch.compile``,
    ONNX export). The refinement heads' ``forward`` and ``loss`` are tested with it.
    """

    def refuse(name: str):
        def method(self, *args, **kwargs):
            raise AssertionError(f'host transfer inside a device-resident step: Tensor.{name}')

        return method

    names = ('cpu', 'numpy', 'item', 'tolist', '__array__')
    originals = {name: getattr(torch.Tensor, name) for name in names}
    try:
        for name in names:
            setattr(torch.Tensor, name, refuse(name))
        yield
    finally:
        for name, method in originals.items():
            setattr(torch.Tensor, name, method)
