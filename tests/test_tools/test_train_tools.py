# Copyright (c) dag_mmpose contributors. All rights reserved.
"""End-to-end runs of the training tools on the generated data (CPU)."""

import glob
import os.path as osp
import shutil
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmpose.registry import MODELS

from dag_mmpose.testing.repo import DEMO_CONFIG, REPO_ROOT, use_synthetic_coco
from dag_mmpose.testing.tools import TINY_EPOCH, RecordFirstIter, dist_train, run_tool
from dag_mmpose.utils.launch import setup_cpu_distributed

pytestmark = pytest.mark.slow


def _tiny_cfg(synthetic_root, work_dir, **train_cfg) -> Config:
    cfg = Config.fromfile(DEMO_CONFIG)
    use_synthetic_coco(cfg, synthetic_root)
    cfg.merge_from_dict({opt.split('=')[0]: eval(opt.split('=')[1]) for opt in TINY_EPOCH})
    cfg.train_cfg.update(train_cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg


def test_mim_train(synthetic_root, tool_env, tmp_path):
    mim = shutil.which('mim', path=osp.dirname(sys.executable))
    assert mim is not None, 'openmim is not installed next to this python'
    work_dir = tmp_path / 'mim'
    run_tool(
        [
            mim,
            'train',
            'mmpose',
            DEMO_CONFIG,
            '--gpus',
            '0',
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            *TINY_EPOCH,
        ],
        cwd=synthetic_root,
        env=tool_env,
    )
    assert osp.isfile(work_dir / 'epoch_1.pth')


def test_dist_train_two_cpu_processes(synthetic_root, tool_env, tmp_path):
    work_dir = tmp_path / 'dist'
    logs = dist_train(DEMO_CONFIG, work_dir, synthetic_root, tool_env)
    assert 'gloo' in logs
    assert 'Distributed launcher: pytorch' in logs or 'launcher: pytorch' in logs
    checkpoint = work_dir / 'epoch_1.pth'
    assert osp.isfile(checkpoint)
    # Written by 2 ranks of world size 2; loads with torch's default weights_only=True.
    state = torch.load(checkpoint, map_location='cpu')
    assert state['meta']['epoch'] == 1
    cfg = _tiny_cfg(synthetic_root, str(tmp_path / 'load'))
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True)


def test_resume_matches_uninterrupted(synthetic_root, tmp_path):
    # num_workers=1 without persistence: mmengine seeds each epoch's worker the same way,
    # so both runs see the same augmentations and the weights can be compared exactly.
    loader = dict(num_workers=1, persistent_workers=False)

    straight_cfg = _tiny_cfg(synthetic_root, str(tmp_path / 'straight'), max_epochs=2)
    straight_cfg.train_dataloader.update(loader)
    straight = Runner.from_cfg(straight_cfg)
    straight.train()

    first_cfg = _tiny_cfg(synthetic_root, str(tmp_path / 'resumed'), max_epochs=1)
    first_cfg.train_dataloader.update(loader)
    first = Runner.from_cfg(first_cfg)
    first.train()
    saved_iter = first.iter
    assert saved_iter > 0

    resumed_cfg = _tiny_cfg(synthetic_root, str(tmp_path / 'resumed'), max_epochs=2)
    resumed_cfg.train_dataloader.update(loader)
    resumed_cfg.resume = True
    resumed_cfg.load_from = str(tmp_path / 'resumed' / 'epoch_1.pth')
    resumed = Runner.from_cfg(resumed_cfg)
    recorder = RecordFirstIter()
    resumed.register_hook(recorder)
    resumed.train()

    assert recorder.first_iter == saved_iter
    assert recorder.optimizer_state_size > 0, 'the optimizer state was not restored'
    assert resumed.iter == straight.iter
    expected = straight.model.state_dict()
    for name, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=0, atol=0, msg=name)


def test_train_tool_resume_flag(synthetic_root, tool_env, tmp_path):
    work_dir = tmp_path / 'cli'
    train = osp.join(REPO_ROOT, 'tools', 'train.py')
    run_tool(
        [
            sys.executable,
            train,
            DEMO_CONFIG,
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            *TINY_EPOCH,
        ],
        cwd=synthetic_root,
        env=tool_env,
    )
    result = run_tool(
        [
            sys.executable,
            train,
            DEMO_CONFIG,
            '--work-dir',
            str(work_dir),
            '--resume',
            '--cfg-options',
            *TINY_EPOCH[1:],
            'train_cfg.max_epochs=2',
        ],
        cwd=synthetic_root,
        env=tool_env,
    )
    logs = result.stdout + result.stderr
    assert 'resumed epoch: 1' in logs
    assert sorted(osp.basename(p) for p in glob.glob(str(work_dir / 'epoch_*.pth'))) == [
        'epoch_1.pth',
        'epoch_2.pth',
    ]


def test_setup_cpu_distributed_is_noop_without_launcher():
    cfg = Config(dict(launcher='none'))
    setup_cpu_distributed(cfg)
    assert 'model_wrapper_cfg' not in cfg


def test_test_tool_writes_metrics_whole_or_not_at_all(tmp_path):
    """tools/test.py --out: the metrics file is written beside and renamed; a failed write
    leaves the previous file as it was, not half of a new one."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        'test_tool', osp.join(REPO_ROOT, 'tools', 'test.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / 'metrics.json'
    hook = module.SaveMetricsHook(str(out))
    hook.after_test_epoch(None, {'coco/AP': 0.5})
    assert json.loads(out.read_text()) == {'coco/AP': 0.5}
    with pytest.raises(TypeError):
        hook.after_test_epoch(None, {'coco/AP': object()})
    assert json.loads(out.read_text()) == {'coco/AP': 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ['metrics.json']
