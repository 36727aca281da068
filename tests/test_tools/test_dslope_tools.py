# Copyright (c) dag_mmpose contributors. All rights reserved.
"""D-Slope through the stock tools: mmengine's Runner (train, test, resume), two CPU processes
with tools/dist_train.sh, and the ENet export loaded by the plain config."""

import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from dag_mmpose.benchmark import use_demo_data
from dag_mmpose.testing.repo import REPO_ROOT
from dag_mmpose.testing.tools import TINY_EPOCH, RecordFirstIter, dist_train, run_tool

pytestmark = pytest.mark.slow

DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
DSLOPE = osp.join(DEMO, 'td-hm_hrnet-tiny_dslope-1xb32-10e_synthetic-coco-128x96.py')
BASELINE = osp.join(DEMO, 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py')
EXPORT = osp.join(REPO_ROOT, 'tools', 'misc', 'export_enet.py')


def _cfg(path: str, synthetic_root: str, work_dir: str, **train_cfg) -> Config:
    cfg = Config.fromfile(path)
    use_demo_data(cfg, osp.join(synthetic_root, 'data', 'synthetic_coco'))
    cfg.merge_from_dict({opt.split('=')[0]: eval(opt.split('=')[1]) for opt in TINY_EPOCH})
    cfg.train_cfg.update(train_cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg


def test_train_test_and_export(synthetic_root, tool_env, tmp_path):
    """The stock Runner trains and validates D-Slope; the exported ENet, tested with the
    plain baseline config, gives the wrapper's metrics exactly."""
    runner = Runner.from_cfg(_cfg(DSLOPE, synthetic_root, str(tmp_path / 'dslope')))
    runner.train()
    logged = runner.message_hub.log_scalars
    for key in ('enet_loss_kpt', 'gnet_loss_kpt', 'enet_loss_mimic_backbone.stage2'):
        assert f'train/{key}' in logged, key
    checkpoint = str(tmp_path / 'dslope' / 'epoch_1.pth')
    expected = runner.test()

    out = str(tmp_path / 'enet.pth')
    run_tool([sys.executable, EXPORT, checkpoint, out], cwd=synthetic_root, env=tool_env)
    plain = _cfg(BASELINE, synthetic_root, str(tmp_path / 'plain'))
    plain.load_from = out
    metrics = Runner.from_cfg(plain).test()
    assert metrics == expected
    assert 0.0 <= metrics['coco/AP'] <= 1.0


def test_dist_train_two_cpu_processes(synthetic_root, tool_env, tmp_path):
    work_dir = tmp_path / 'dist'
    logs = dist_train(DSLOPE, work_dir, synthetic_root, tool_env)
    assert 'gloo' in logs and 'enet_loss_mimic' in logs
    state = torch.load(work_dir / 'epoch_1.pth', map_location='cpu')
    assert {k.split('.', 1)[0] for k in state['state_dict']} == {'gnet', 'enet'}


def test_resume_matches_uninterrupted(synthetic_root, tmp_path):
    loader = dict(num_workers=1, persistent_workers=False)

    def run(name: str, epochs: int, resume: bool = False) -> Runner:
        cfg = _cfg(DSLOPE, synthetic_root, str(tmp_path / name), max_epochs=epochs)
        cfg.train_dataloader.update(loader)
        if resume:
            cfg.resume = True
            cfg.load_from = str(tmp_path / name / 'epoch_1.pth')
        runner = Runner.from_cfg(cfg)
        return runner

    straight = run('straight', 2)
    straight.train()
    first = run('resumed', 1)
    first.train()
    resumed = run('resumed', 2, resume=True)
    recorder = RecordFirstIter()
    resumed.register_hook(recorder)
    resumed.train()

    assert recorder.first_iter == first.iter > 0
    assert recorder.optimizer_state_size > 0
    expected = straight.model.state_dict()
    for name, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=0, atol=0, msg=name)
