# Copyright (c) dag_mmpose contributors. All rights reserved.
"""A refinement that is not the identity, for tests of what the GCN's offsets do."""

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
