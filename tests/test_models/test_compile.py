# Copyright (c) dag_mmpose contributors. All rights reserved.
"""torch.compile: each method's demo model is one graph (no graph break) in tensor mode, and
inductor's compiled model (CPU) gives eager's outputs; the DAG training step compiles too."""

import numpy as np
import pytest
import torch

from dag_mmpose.deployment import PoseExportWrapper, export_inputs
from dag_mmpose.testing import build_demo_model, build_pipeline, pack_batch, two_people_samples

pytestmark = pytest.mark.slow


def _model(name: str):
    model, cfg = build_demo_model(name)
    return (model.enet if name == 'dslope' else model), cfg


def _flat(outputs):
    if torch.is_tensor(outputs):
        return [outputs]
    return [t for item in outputs for t in _flat(item)]


@pytest.mark.parametrize('name', ['dag', 'dag-release', 'opec', 'dslope'])
def test_tensor_forward_is_one_graph(name):
    """DAG (ADAM + FGMH-GCN; ours and the release demo's architecture), OPEC-Net (CFA +
    IGP-GCN) and D-Slope's ENet: the initial pose is decoded in torch, nothing breaks."""
    model, _ = _model(name)
    explained = torch._dynamo.explain(model)(torch.rand(2, 3, 128, 96), None, mode='tensor')
    assert explained.graph_break_count == 0, [r.reason for r in explained.break_reasons]
    assert explained.graph_count == 1


def test_couple_graph_refiner_is_one_graph():
    """OPEC-Net's CoupleGraph refiner takes its poses as inputs (mmpose's tensor mode passes
    no data samples to the head): its export wrapper, crop and poses in, is one graph."""
    model, _ = _model('opec-couplegraph')
    wrapper = PoseExportWrapper(model)
    inputs = export_inputs(wrapper, (96, 128))
    explained = torch._dynamo.explain(wrapper)(*inputs)
    assert explained.graph_break_count == 0, [r.reason for r in explained.break_reasons]
    with torch.no_grad():
        eager = wrapper(*inputs)
        compiled = torch.compile(wrapper)(*inputs)
    for a, b in zip(eager, compiled):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_release_exact_model_is_one_graph(tmp_path):
    """The authors' release as our release config builds it (the GCN over each person's
    box, 2x heatmaps, legacy decoding, release GCN blocks; the release fixture's small
    architecture): its export wrapper, crop and boxes in, is one graph, and inductor's
    compiled graph gives eager's outputs."""
    import os.path as osp

    from dag_mmpose.testing.release import build_converted, load_fixture
    from dag_mmpose.testing.repo import REPO_ROOT

    fixture = load_fixture(osp.join(REPO_ROOT, 'tests', 'data', 'dag_release_fixture.npz'))
    wrapper = PoseExportWrapper(build_converted(fixture, str(tmp_path)))
    inputs = export_inputs(wrapper, wrapper.model.head.input_size)
    assert len(inputs) == 2  # img, boxes
    explained = torch._dynamo.explain(wrapper)(*inputs)
    assert explained.graph_break_count == 0, [r.reason for r in explained.break_reasons]
    assert explained.graph_count == 1
    with torch.no_grad():
        eager = wrapper(*inputs)
        compiled = torch.compile(wrapper)(*inputs)
    for a, b in zip(eager, compiled):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


# DAG: the release-exact model, compiled above
@pytest.mark.parametrize('name', ['opec', 'dslope'])
def test_inductor_matches_eager(name):
    model, _ = _model(name)
    x = torch.rand(2, 3, 128, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        eager = model(x, None, mode='tensor')
        compiled = torch.compile(model)(x, None, mode='tensor')
    for a, b in zip(_flat(eager), _flat(compiled)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_training_step_compiles():
    """DAG's loss (multi-joint, target and coordinate terms, acc_pose) and its backward
    under inductor, one graph, equal to eager."""
    model, cfg = _model('dag')
    model.train()
    np.random.seed(0)
    transforms = build_pipeline(cfg, 'train', skip=('InstancePaste',))
    batch = pack_batch(transforms, two_people_samples(cfg), batch_size=4)
    data = model.data_preprocessor(batch, True)
    explained = torch._dynamo.explain(model)(**data, mode='loss')
    assert explained.graph_break_count == 0, [r.reason for r in explained.break_reasons]
    eager = model(**data, mode='loss')
    compiled = torch.compile(model)(**data, mode='loss')
    assert set(eager) == set(compiled)
    for key in eager:
        torch.testing.assert_close(eager[key], compiled[key], rtol=1e-4, atol=1e-6)
    total = sum(value for key, value in compiled.items() if key.startswith('loss'))
    total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
