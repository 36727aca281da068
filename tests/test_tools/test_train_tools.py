# Copyright (c) dag_mmpose contributors. All rights reserved.
"""End-to-end runs of the training tools on the generated data (CPU)."""

import glob
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmpose.registry import MODELS

from dag_mmpose.utils.launch import setup_cpu_distributed

from ..conftest import DEMO_CONFIG, REPO_ROOT, use_synthetic_coco

pytestmark = pytest.mark.slow

# One tiny epoch: 12 train images (~30 people) in batches of 8.
TINY = [
    'train_cfg.max_epochs=1',
    'train_cfg.val_interval=1',
    'train_dataloader.batch_size=8',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'default_hooks.checkpoint.save_best=None',
    'default_hooks.logger.interval=1',
]


def _run(cmd, cwd, env, timeout=600):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f'{cmd} exited {result.returncode}\n'
        f'stdout:\n{result.stdout[-4000:]}\n'
        f'stderr:\n{result.stderr[-4000:]}'
    )
    return result


def _tiny_cfg(synthetic_root, work_dir, **train_cfg) -> Config:
    cfg = Config.fromfile(DEMO_CONFIG)
    use_synthetic_coco(cfg, synthetic_root)
    cfg.merge_from_dict({opt.split('=')[0]: eval(opt.split('=')[1]) for opt in TINY})
    cfg.train_cfg.update(train_cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg


def test_mim_train(synthetic_root, tool_env, tmp_path):
    mim = shutil.which('mim', path=osp.dirname(sys.executable))
    assert mim is not None, 'openmim is not installed next to this python'
    work_dir = tmp_path / 'mim'
    _run(
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
            *TINY,
        ],
        cwd=synthetic_root,
        env=tool_env,
    )
    assert osp.isfile(work_dir / 'epoch_1.pth')


def dist_train(config: str, work_dir, synthetic_root: str, env: dict, port: int) -> str:
    """``tools/dist_train.sh CONFIG 2`` (two CPU processes) on one tiny epoch; its output."""
    env = dict(env, PORT=str(port))
    result = _run(
        [
            'bash',
            osp.join(REPO_ROOT, 'tools', 'dist_train.sh'),
            config,
            '2',
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            *TINY,
        ],
        cwd=synthetic_root,
        env=env,
    )
    return result.stdout + result.stderr


def test_dist_train_two_cpu_processes(synthetic_root, tool_env, tmp_path):
    work_dir = tmp_path / 'dist'
    logs = dist_train(DEMO_CONFIG, work_dir, synthetic_root, tool_env, 29517)
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


class _RecordFirstIter(Hook):
    def __init__(self):
        self.first_iter = None
        self.optimizer_state_size = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.first_iter is None:
            self.first_iter = runner.iter
            self.optimizer_state_size = len(runner.optim_wrapper.optimizer.state)


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
    recorder = _RecordFirstIter()
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
    _run(
        [sys.executable, train, DEMO_CONFIG, '--work-dir', str(work_dir), '--cfg-options', *TINY],
        cwd=synthetic_root,
        env=tool_env,
    )
    result = _run(
        [
            sys.executable,
            train,
            DEMO_CONFIG,
            '--work-dir',
            str(work_dir),
            '--resume',
            '--cfg-options',
            *TINY[1:],
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
