# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Every config under ``configs/`` builds, trains one step and predicts with flip test.

The configs are discovered, not listed, so a new config is covered as soon as it is added.
Pretrained ``init_cfg`` entries are dropped (no download); everything else is the config's
own. Input crops larger than 256x192 are scaled down to fit it (384x288 -> 256x192) for CPU
speed: every ``input_size`` / ``heatmap_size`` / ``in_featuremap_size`` of the config is
scaled by one factor, and only when all of them stay integers and the crop stays a multiple
of the backbones' stride 32 (else the config runs at its own size), so a config whose sizes
disagree still fails.

The batch is made by the config's *own* train / val pipeline (minus ``LoadImage``) from a
synthetic image holding two annotated people of the config's dataset (any keypoint count),
so the labels are exactly what that config's codecs produce: heatmaps, SimCC labels, DAG
multi-joint heatmaps with the other person in the crop, and so on. The other person comes
from a two-instance stand-in for the dataset that mmpose puts in ``results['dataset']``.
"""

import copy
import glob
import os.path as osp
import random
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmpose.registry import MODELS
from torch import nn

from dag_mmpose.testing import (
    build_pipeline,
    crop_size,
    pack_batch,
    size_entries,
    two_people_samples,
    type_name,
    write_keypoint_results,
)
from dag_mmpose.testing.repo import REPO_ROOT
from dag_mmpose.utils.config import (
    POOL_TRANSFORMS,
    drop_pretrained,
    loader_dataset_cfg,
    pipeline_steps,
)

CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True))
BATCH_SIZE = 2  # > 1 so that label stacking is exercised and BatchNorm sees a batch
MAX_INPUT_AREA = 256 * 192  # larger crops are scaled down, see the module docstring
SCALES = (Fraction(2, 3), Fraction(1, 2), Fraction(1, 3), Fraction(1, 4))

# Parameter / buffer name prefixes that only a DAG model has
DAG_PARTS = ('neck.', 'head.multi_head.', 'head.gcn.', 'head.point_sampler.')
# (plain mmpose config, DAG config with the same backbone and base head)
CHECKPOINT_PAIRS = [
    (
        'demo/td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py',
        'demo/td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py',
    ),
    (
        'body_2d_keypoint/baselines/coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py',
        'body_2d_keypoint/dag/coco/td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py',
    ),
    (
        # every release switch, HRNetWithStages included (same weights as HRNet)
        'body_2d_keypoint/baselines/coco/td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py',
        'body_2d_keypoint/dag/coco/td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py',
    ),
]


def _config_id(path: str) -> str:
    return osp.relpath(path, CONFIG_ROOT)


def _load_config(path: str) -> Config:
    cfg = Config.fromfile(path)  # imports custom_imports (dag_mmpose)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    drop_pretrained(cfg.model)
    return cfg


def _estimator_cfg(cfg: Config) -> dict:
    """The pose estimator of a config: ``model``, or the network a wrapper such as
    ``DualSampleEstimator`` evaluates (``model.enet``)."""
    return cfg.model.get('enet', cfg.model)


def _describe(path: str) -> dict:
    """What the parametrizations below select on, read once at collection: whether the
    train pipeline pastes from a pool, whether the head is DAG's, and what one training
    step depends on (model, train pipeline, optimizer)."""
    cfg = _load_config(path)
    train = loader_dataset_cfg(cfg, 'train')
    pool = [t for t in pipeline_steps(train['pipeline']) if type_name(t) in POOL_TRANSFORMS]
    return dict(
        pool=bool(pool),
        dag=_estimator_cfg(cfg).get('head', {}).get('type') == 'FGMHGCNHead',
        training=repr((cfg.model, train['pipeline'], cfg.optim_wrapper)),
    )


_DESCRIPTIONS = {path: _describe(path) for path in CONFIGS}
POOL_CONFIGS = [p for p in CONFIGS if _DESCRIPTIONS[p]['pool']]
DAG_CONFIGS = [p for p in CONFIGS if _DESCRIPTIONS[p]['dag']]
# The test-only configs (OCHuman's, COCO-RE's) train exactly as the config they evaluate:
# one training step per distinct (model, train pipeline, optimizer), the first config of it
# in CONFIGS; the others are built and predict
_FIRST_TRAINED = {}
for _path in CONFIGS:
    _FIRST_TRAINED.setdefault(_DESCRIPTIONS[_path]['training'], _path)
TRAINS = {p: _FIRST_TRAINED[_DESCRIPTIONS[p]['training']] == p for p in CONFIGS}


def _reduce_input_size(cfg: Config) -> Optional[Fraction]:
    """Scale every size of a config with a crop above :data:`MAX_INPUT_AREA` by one
    factor (in place); return the factor, or ``None`` when the config keeps its size."""
    width, height = crop_size(cfg)
    if width * height <= MAX_INPUT_AREA:
        return None
    entries = size_entries([cfg[key] for key in cfg.keys()])
    for scale in SCALES:
        if width * height * scale**2 > MAX_INPUT_AREA:
            continue
        if (width * scale) % 32 or (height * scale) % 32:
            continue
        scaled = [[s * scale for s in node[key]] for node, key in entries]
        if all(v.denominator == 1 for size in scaled for v in size):
            for (node, key), size in zip(entries, scaled):
                node[key] = tuple(int(v) for v in size)
            return scale
    return None


def _build_model(cfg: Config, seed: int = 0, init: bool = True) -> nn.Module:
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if init:
        model.init_weights()
    return model


def _optim_wrapper(cfg: Config, model: nn.Module):
    """The config's optimizer wrapper; mixed precision only where CUDA exists."""
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if optim_cfg.get('type') == 'AmpOptimWrapper' and not torch.cuda.is_available():
        optim_cfg['type'] = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            optim_cfg.pop(key, None)
    return build_optim_wrapper(model, optim_cfg)


