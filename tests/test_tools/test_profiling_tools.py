# Copyright (c) dag_mmpose contributors. All rights reserved.
"""tools/analysis/benchmark_model.py --cfg-options and tools/analysis/profile_step.py on the
demo configs (what they report, not how fast anything is)."""

import importlib.util
import os.path as osp
import subprocess
import sys

import pytest

from dag_mmpose.testing.repo import REPO_ROOT

pytestmark = pytest.mark.slow

DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
DAG = osp.join(DEMO, 'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py')
BASELINE = osp.join(DEMO, 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py')
ANALYSIS = osp.join(REPO_ROOT, 'tools', 'analysis')


def test_benchmark_model_applies_cfg_options_to_the_first_config(tool_env):
    cmd = [sys.executable, osp.join(ANALYSIS, 'benchmark_model.py'), '--config', DAG,
           '--baseline', BASELINE, '--cfg-options', 'model.neck.spatial_downsample=4',
           '--rounds', '1', '--warmup', '0', '--train-iters', '1', '--test-iters', '1',
           '--threads', '1']  # fmt: skip
    result = subprocess.run(cmd, env=tool_env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    header = [line for line in result.stdout.splitlines() if line.startswith('| metric |')][0]
    assert (
        'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96 (model.neck.spatial_downsample=4)'
        in header
    )
    assert '| train img/s |' in result.stdout and '| infer img/s |' in result.stdout


def test_profile_step_labels_every_part(capsys):
    spec = importlib.util.spec_from_file_location(
        'profile_step', osp.join(ANALYSIS, 'profile_step.py')
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rows = tool.main(['--config', DAG, '--steps', '1', '--warmup', '1', '--threads', '1'])
    parts = ('backbone', 'neck', 'head.pose_head', 'head.multi_head', 'head.gcn')
    for name in parts + ('backward (all parts)', 'optimizer step'):
        assert rows[name] > 0, name
    # the ranges nest inside the step: nothing is counted twice
    assert rows['rest (preprocessor, loss, bookkeeping)'] >= 0
    out = capsys.readouterr().out
    assert '| neck (forward) |' in out and '`' in out.split('Operators')[1]
