# Copyright (c) dag_mmpose contributors. All rights reserved.
"""DualSampleEstimator (D-Slope) on the tiny demo networks, with batches made by the D-Slope
demo config's own pipelines."""

import copy
import logging
import os.path as osp

import mmpose
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpose.registry import MODELS

from dag_mmpose.models.distillers import (
    DualSampleEstimator,
    default_mimic_modules,
    enet_state_dict,
    export_enet_checkpoint,
)
from dag_mmpose.testing import build_pipeline, pack_batch, two_people_samples
from dag_mmpose.testing.repo import REPO_ROOT
from dag_mmpose.utils.config import drop_pretrained

DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
DSLOPE = osp.join(DEMO, 'td-hm_hrnet-tiny_dslope-1xb32-10e_synthetic-coco-128x96.py')
DAG = osp.join(DEMO, 'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py')
STAGES = ['backbone.stage2', 'backbone.stage3', 'backbone.stage4']


@pytest.fixture(scope='module')
def cfg() -> Config:
    cfg = Config.fromfile(DSLOPE)
    init_default_scope('mmpose')
    return cfg


@pytest.fixture(scope='module')
def batch(cfg, synthetic_root) -> dict:
    """A training batch of 4 (crop + twin) through the config's own pipeline."""
    pool = osp.join(synthetic_root, 'data', 'synthetic_coco', 'instance_pool')
    np.random.seed(0)
    samples = two_people_samples(cfg)
    transforms = build_pipeline(cfg, 'train', pool=pool)
    # every twin occluded, so that the two halves differ
    next(t for t in transforms if type(t).__name__ == 'OccludedTwin').clean_prob = 0.0
    return pack_batch(transforms, samples, batch_size=4)


def _build(cfg: Config, seed: int = 0, **kwargs) -> DualSampleEstimator:
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(kwargs)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter at INFO
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def _rtmpose_t_cfg() -> Config:
    """mmpose's RTMPose-t COCO config (CSPNeXt + RTMCC head), without its pretrained weights."""
    configs = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint')
    cfg = Config.fromfile(osp.join(configs, 'rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py'))
    init_default_scope('mmpose')
    drop_pretrained(cfg.model)
    return cfg


def _halves(batch: dict) -> tuple:
    """The batch as the clean and the twin images alone."""
    clean = dict(batch, inputs=[x[:3] for x in batch['inputs']])
    twin = dict(batch, inputs=[x[3:] for x in batch['inputs']])
    return copy.deepcopy(clean), copy.deepcopy(twin)


def test_loss_terms(cfg, batch):
    model = _build(cfg)
    assert model.mimic_modules == STAGES + ['head.final_layer']
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    assert data['inputs'].shape == (4, 6, 128, 96)
    losses = model(**data, mode='loss')
    mimic = [f'{net}_loss_mimic_{name}' for net in ('enet', 'gnet') for name in model.mimic_modules]
    own = [f'{net}_{key}' for net in ('enet', 'gnet') for key in ('loss_kpt', 'acc_pose')]
    assert set(losses) == set(mimic + own)
    for value in losses.values():
        assert torch.isfinite(value)


def test_mimic_is_the_weighted_mse_to_the_other_network(cfg, batch):
    model = _build(cfg, enet_mimic_weight=0.5, gnet_mimic_weight=0.25)
    model.eval()  # batch-norm statistics do not move between the two forward passes
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    losses = model(**data, mode='loss')
    clean, twin = data['inputs'][:, :3], data['inputs'][:, 3:]
    with torch.no_grad():
        heat_g = model.gnet(clean, None, mode='tensor')
        heat_e = model.enet(twin, None, mode='tensor')
        stage4_g = model.gnet.backbone(clean)[0]
        stage4_e = model.enet.backbone(twin)[0]
    mse = F.mse_loss(heat_e, heat_g)
    torch.testing.assert_close(losses['enet_loss_mimic_head.final_layer'], 0.5 * mse)
    torch.testing.assert_close(losses['gnet_loss_mimic_head.final_layer'], 0.25 * mse)
    torch.testing.assert_close(
        losses['enet_loss_mimic_backbone.stage4'], 0.5 * F.mse_loss(stage4_e, stage4_g)
    )