def test_configs_are_discovered():
    ids = [_config_id(p) for p in CONFIGS]
    for baseline, dag in CHECKPOINT_PAIRS:
        assert baseline in ids and dag in ids
    assert 'body_2d_keypoint/dag/coco/td-hm_hrnet-w48_dag-8xb32-210e_coco-384x288.py' in ids
    # selection at collection: each list holds what its test needs, and only test-only
    # configs skip the training step (their training is the trained sibling's)
    assert osp.join(CONFIG_ROOT, CHECKPOINT_PAIRS[1][1]) in set(POOL_CONFIGS) & set(DAG_CONFIGS)
    assert osp.join(CONFIG_ROOT, CHECKPOINT_PAIRS[1][0]) not in POOL_CONFIGS + DAG_CONFIGS
    untrained = {_config_id(p) for p in CONFIGS if not TRAINS[p]}
    assert untrained and all(('ochuman/' in p or 'coco-re' in p) for p in untrained), untrained


@pytest.mark.parametrize('path', POOL_CONFIGS, ids=_config_id)
def test_instance_paste_knows_the_dataset_keypoints(path):
    """With ``num_keypoints`` a pool of other joints fails when the pipeline is built (in the
    main process), not at the first paste in a dataloader worker (``InstancePaste`` and
    ``PartPaste``, also inside ``OccludedTwin``)."""
    cfg = _load_config(path)
    steps = [
        t
        for t in pipeline_steps(loader_dataset_cfg(cfg, 'train')['pipeline'])
        if type_name(t) in POOL_TRANSFORMS
    ]
    assert steps
    head = _estimator_cfg(cfg).head
    num_keypoints = (head.get('pose_cfg') or head).get('out_channels', head.get('num_keypoints'))
    for step in steps:
        assert step.get('num_keypoints') == num_keypoints


@pytest.mark.parametrize('path', DAG_CONFIGS, ids=_config_id)
def test_dag_pipeline_wiring(path):
    """A DAG head needs the other people in the crop before the targets are made, warped
    with the crop's own input size."""
    cfg = _load_config(path)
    head_cfg = _estimator_cfg(cfg).get('head', {})
    assert head_cfg.get('type') == 'FGMHGCNHead'
    names = [type_name(t) for t in loader_dataset_cfg(cfg, 'train')['pipeline']]
    if not head_cfg.get('use_multi_branch', True):
        assert 'GetOtherInstances' not in names, 'other people feed only the multi branch'
        return
    assert 'GetOtherInstances' in names, 'a DAG config needs GetOtherInstances'
    others = names.index('GetOtherInstances')
    assert names.index('TopdownAffine') < others < names.index('GenerateTarget')
    steps = loader_dataset_cfg(cfg, 'train')['pipeline']
    assert tuple(steps[others]['input_size']) == tuple(
        steps[names.index('TopdownAffine')]['input_size']
    )
    # occlusion augmentation acts on the crop; pasted people join the other people
    for name in ('MaskJoints', 'InstancePaste'):
        if name in names:
            assert (
                names.index('TopdownAffine') < names.index(name) < names.index('GenerateTarget')
            ), name
    if 'InstancePaste' in names:
        assert others < names.index('InstancePaste'), 'InstancePaste after GetOtherInstances'


