# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The trained-base protocol: the base is trained once and cached; DAG rows start as the
base (same predictions at step 0); OPEC-Net's reference is the base bit for bit, before and
after its training; D-Slope's GNet (and ENet from the base) is the base, ENet from init is
the base's own start; kept runs are reused and stale ones refused."""

import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint
from mmpose.registry import MODELS

from dag_mmpose.benchmark.experiments import train_cfg_once
from dag_mmpose.benchmark.paired_runs import Row, Schedule, evaluate, row_cfg, run_row
from dag_mmpose.benchmark.synthetic import generate_demo_data
from dag_mmpose.benchmark.trained_base import (
    RELEASE_HEATMAP_LOSS_WEIGHT,
    dslope_cfg,
    finetune_cfg,
    opec_cfg,
    train_base,
)
from dag_mmpose.testing.repo import REPO_ROOT

pytestmark = pytest.mark.slow

DEMO = osp.join(REPO_ROOT, 'configs', 'demo')


def _demo(variant=''):
    return osp.join(DEMO, f'td-hm_hrnet-tiny{variant}-1xb32-10e_synthetic-coco-128x96.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Tiny data and a one-epoch base trained on it (cached in the work folder)."""
    root = tmp_path_factory.mktemp('trained_base')
    data_root = str(root / 'data')
    list(generate_demo_data(data_root, (12, 6, 6), variety='upright'))
    work_root = str(root / 'work')
    torch.manual_seed(0)
    base = train_base(_demo(), data_root, work_root, seed=0, epochs=1)
    return data_root, work_root, base


def _val_batch(cfg):
    loader = Runner.build_dataloader(dict(cfg.val_dataloader, num_workers=0,
                                          persistent_workers=False))  # fmt: skip
    return next(iter(loader))


def _predict(cfg, checkpoint, batch, test_cfg=None):
    """Predictions of the model as a Runner starts it: initialized, then the checkpoint
    loaded non-strictly."""
    model = MODELS.build(cfg.model)
    model.init_weights()
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=False, logger='silent')
    if test_cfg:
        model.test_cfg = dict(model.test_cfg, **test_cfg)
    model.eval()
    with torch.no_grad():
        samples = model.test_step(batch)
    return np.stack([s.pred_instances.keypoints for s in samples])


def test_base_is_trained_once_and_cached(setup):
    data_root, work_root, base = setup
    assert osp.exists(base['checkpoint']) and osp.exists(base['init'])
    assert len(base['curve']) == 1 and {'epoch', 'train_loss', 'coco/AP', 'occ/AP'} <= set(
        base['curve'][0]
    )
    stamp = os.stat(base['checkpoint']).st_mtime_ns
    again = train_base(_demo(), data_root, work_root, seed=0, epochs=1)
    assert again == base and os.stat(base['checkpoint']).st_mtime_ns == stamp
    # init.pth holds the weights before the first step: not the trained ones
    init = _load_checkpoint(base['init'], map_location='cpu')['state_dict']
    trained = _load_checkpoint(base['checkpoint'], map_location='cpu')['state_dict']
    assert set(init) == set(trained)
    assert not torch.equal(init['head.final_layer.weight'], trained['head.final_layer.weight'])


@pytest.mark.parametrize('variant', ['_dag', '_dag-adam', '_dag-gcn', '_dag-da'])
def test_dag_rows_predict_the_base_at_step_0(setup, variant, tmp_path):
    data_root, _, base = setup
    base_cfg_ = finetune_cfg(_demo(), base, data_root, str(tmp_path), 0, 1, 5e-4)
    cfg = finetune_cfg(_demo(variant), base, data_root, str(tmp_path), 0, 1, 5e-4)
    assert cfg.load_from == base['checkpoint']
    batch = _val_batch(cfg)
    expected = _predict(base_cfg_, base['checkpoint'], batch)
    got = _predict(cfg, cfg.load_from, batch)
    np.testing.assert_allclose(got, expected, atol=1e-3)
    # and not by accident: without the base the row predicts something else
    assert np.abs(_predict(cfg, None, batch) - expected).max() > 1