def test_stage_mimic_averages_every_branch(cfg, batch):
    model = _build(cfg)
    model.eval()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    branches = {}
    for net, half in (('gnet', data['inputs'][:, :3]), ('enet', data['inputs'][:, 3:])):
        hook = getattr(model, net).backbone.stage3.register_forward_hook(
            lambda m, a, out, net=net: branches.__setitem__(net, out)
        )
        with torch.no_grad():
            getattr(model, net)(half, None, mode='tensor')
        hook.remove()
    assert len(branches['enet']) == 3  # HRNet stage 3 returns its three branches
    expected = torch.stack(
        [F.mse_loss(e, g) for e, g in zip(branches['enet'], branches['gnet'])]
    ).mean()
    losses = model(**data, mode='loss')
    torch.testing.assert_close(losses['enet_loss_mimic_backbone.stage3'], 1e-3 * expected)


def test_mimic_sends_no_gradient_to_the_detached_side(cfg, batch):
    model = _build(cfg)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    for own, other in (('enet', 'gnet'), ('gnet', 'enet')):
        model.zero_grad(set_to_none=True)
        losses = model(**data, mode='loss')
        sum(v for k, v in losses.items() if k.startswith(f'{own}_loss_mimic')).backward()
        other_grads = [p.grad for p in getattr(model, other).parameters()]
        assert all(g is None or not g.any() for g in other_grads), other
        own_grads = [p.grad for p in getattr(model, own).backbone.parameters()]
        assert any(g is not None and g.any() for g in own_grads), own


def test_with_mimic_weights_zero_each_network_trains_as_alone(cfg, batch):
    model = _build(cfg, enet_mimic_weight=0.0, gnet_mimic_weight=0.0)
    alone_cfg = copy.deepcopy(cfg.model.enet)
    alone = {}
    for net in ('gnet', 'enet'):
        alone[net] = MODELS.build(alone_cfg)
        alone[net].load_state_dict(getattr(model, net).state_dict())
    clean, twin = _halves(batch)
    wrappers = {
        'dual': OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3)),
        'gnet': OptimWrapper(torch.optim.Adam(alone['gnet'].parameters(), lr=1e-3)),
        'enet': OptimWrapper(torch.optim.Adam(alone['enet'].parameters(), lr=1e-3)),
    }
    for _ in range(2):
        log = model.train_step(copy.deepcopy(batch), wrappers['dual'])
        assert not any('mimic' in key for key in log)
        log_g = alone['gnet'].train_step(copy.deepcopy(clean), wrappers['gnet'])
        log_e = alone['enet'].train_step(copy.deepcopy(twin), wrappers['enet'])
        torch.testing.assert_close(log['gnet_loss_kpt'], log_g['loss_kpt'], rtol=0, atol=0)
        torch.testing.assert_close(log['enet_loss_kpt'], log_e['loss_kpt'], rtol=0, atol=0)
    for net in ('gnet', 'enet'):
        trained = getattr(model, net).state_dict()
        for name, value in alone[net].state_dict().items():
            torch.testing.assert_close(trained[name], value, rtol=0, atol=0, msg=f'{net}.{name}')


def test_predict_runs_enet_only(cfg, batch):
    model = _build(cfg).eval()
    model.test_cfg['flip_test'] = True

    def forbid(*args):
        raise AssertionError('GNet ran at test time')

    handle = model.gnet.register_forward_pre_hook(forbid)
    handles = [m.register_forward_pre_hook(forbid) for m in model.gnet.modules()]
    clean, _ = _halves(batch)
    with torch.no_grad():
        results = model.test_step(copy.deepcopy(clean))
        expected = model.enet.test_step(copy.deepcopy(clean))
    for h in [handle, *handles]:
        h.remove()
    for result, exp in zip(results, expected):
        np.testing.assert_array_equal(result.pred_instances.keypoints, exp.pred_instances.keypoints)
        np.testing.assert_array_equal(
            result.pred_instances.keypoint_scores, exp.pred_instances.keypoint_scores
        )