def _train_one_step(cfg: Config, model: nn.Module, samples, pool: str, pred_file: str) -> None:
    """One training step of the config's own train pipeline: forward, loss, backward,
    optimizer update; the loss terms are the config's and the head moves."""
    model.train()
    data = pack_batch(build_pipeline(cfg, 'train', pool=pool, pred_file=pred_file), samples)
    optim_wrapper = _optim_wrapper(cfg, model)
    # the network that predicts (ENet of a DualSampleEstimator)
    estimator = getattr(model, 'enet', model)
    head_before = [p.detach().clone() for p in estimator.head.parameters()]
    log_vars = model.train_step(data, optim_wrapper)
    losses = {k: float(v.detach()) for k, v in log_vars.items() if 'loss' in k}
    assert 'loss' in losses and len(losses) > 1, log_vars
    assert all(np.isfinite(v) for v in losses.values()), losses
    # a DualSampleEstimator logs each network's terms with its prefix, and the mimic terms
    prefix = 'enet_' if estimator is not model else ''
    if estimator is not model:
        mimic = {
            f'{net}_loss_mimic_{name}' for net in ('enet', 'gnet') for name in model.mimic_modules
        }
        assert mimic <= set(losses), losses
    head_cfg = _estimator_cfg(cfg).head
    if head_cfg.type == 'FGMHGCNHead':
        # one term per DAG part the head builds (its ablation switches)
        expected = {'loss_target'}
        if head_cfg.get('use_multi_branch', True):
            expected.add('loss_multi')
        if head_cfg.get('use_gcn', True):
            expected.add('loss_coord')
        own = {k[len(prefix) :] for k in losses if k.startswith(prefix) and 'mimic' not in k}
        assert own == expected | ({'loss'} if not prefix else set()), losses
    assert any(
        not torch.equal(before, p) for before, p in zip(head_before, estimator.head.parameters())
    ), 'no head update'


@pytest.mark.parametrize('path', CONFIGS, ids=_config_id)
def test_config_trains_and_predicts(path, synthetic_root, tmp_path):
    pool = osp.join(synthetic_root, 'data', 'synthetic_coco', 'instance_pool')
    cfg = _load_config(path)
    _reduce_input_size(cfg)
    random.seed(0)
    np.random.seed(0)
    model = _build_model(cfg)
    samples = two_people_samples(cfg)[:BATCH_SIZE]
    num_keypoints = len(samples[0]['flip_indices'])
    # refiner configs read another model's predictions: the samples' poses, moved a little
    pred_file = write_keypoint_results(samples, str(tmp_path / 'preds.keypoints.json'))

    # one training step: forward, loss, backward, optimizer update (once per distinct
    # model, train pipeline and optimizer, see TRAINS)
    if TRAINS[path]:
        _train_one_step(cfg, model, samples, pool, pred_file)

    # one prediction step with flip test, in image pixels
    model.test_cfg['flip_test'] = True
    model.eval()
    data = pack_batch(build_pipeline(cfg, 'val', pred_file=pred_file), samples, with_dataset=False)
    with torch.no_grad():
        results = model.test_step(data)
    assert len(results) == len(samples)
    for result in results:
        keypoints = result.pred_instances.keypoints
        scores = result.pred_instances.keypoint_scores
        assert keypoints.shape == (1, num_keypoints, 2)
        assert scores.shape == (1, num_keypoints)
        assert np.isfinite(keypoints).all() and np.isfinite(scores).all()


def _state_dicts(pair: Tuple[str, str]) -> Tuple[dict, nn.Module]:
    baseline, dag = (osp.join(CONFIG_ROOT, p) for p in pair)
    # different seeds, so that equal tensors after loading mean "loaded"
    plain_state = _build_model(_load_config(baseline), seed=1, init=False).state_dict()
    return plain_state, _build_model(_load_config(dag), seed=2, init=False)


def _dag_name(name: str, dag_state: dict) -> str:
    """Where a plain model's parameter lives in the DAG model."""
    return name if name in dag_state else name.replace('head.', 'head.pose_head.', 1)


@pytest.mark.parametrize('pair', CHECKPOINT_PAIRS, ids=lambda p: osp.basename(p[1]))
def test_plain_checkpoint_loads_into_dag_model(pair):
    """A plain mmpose model's weights fill everything but the DAG parts."""
    plain_state, dag_model = _state_dicts(pair)
    incompatible = dag_model.load_state_dict(plain_state, strict=False)
    assert incompatible.unexpected_keys == []
    assert incompatible.missing_keys, 'the DAG model should have parts of its own'
    non_dag = [k for k in incompatible.missing_keys if not k.startswith(DAG_PARTS)]
    assert non_dag == []
    dag_state = dag_model.state_dict()
    for name, value in plain_state.items():
        assert torch.equal(dag_state[_dag_name(name, dag_state)], value), name