def test_opec_reference_is_the_base_bit_for_bit_before_and_after_training(setup, tmp_path):
    data_root, _, base = setup
    cfg = opec_cfg(_demo('_opec'), base, data_root, str(tmp_path), 0, epochs=1)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0)
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    base_cfg_ = finetune_cfg(_demo(), base, data_root, str(tmp_path), 0, 1, 5e-4)
    batch = _val_batch(cfg)
    expected = _predict(base_cfg_, base['checkpoint'], batch)
    at_start = _predict(cfg, base['checkpoint'], batch, dict(refine=False))
    np.testing.assert_array_equal(at_start, expected)

    checkpoint, _ = train_cfg_once(cfg)
    trained = _load_checkpoint(checkpoint, map_location='cpu')['state_dict']
    original = _load_checkpoint(base['checkpoint'], map_location='cpu')['state_dict']
    for key, value in original.items():  # backbone (BN statistics too) and base head frozen
        mapped = key.replace('head.', 'head.pose_head.', 1) if key.startswith('head.') else key
        assert torch.equal(trained[mapped], value), key
    np.testing.assert_array_equal(_predict(cfg, checkpoint, batch, dict(refine=False)), expected)
    # the trained GCN changes the low-score joints
    assert not np.array_equal(_predict(cfg, checkpoint, batch, dict(refine_joints='all')),
                              expected)  # fmt: skip


def test_dslope_gnet_is_the_base_and_enet_starts_where_asked(setup, tmp_path):
    data_root, _, base = setup
    original = _load_checkpoint(base['checkpoint'], map_location='cpu')['state_dict']
    init = _load_checkpoint(base['init'], map_location='cpu')['state_dict']
    for start, enet_weights in (('base', original), ('init', init)):
        cfg = dslope_cfg(_demo('_dslope'), base, data_root, str(tmp_path), 0, 1, 5e-4, start)
        assert cfg.model.enet.head.loss.loss_weight == RELEASE_HEATMAP_LOSS_WEIGHT
        model = MODELS.build(cfg.model)
        model.init_weights()
        gnet, enet = model.gnet.state_dict(), model.enet.state_dict()
        for key, value in original.items():
            assert torch.equal(gnet[key], value), key
        for key, value in enet_weights.items():
            assert torch.equal(enet[key], value), (start, key)
    # from init: the config's own from-scratch schedule; from the base: the fine-tune
    assert cfg.train_cfg.max_epochs == 10
    alone = dslope_cfg(_demo('_occ-aug'), base, data_root, str(tmp_path), 0, 2, 5e-4, 'base')
    assert alone.load_from == base['checkpoint'] and alone.train_cfg.max_epochs == 2
    assert alone.model.head.loss.loss_weight == RELEASE_HEATMAP_LOSS_WEIGHT
    distill = dslope_cfg(_demo('_dslope'), base, data_root, str(tmp_path), 0, 1, 5e-4,
                         mode='distill', mimic='heatmap')  # fmt: skip
    assert distill.model.mode == 'distill'
    assert distill.model.mimic_modules == ['head.final_layer']
    with pytest.raises(ValueError, match="start must be 'base' or 'init'"):
        dslope_cfg(_demo('_dslope'), base, data_root, str(tmp_path), 0, 1, 5e-4, 'imagenet')
    with pytest.raises(ValueError, match='not a DualSampleEstimator'):
        dslope_cfg(_demo('_occ-aug'), base, data_root, str(tmp_path), 0, 1, 5e-4, mode='distill')


def test_rows_are_checked_and_their_options_applied(setup, tmp_path):
    data_root, _, base = setup
    with pytest.raises(ValueError, match='kind must be one of'):
        Row('x', 'scratch', _demo())
    with pytest.raises(ValueError, match="exactly for kind 'evaluate'"):
        Row('x', 'evaluate')
    with pytest.raises(ValueError, match='needs a config'):
        Row('x', 'finetune')
    row = Row('ADAM 1/2', 'finetune', _demo('_dag'), options={'model.neck.spatial_downsample': 2})
    cfg = row_cfg(row, base, data_root, str(tmp_path), 0, Schedule(finetune_epochs=3))
    assert cfg.model.neck.spatial_downsample == 2 and cfg.train_cfg.max_epochs == 3
    with pytest.raises(ValueError, match='apply to dslope rows only'):
        row_cfg(Row('y', 'finetune', _demo(), options={'start': 'init'}), base, data_root,
                str(tmp_path), 0, Schedule())  # fmt: skip


