# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Our ``dag-release`` model reproduces the authors' DAG release.

``tests/data/dag_release_fixture.npz`` was written by ``tools/misc/make_dag_release_fixture.py``
from the release's own code (commit d3b3a8e): a small release model with random weights, its
checkpoint in the release's format, fixed inputs, and every stage of the release's test path
(``gcn_validate``: flip test, shifted heatmaps, ``get_final_preds``, the GCN on the
box-normalized pose), with the GCN in eval mode and in training mode as ``test_dag.py``
leaves it. ``tests/data/dag_release_keys_w{32,48}_256x192.txt`` list every tensor of the
released W32 / W48 checkpoints.
"""

import json
import os.path as osp

import numpy as np
import pytest
import torch

from dag_mmpose.testing.release import (
    STAGES,
    SWITCHES,
    build_model,
    convert_fixture,
    converter,
    fixture_checkpoint,
    load_fixture,
    release_outputs,
    run_ours,
    stage_differences,
    switch_effects,
)
from dag_mmpose.testing.repo import REPO_ROOT

DATA = osp.join(REPO_ROOT, 'tests', 'data')
FIXTURE = osp.join(DATA, 'dag_release_fixture.npz')
COCO = osp.join(REPO_ROOT, 'configs', 'body_2d_keypoint', 'dag', 'coco')
# heatmaps within 1e-5, keypoints within 1e-3 px (the bar); the points and offsets
# are in [-1, 1] units
TOLERANCE = dict(
    heatmaps=1e-5,
    flipped_heatmaps=1e-5,
    multi_heatmaps=1e-5,
    initial_keypoints=1e-3,
    initial_scores=1e-5,
    points=1e-5,
    offsets=1e-5,
    keypoints=1e-3,
    scores=1e-5,
)


@pytest.fixture(scope='module')
def fixture():
    return load_fixture(FIXTURE)


@pytest.fixture(scope='module')
def converted(fixture, tmp_path_factory):
    """Our config of the fixture's architecture and the converted checkpoint."""
    return convert_fixture(fixture, str(tmp_path_factory.mktemp('release')))


@pytest.mark.parametrize('mode', ['eval', 'batch'])
def test_every_stage_matches_the_release(fixture, converted, mode):
    """GCN in eval mode, and on each batch's statistics as the release tests."""
    model = build_model(*converted)
    ours = run_ours(model, fixture, mode)
    diffs = stage_differences(release_outputs(fixture, mode), ours)
    too_far = {s: d for s, d in diffs.items() if not d <= TOLERANCE[s]}
    assert not too_far, f'{mode}: {too_far} (all: {diffs})'
    # the fixture is not trivial: refined keypoints move, one joint has no positive response
    release = release_outputs(fixture, mode)
    assert np.abs(release['offsets']).max() > 1e-2
    assert (release['initial_scores'] <= 0).any()
    # the batch-statistics mode leaves the checkpoint's running statistics as they were
    state = converted[1]
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_fixture_exercises_every_switch(fixture, converted):
    """With any one release switch back at our default, the keypoints leave the release's
    by more than the tolerance: each switch is needed, and the fixture covers it."""
    effects = switch_effects(fixture, *converted)
    assert set(effects) == set(SWITCHES)
    weak = {name: e['max'] for name, e in effects.items() if not e['max'] > 1e-2}
    assert not weak, weak


def test_fixed_instance_scale_is_the_drawn_one(fixture, converted):
    """``instance_scale=r`` with the r the release drew equals drawing it (without flip
    test, one forward, one draw)."""
    cfg, state = converted
    model = build_model(cfg, state)
    model.test_cfg['flip_test'] = False
    drawn = run_ours(model, fixture, 'eval', instance_scale='random')
    fixed = run_ours(model, fixture, 'eval', instance_scale=fixture['meta']['instance_scales'][0])
    for stage in ('heatmaps', 'keypoints'):
        np.testing.assert_allclose(drawn[stage], fixed[stage], atol=1e-5)


def _key_list(name):
    pose, gcn = {}, {}
    with open(osp.join(DATA, name)) as f:
        for line in f:
            if line.startswith('#'):
                continue
            part, key, shape = line.split()
            dims = () if shape == 'scalar' else tuple(int(s) for s in shape.split('x'))
            target = pose if part == 'state_dict' else gcn
            target[key] = torch.empty(dims, device='meta')
    return pose, gcn