@pytest.mark.parametrize('pair', CHECKPOINT_PAIRS, ids=lambda p: osp.basename(p[1]))
def test_plain_checkpoint_loads_through_mmengine(pair):
    """The same through mmengine's loader, the path of ``load_from``."""
    plain_state, dag_model = _state_dicts(pair)
    _load_checkpoint_to_model(dag_model, dict(state_dict=plain_state), strict=False)
    dag_state = dag_model.state_dict()
    for name, value in plain_state.items():
        assert torch.equal(dag_state[_dag_name(name, dag_state)], value), name


# The release model's heatmaps are 2x the plain model's (a bilinear upsample before the
# output conv), so a plain checkpoint loads into it (above) but cannot predict as the plain
# model does; its own weights come from tools/model_converters/dag_release2mmpose.py.
SAME_PREDICTION_PAIRS = [pair for pair in CHECKPOINT_PAIRS if 'dag-release' not in pair[1]]


@pytest.mark.parametrize('pair', SAME_PREDICTION_PAIRS, ids=lambda p: osp.basename(p[1]))
def test_plain_checkpoint_predicts_as_the_plain_model(pair):
    """Fine-tuning DAG from a plain mmpose checkpoint starts from the plain model's accuracy:
    with its weights loaded, the untrained DAG parts (ADAM, zero-init GCN output layer) leave
    every prediction bit for bit the plain model's, refinement and flip test on."""
    baseline_cfg, dag_cfg = (_load_config(osp.join(CONFIG_ROOT, p)) for p in pair)
    for cfg in (baseline_cfg, dag_cfg):
        _reduce_input_size(cfg)
    plain = _build_model(baseline_cfg, seed=1).eval()
    dag = _build_model(dag_cfg, seed=2).eval()
    _load_checkpoint_to_model(dag, dict(state_dict=plain.state_dict()), strict=False)
    assert dag.test_cfg.get('refine', True) and dag.test_cfg['flip_test']
    plain.test_cfg = {k: v for k, v in dag.test_cfg.items() if k != 'refine'}
    with torch.no_grad():  # heatmaps of some contrast, unlike the init's std 0.001
        plain.head.final_layer.weight.normal_(std=0.1)
    dag.head.pose_head.final_layer.load_state_dict(plain.head.final_layer.state_dict())

    samples = two_people_samples(dag_cfg)[:BATCH_SIZE]
    data = pack_batch(build_pipeline(dag_cfg, 'val'), samples, with_dataset=False)
    with torch.no_grad():
        expected = plain.test_step(copy.deepcopy(data))
        results = dag.test_step(data)
    for result, exp in zip(results, expected):
        np.testing.assert_array_equal(result.pred_instances.keypoints, exp.pred_instances.keypoints)
        np.testing.assert_array_equal(
            result.pred_instances.keypoint_scores, exp.pred_instances.keypoint_scores
        )


def test_dslope_w32_starts_enet_from_gnets_coco_checkpoint():
    """The benchmark favours ENet from the trained base (docs/benchmark.md): the W32 config
    loads mmpose's COCO HRNet-W32 into both networks, and ENet skips the ImageNet weights."""
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'body_2d_keypoint', 'dslope', 'coco',
                 'td-hm_hrnet-w32_dslope-8xb64-210e_coco-256x192.py')
    )  # fmt: skip
    assert cfg.model.gnet_checkpoint.endswith('hrnet_w32_coco_256x192-c78dce93_20200708.pth')
    assert cfg.model.enet.init_cfg == dict(type='Pretrained', checkpoint=cfg.model.gnet_checkpoint)
    assert cfg.model.enet.backbone.init_cfg is None
    assert cfg.model.enet.head.loss.loss_weight == 0.5


@pytest.mark.parametrize('dataset', ['crowdpose', 'ochuman'])
def test_opec_w32_cfa_reads_stage4_branches_and_the_head_input(dataset):
    """CFA over the maps a plain checkpoint trained for its head (docs/benchmark.md): stage 4's
    1/16 and 1/8 branches before their fusion, and the fused 1/4 map the base head reads."""
    cfg = Config.fromfile(
        osp.join(CONFIG_ROOT, 'body_2d_keypoint', 'opec', dataset,
                 f'td-hm_hrnet-w32_opec-1xb16-30e_{dataset}-256x192.py')
    )  # fmt: skip
    model = MODELS.build(drop_pretrained(copy.deepcopy(cfg.model)))
    model.eval()
    with torch.no_grad():
        outputs = model.backbone(torch.rand(1, 3, 256, 192))
    levels = [outputs[i] for i in model.neck.in_indices]
    assert levels[-1] is outputs[0] and model.neck.base_index == 0
    assert [tuple(level.shape[1:]) for level in levels] == [
        (128, 16, 12),
        (64, 32, 24),
        (32, 64, 48),
    ]