def test_kept_runs_are_reused_and_stale_ones_refused(setup, tmp_path, monkeypatch):
    from dag_mmpose.benchmark import paired_runs

    data_root, _, base = setup
    calls = []

    def train(cfg):
        calls.append(cfg.train_cfg.max_epochs)
        path = osp.join(cfg.work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
        os.makedirs(cfg.work_dir, exist_ok=True)
        open(path, 'w').close()
        return path, 0.0

    monkeypatch.setattr(paired_runs, 'train_cfg_once', train)
    monkeypatch.setattr(paired_runs, 'evaluate', lambda cfg, ckpt, split, *a, **k: {'AP': 0.5})
    row = Row('baseline', 'finetune', _demo())
    work = str(tmp_path / 'work')
    first = run_row(row, base, data_root, work, 0, Schedule(finetune_epochs=2))
    again = run_row(row, base, data_root, work, 0, Schedule(finetune_epochs=2))
    assert calls == [2]
    assert again['settings'] == first['settings'] and again['val'] == first['val']
    with pytest.raises(SystemExit, match='other settings'):
        run_row(row, base, data_root, work, 0, Schedule(finetune_epochs=3))
    run_row(row, base, data_root, work, 0, Schedule(finetune_epochs=3), rerun_stale=True)
    assert calls == [2, 3]
    assert osp.exists(osp.join(work, 'rows', 'baseline', 'seed0', 'result.previous.json'))
    # an evaluate row reads its source's run
    ref = Row('base view', 'evaluate', test_cfg=dict(refine=False), source='baseline')
    result = run_row(ref, base, data_root, work, 0, Schedule(), trained=lambda n, s: first)
    assert result['checkpoint'] == first['checkpoint'] and calls == [2, 3]


def test_evaluate_writes_the_per_image_records(setup, tmp_path):
    data_root, _, base = setup
    cfg = finetune_cfg(_demo(), base, data_root, str(tmp_path), 0, 1, 5e-4)
    out = str(tmp_path / 'records.npz')
    metrics = evaluate(cfg, base['checkpoint'], 'test', out)
    assert 'AP' in metrics and 'occ/AP' in metrics and osp.exists(out)
    with pytest.raises(ValueError, match="split must be 'test' or 'val'"):
        evaluate(cfg, base['checkpoint'], 'train')


def test_occluded_test_copy_is_the_same_for_every_run(setup, tmp_path):
    """The occluded copy: the row's OccludedTwin after TopdownAffine, every crop occluded,
    one fixed seed whatever the run's, so two seeds' configs see the same images."""
    from dag_mmpose.benchmark.paired_runs import OCCLUDED_TEST_SEED, occluded_test_cfg

    data_root, _, base = setup
    cfgs = [
        occluded_test_cfg(
            dslope_cfg(_demo('_occ-aug'), base, data_root, str(tmp_path), seed, 1, 5e-4)
        )
        for seed in (0, 3)
    ]
    steps = [s.type for s in cfgs[0].test_dataloader.dataset.pipeline]
    assert steps[steps.index('TopdownAffine') + 1] == 'OccludedTwin'
    twin = cfgs[0].test_dataloader.dataset.pipeline[steps.index('OccludedTwin')]
    assert twin.twin_key == 'img' and twin.clean_prob == 0
    images = []
    for cfg in cfgs:
        assert cfg.randomness == dict(seed=OCCLUDED_TEST_SEED)
        from mmengine.runner import set_random_seed

        set_random_seed(cfg.randomness.seed)
        loader = Runner.build_dataloader(
            dict(cfg.test_dataloader, num_workers=0, persistent_workers=False), seed=0
        )
        images.append(torch.stack(next(iter(loader))['inputs']))
    assert torch.equal(images[0], images[1])
    clean = torch.stack(_val_batch_test(cfgs[0])['inputs'])
    assert not torch.equal(images[0], clean)  # occluded
    with pytest.raises(ValueError, match='no OccludedTwin'):
        occluded_test_cfg(finetune_cfg(_demo(), base, data_root, str(tmp_path), 0, 1, 5e-4))


def _val_batch_test(cfg):
    clean = dict(cfg.test_dataloader, num_workers=0, persistent_workers=False)
    clean['dataset'] = dict(
        clean['dataset'],
        pipeline=[s for s in clean['dataset']['pipeline'] if s['type'] != 'OccludedTwin'],
    )
    return next(iter(Runner.build_dataloader(clean)))
