# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The trained-base protocol: the base is trained once and cached; DAG rows start as the
base (same predictions at step 0); OPEC-Net's reference is the base bit for bit, before and
after its training; D-Slope's GNet (and ENet from the base) is the base, ENet from init is
the base's own start; kept runs are reused and stale ones refused; the data-limited rows
train on a small split with its own pool and keep their val curves."""

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
from dag_mmpose.benchmark.synthetic import generate_demo_data, limited_train_data
from dag_mmpose.benchmark.trained_base import (
    RELEASE_HEATMAP_LOSS_WEIGHT,
    dslope_cfg,
    finetune_cfg,
    opec_cfg,
    train_base,
)
from dag_mmpose.testing.repo import REPO_ROOT
from dag_mmpose.testing.tools import load_tool

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
        Row('x', 'pretrain', _demo())
    with pytest.raises(ValueError, match='only finetune and scratch rows can be limited'):
        Row('x', 'opec', _demo('_opec'), limited=True)
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


def test_limited_train_data_is_a_small_split_with_its_own_pool(setup):
    from dag_mmpose.benchmark.synthetic.layout import LAYOUTS
    from dag_mmpose.utils.json_io import load_json

    data_root, _, _ = setup
    spec = LAYOUTS['coco']
    out = limited_train_data(data_root, 5)
    assert out == f'{data_root}_train5'
    full, small = (load_json(spec.ann_path(r, 'train')) for r in (data_root, out))
    assert small['images'] == full['images'][:5]
    kept = {image['id'] for image in small['images']}
    assert small['annotations'] == [a for a in full['annotations'] if a['image_id'] in kept]
    for split in ('val', 'test'):  # the same val and test
        assert load_json(spec.ann_path(out, split)) == load_json(spec.ann_path(data_root, split))
    for image in small['images']:  # the images are the source's
        assert osp.exists(osp.join(spec.img_path(out, 'train'), image['file_name']))
    # the pool is cut from the small split alone
    pool = load_json(osp.join(out, 'instance_pool', 'index.json'))
    full_pool = load_json(osp.join(data_root, 'instance_pool', 'index.json'))
    assert pool['source']['ann_file'] == osp.abspath(spec.ann_path(out, 'train'))
    assert 0 < pool['num_instances'] <= len(small['annotations'])
    assert pool['num_instances'] < full_pool['num_instances']
    # kept on the next call; made again when the source changed
    stamp = os.stat(spec.ann_path(out, 'train')).st_mtime_ns
    assert limited_train_data(data_root, 5) == out
    assert os.stat(spec.ann_path(out, 'train')).st_mtime_ns == stamp
    with pytest.raises(ValueError, match=r'num_train must be in \[1, 12\]'):
        limited_train_data(data_root, 13)
    os.makedirs(f'{data_root}_train3')
    open(f'{data_root}_train3/notes.txt', 'w').close()
    with pytest.raises(FileExistsError, match='is not a limited copy'):
        limited_train_data(data_root, 3)


def test_limited_rows_train_on_the_small_split_without_the_dropped_steps(setup, tmp_path):
    from dag_mmpose.utils.config import loader_dataset_cfg

    data_root, _, base = setup
    schedule = Schedule(limited_train_images=4, limited_epochs=6, limited_finetune_epochs=3,
                        limited_val_interval=2)  # fmt: skip
    augmented = {}
    for kind, epochs in (('scratch', 6), ('finetune', 3)):
        row = Row('MJ', kind, _demo('_dag-da'), options={'drop_steps': ['InstancePaste']},
                  limited=True)  # fmt: skip
        cfg = row_cfg(row, base, data_root, str(tmp_path), 0, schedule)
        assert cfg.train_cfg.max_epochs == epochs and cfg.train_cfg.val_interval == 2
        train = loader_dataset_cfg(cfg, 'train')
        assert train.data_root.rstrip('/') == f'{data_root}_train4'
        steps = [step.type for step in train.pipeline]
        assert 'MaskJoints' in steps and 'InstancePaste' not in steps
        augmented[kind] = cfg
    # from scratch: no checkpoint, the baseline's step milestones at the same fractions
    assert augmented['scratch'].get('load_from') is None
    steps = [s for s in augmented['scratch'].param_scheduler if s.type == 'MultiStepLR']
    assert steps[0].milestones == [5, 5] and steps[0].end == 6
    assert augmented['finetune'].load_from == base['checkpoint']
    # the pasted people come from the small split's own pool
    both = row_cfg(Row('both', 'scratch', _demo('_dag-da'), limited=True), base, data_root,
                   str(tmp_path), 0, schedule)  # fmt: skip
    paste = [s for s in loader_dataset_cfg(both, 'train').pipeline if s.type == 'InstancePaste']
    assert paste[0].pool.rstrip('/') == osp.join(f'{data_root}_train4', 'instance_pool')
    with pytest.raises(ValueError, match=r"drop_steps \['PartPaste'\] are not in"):
        row_cfg(Row('x', 'scratch', _demo(), options={'drop_steps': ['PartPaste']},
                    limited=True), base, data_root, str(tmp_path), 0, schedule)  # fmt: skip


def test_limited_run_keeps_its_val_curve(setup, tmp_path):
    from dag_mmpose.benchmark.report import curve_table, plot_row_curves

    data_root, _, base = setup
    schedule = Schedule(limited_train_images=4, limited_finetune_epochs=2,
                        limited_val_interval=1)  # fmt: skip
    row = Row('small: baseline', 'finetune', _demo(), limited=True)
    work = str(tmp_path / 'work')
    result = run_row(row, base, data_root, work, 0, schedule)
    assert [p['epoch'] for p in result['curve']] == [1, 2]
    assert all({'train_loss', 'coco/AP', 'occ/AP'} <= set(p) for p in result['curve'])
    assert result['curve'][0]['train_loss'] > 0
    # kept apart per split size and schedule
    assert osp.dirname(result['checkpoint']) == osp.join(
        work, 'rows', 'small_baseline', 'n4-e2', 'seed0'
    )
    table = curve_table({row.name: [result]})
    assert table.startswith('- small: baseline (1 seeds): highest val AP')
    assert f'{result["curve"][-1]["coco/AP"]:.3f} at epoch 2' in table
    out = str(tmp_path / 'curves.png')
    assert plot_row_curves({row.name: [result]}, out) and osp.getsize(out) > 0
    # rows without curves: no table, no plot
    plain = {k: v for k, v in result.items() if k != 'curve'}
    assert curve_table({'x': [plain]}) == ''
    assert not plot_row_curves({'x': [plain]}, str(tmp_path / 'none.png'))
    assert not osp.exists(str(tmp_path / 'none.png'))


def test_cfa_on_stage4_reads_the_head_input_and_the_stage4_branches(setup, tmp_path):
    """The ablation's CFA-on-stage-4 row: CFA's levels are stage 4's 1/16 and 1/8 branches
    before the fusion and the fused 1/4 map the base head reads; its reference (refine=False)
    is still the base bit for bit."""
    tool = load_tool('tools/analysis/ablation.py', 'ablation_tool')
    data_root, _, base = setup
    row = next(r for r in tool.ROW_GROUPS['opec-cfa'] if r.name.startswith(tool.CFA4))
    cfg = row_cfg(row, base, data_root, str(tmp_path), 0, Schedule(opec_epochs=1))
    model = MODELS.build(cfg.model)
    model.init_weights()
    load_checkpoint(model, base['checkpoint'], map_location='cpu', strict=False, logger='silent')
    model.eval()
    seen = {}
    model.backbone.register_forward_hook(lambda m, a, out: seen.update(backbone=out))
    batch = _val_batch(cfg)
    with torch.no_grad():
        model.test_step(batch)
    outputs = seen['backbone']
    assert len(outputs) == 5  # the fused map, then the four branches of stage 4
    levels = [outputs[i] for i in model.neck.in_indices]
    assert levels[2] is outputs[0]  # the head's input
    assert [tuple(level.shape[1:]) for level in levels] == [(64, 8, 6), (32, 16, 12), (16, 32, 24)]
    base_cfg_ = finetune_cfg(_demo(), base, data_root, str(tmp_path), 0, 1, 5e-4)
    np.testing.assert_array_equal(
        _predict(cfg, base['checkpoint'], batch, dict(refine=False)),
        _predict(base_cfg_, base['checkpoint'], batch),
    )