def test_exported_enet_predicts_as_the_wrapper(cfg, batch, tmp_path):
    model = _build(cfg)
    model.train_step(copy.deepcopy(batch), OptimWrapper(torch.optim.Adam(model.parameters())))
    model.eval()
    checkpoint = str(tmp_path / 'dslope.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), checkpoint)
    out = export_enet_checkpoint(checkpoint, str(tmp_path / 'sub' / 'enet.pth'))
    exported = torch.load(out, map_location='cpu')
    assert exported['meta']['epoch'] == 1
    assert not any(k.startswith(('gnet.', 'enet.')) for k in exported['state_dict'])

    plain = MODELS.build(copy.deepcopy(cfg.model.enet))
    load_checkpoint(plain, out, map_location='cpu', strict=True)
    plain.eval()
    clean, _ = _halves(batch)
    with torch.no_grad():
        expected = model.test_step(copy.deepcopy(clean))
        results = plain.test_step(copy.deepcopy(clean))
    for result, exp in zip(results, expected):
        np.testing.assert_array_equal(result.pred_instances.keypoints, exp.pred_instances.keypoints)

    with pytest.raises(KeyError, match='no ENet weights'):
        enet_state_dict(plain.state_dict())


def test_distill_mode_freezes_gnet(cfg, batch, tmp_path):
    teacher = _build(cfg, seed=3).gnet
    checkpoint = str(tmp_path / 'gnet.pth')
    torch.save(dict(state_dict=teacher.state_dict()), checkpoint)
    model = _build(cfg, seed=4, mode='distill', gnet_checkpoint=checkpoint)
    for name, value in teacher.state_dict().items():
        torch.testing.assert_close(model.gnet.state_dict()[name], value, rtol=0, atol=0)
    model.train()
    assert not model.gnet.training and model.enet.training
    assert not any(p.requires_grad for p in model.gnet.parameters())
    before = copy.deepcopy(model.gnet.state_dict())
    log = model.train_step(copy.deepcopy(batch), OptimWrapper(torch.optim.Adam(model.parameters())))
    assert not any(key.startswith('gnet_') for key in log)
    assert 'enet_loss_mimic_head.final_layer' in log
    for name, value in model.gnet.state_dict().items():  # batch-norm statistics included
        torch.testing.assert_close(value, before[name], rtol=0, atol=0, msg=name)


def test_default_mimic_modules(cfg):
    init_default_scope('mmpose')
    plain = MODELS.build(copy.deepcopy(cfg.model.enet))
    assert default_mimic_modules(plain) == STAGES + ['head.final_layer']
    dag = MODELS.build(Config.fromfile(DAG).model)
    assert default_mimic_modules(dag) == STAGES + ['head.pose_head.final_layer']
    rtm = MODELS.build(_rtmpose_t_cfg().model)
    # CSPNeXt has stages 2-4 too; the x / y logits, not the RTMCC head's final_layer
    assert default_mimic_modules(rtm) == STAGES + ['head.cls_x', 'head.cls_y']
    del plain.head.final_layer  # a head of an unknown layout
    with pytest.raises(ValueError, match='mimic_modules'):
        default_mimic_modules(plain)


def test_errors_name_the_problem(cfg, batch):
    with pytest.raises(ValueError, match="'backbone.stage9' is not in gnet"):
        _build(cfg, mimic_modules=['backbone.stage9'])
    with pytest.raises(ValueError, match='mode must be one of'):
        _build(cfg, mode='both')
    with pytest.raises(ValueError, match='enet_mimic_weight must be a finite number >= 0'):
        _build(cfg, enet_mimic_weight=-1.0)
    with pytest.raises(ValueError, match='DualSampleEstimator: gnet_mimic_weight'):
        _build(cfg, gnet_mimic_weight=float('nan'))  # passed `< 0` and trained on NaN losses
    model = _build(cfg)
    clean, _ = _halves(batch)
    data = model.data_preprocessor(clean, True)
    with pytest.raises(ValueError, match='OccludedTwin and PackDualPoseInputs'):
        model(**data, mode='loss')
    # a GNet of another architecture cannot be mimicked
    gnet = copy.deepcopy(cfg.model.enet)
    gnet.backbone.extra.stage3.num_channels = (16, 32, 48)
    gnet.backbone.extra.stage4.num_channels = (16, 32, 48, 128)
    model = _build(cfg, gnet=gnet)
    with pytest.raises(ValueError, match='same architecture'):
        model(**model.data_preprocessor(copy.deepcopy(batch), True), mode='loss')


def test_config_file_as_network(cfg):
    baseline = osp.join(DEMO, 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py')
    model = MODELS.build(dict(type='DualSampleEstimator', enet=baseline))
    assert type(model.data_preprocessor).__name__ == 'DualSampleDataPreprocessor'
    assert model.data_preprocessor._channel_conversion
    assert model.test_cfg['flip_test'] and model.test_cfg is model.enet.test_cfg


def test_loss_under_autocast(cfg, batch):
    """Mixed precision: every term finite, the mimic MSE computed in float32. float16, as
    CUDA AMP: mmpose's heatmap accuracy goes through numpy, which has no bfloat16."""
    model = _build(cfg)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    with torch.autocast('cpu', dtype=torch.float16):
        if torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype != torch.float16:
            pytest.skip('this torch has no float16 CPU autocast')
        losses = model(**data, mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
        if 'mimic' in key:
            assert value.dtype == torch.float32, key
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in model.enet.head.parameters()
    )


def test_shared_init_starts_gnet_as_enet(cfg):
    model = _build(cfg, shared_init=True)
    enet = model.enet.state_dict()
    for name, value in model.gnet.state_dict().items():
        torch.testing.assert_close(value, enet[name], rtol=0, atol=0, msg=name)
    own = _build(cfg)  # each network its own random initialisation
    assert not torch.equal(own.gnet.head.final_layer.weight, own.enet.head.final_layer.weight)
    with pytest.raises(ValueError, match='not both'):
        _build(cfg, shared_init=True, gnet_checkpoint='gnet.pth')
    gnet = copy.deepcopy(cfg.model.enet)
    gnet.head.final_layer = dict(kernel_size=3)
    with pytest.raises(ValueError, match='same architecture'):
        _build(cfg, gnet=gnet, shared_init=True)


def test_rtmpose_pair():
    """Any top-down estimator: RTMPose-t (CSPNeXt + RTMCC head, SimCC labels) as GNet / ENet,
    mimicking its stages and x / y logits."""
    rtm = _rtmpose_t_cfg()
    names = ['backbone.stage3', 'backbone.stage4', 'head.cls_x', 'head.cls_y']
    model = MODELS.build(dict(type='DualSampleEstimator', enet=rtm.model, mimic_modules=names))
    np.random.seed(0)
    skip = ('mmdet.YOLOXHSVRandomAug', 'Albumentation', 'RandomBBoxTransform', 'RandomHalfBody')
    clean = pack_batch(build_pipeline(rtm, 'train', skip=skip), two_people_samples(rtm))
    # a twin with other pixels: the colours inverted
    batch = dict(clean, inputs=[torch.cat([x, 255 - x]) for x in clean['inputs']])
    log = model.train_step(batch, OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3)))
    expected = {f'enet_loss_mimic_{n}' for n in names} | {'enet_loss_kpt', 'gnet_loss_kpt'}
    assert expected <= set(log)
    assert all(torch.isfinite(v) for v in log.values())


def test_export_never_overwrites_the_dslope_checkpoint(tmp_path):
    """`export_enet.py ckpt ckpt` used to replace the D-Slope checkpoint (GNet with it)."""
    checkpoint = tmp_path / 'dslope.pth'
    state = dict(state_dict={'enet.w': torch.ones(2), 'gnet.w': torch.zeros(2)}, meta={})
    torch.save(state, checkpoint)
    before = checkpoint.read_bytes()
    for out in (str(checkpoint), str(tmp_path / '.' / 'dslope.pth')):
        with pytest.raises(ValueError, match='is the D-Slope checkpoint itself'):
            export_enet_checkpoint(str(checkpoint), out)
    assert checkpoint.read_bytes() == before
    out = export_enet_checkpoint(str(checkpoint), str(tmp_path / 'enet.pth'))
    assert set(torch.load(out)['state_dict']) == {'w'}
    assert sorted(p.name for p in tmp_path.iterdir()) == ['dslope.pth', 'enet.pth']