@pytest.mark.parametrize('width', [32, 48])
@pytest.mark.parametrize('input_size', [(192, 256), (288, 384)])
def test_every_released_tensor_is_placed(width, input_size):
    """The full key and shape lists of the released W32 / W48 checkpoints: every tensor is
    placed into the model of the matching config or dropped for a stated reason, and the
    model gets every tensor it has. 384x288 differs in the point MLP's input only."""
    tool = converter()
    pose, gcn = _key_list(f'dag_release_keys_w{width}_256x192.txt')
    pixels = (input_size[0] // 2) * (input_size[1] // 2)
    gcn['module.FC.0.0.weight'] = torch.empty(1024, pixels, device='meta')
    pose, gcn = tool.release_state_dicts(dict(state_dict=pose, gcn_state_dict=gcn))
    state, report = tool.convert(pose, gcn)
    assert report['unplaced'] == []
    accounted = [k for k, _ in report['used']] + [k for k, _ in report['dropped']]
    assert sorted(accounted) == sorted(
        [f'state_dict:{k}' for k in pose] + [f'gcn_state_dict:{k}' for k in gcn]
    )
    assert {why for _, why in report['dropped']} == set(tool.DROPPED.values())
    config = tool.infer_config(pose, gcn)
    assert osp.basename(config) == tool.RELEASE_CONFIGS[(width, input_size)]
    expected = tool.check_against_model(state, config)  # raises on any gap
    assert set(expected) == set(state)


def _save_fixture_checkpoint(fixture, path, **kwargs):
    checkpoint = fixture_checkpoint(fixture)
    checkpoint.update(kwargs)
    torch.save(checkpoint, path)
    return checkpoint


def test_converter_command_line(fixture, converted, tmp_path, capsys):
    tool = converter()
    config = str(tmp_path / 'config.py')
    converted[0].dump(config)
    src, dst = str(tmp_path / 'DAG.pth'), str(tmp_path / 'out' / 'dag.pth')
    _save_fixture_checkpoint(fixture, src, epoch=210, perf=np.float64(0.75), model='pose_dag')
    assert tool.main([src, dst, '--config', config]) == 0
    out = capsys.readouterr().out
    assert 'dropped context_head' not in out  # only with the part's name
    assert 'dropped state_dict:final_layer.weight: never called by the release' in out
    assert '0 unplaced' in out
    written = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(written) == {'state_dict', 'meta'}
    for key, value in converted[1].items():
        assert torch.equal(written['state_dict'][key], value), key
    with open(dst + '.report.json') as f:
        report = json.load(f)
    assert report['unplaced'] == [] and len(report['used']) > 400
    assert any(src_key == 'gcn_state_dict:non_local.W.1.weight' for src_key, _ in report['used'])
    # an existing output is kept unless --overwrite
    assert tool.main([src, dst, '--config', config]) == 1
    assert 'exists' in capsys.readouterr().err


def test_converter_reads_every_release_format(fixture, converted, tmp_path):
    """``best_*`` entries (no prefix), and ``model_best.pth`` + ``--gcn gcn_best.pth``."""
    tool = converter()
    config = str(tmp_path / 'config.py')
    converted[0].dump(config)
    checkpoint = fixture_checkpoint(fixture)
    unprefixed = {
        part: {k[len('module.') :]: v for k, v in sd.items()} for part, sd in checkpoint.items()
    }
    best = tmp_path / 'best_model_gcn.pth'
    torch.save(
        dict(
            best_state_dict=unprefixed['state_dict'],
            best_gcn_state_dict=unprefixed['gcn_state_dict'],
        ),
        best,
    )
    model_best, gcn_best = tmp_path / 'model_best.pth', tmp_path / 'gcn_best.pth'
    torch.save(unprefixed['state_dict'], model_best)
    torch.save(unprefixed['gcn_state_dict'], gcn_best)
    for args in ([str(best)], [str(model_best), '--gcn', str(gcn_best)]):
        dst = str(tmp_path / f'{len(args)}.pth')
        assert tool.main(args + [dst, '--config', config]) == 0
        state = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
        assert all(torch.equal(state[k], v) for k, v in converted[1].items())


def test_converter_refuses_what_does_not_fit(fixture, tmp_path, capsys):
    tool = converter()
    src = str(tmp_path / 'DAG.pth')
    checkpoint = _save_fixture_checkpoint(fixture, src)
    # the small fixture against the W32 config: names keys and both shapes
    w32 = osp.join(COCO, 'td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py')
    assert tool.main([src, str(tmp_path / 'a.pth'), '--config', w32]) == 1
    err = capsys.readouterr().err
    assert 'does not fit td-hm_hrnet-w32_dag-release' in err
    assert 'shapes differ (' in err
    assert 'backbone.stage2.0.branches.0.0.bn1.bias: checkpoint (8,), model (32,)' in err
    assert not osp.exists(tmp_path / 'a.pth')
    # no release config has the small width: asks for --config
    assert tool.main([src, str(tmp_path / 'b.pth')]) == 1
    assert 'no dag-release config for HRNet width 8' in capsys.readouterr().err
    # the pose model alone
    torch.save(dict(state_dict=checkpoint['state_dict']), src)
    assert tool.main([src, str(tmp_path / 'c.pth')]) == 1
    assert 'not a DAG release checkpoint' in capsys.readouterr().err
    # a tensor no rule knows
    checkpoint['gcn_state_dict']['module.extra_layer.weight'] = torch.zeros(2)
    torch.save(checkpoint, src)
    assert tool.main([src, str(tmp_path / 'd.pth')]) == 1
    assert 'gcn_state_dict:extra_layer.weight' in capsys.readouterr().err
    # an input is never overwritten
    assert tool.main([src, src, '--overwrite']) == 1
    assert 'overwrite an input' in capsys.readouterr().err


def test_stage_list_is_what_the_fixture_holds(fixture):
    for mode in ('eval', 'batch'):
        outputs = release_outputs(fixture, mode)
        assert tuple(outputs) == STAGES
    assert fixture['meta']['release_commit'] == 'd3b3a8e'
