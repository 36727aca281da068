# Copyright (c) dag_mmpose contributors. All rights reserved.
"""tools/analysis/ablation.py: multi-seed runs, paired differences, resumable, md + png."""

import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from dag_mmpose.testing.repo import REPO_ROOT

pytestmark = pytest.mark.slow

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis', 'ablation.py')
DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
CONFIGS = [
    osp.join(DEMO, 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py'),
    osp.join(DEMO, 'td-hm_hrnet-tiny_dag-gcn-1xb32-10e_synthetic-coco-128x96.py'),
]


def _ablation(tool_env, work_dir, data_root):
    cmd = [sys.executable, TOOL, '--protocol', 'from-scratch', '--configs', *CONFIGS,
           '--seeds', '0', '--epochs', '1',
           '--num-images', '16', '8', '8', '--data-root', data_root, '--work-dir', work_dir,
           '--threads', '1']  # fmt: skip
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, env=tool_env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_ablation_runs_reports_and_resumes(tool_env, tmp_path):
    work_dir, data_root = str(tmp_path / 'ablation'), str(tmp_path / 'data')
    _ablation(tool_env, work_dir, data_root)

    runs = sorted(
        osp.join(root, 'result.json')
        for root, _, files in os.walk(work_dir)
        if 'result.json' in files
    )
    assert len(runs) == 2  # 2 configs x 1 seed
    for run in runs:
        with open(run) as f:
            result = json.load(f)
        for split in ('val', 'test'):
            assert {'AP', 'occ/PCK@0.1', 'vis/PCK@0.1', 'occ/AP'} <= set(result[split])
    with open(osp.join(work_dir, 'ablation.md')) as f:
        report = f.read()
    assert '**val**' in report and '**test**' in report
    assert report.startswith('From-scratch protocol')
    # by default the runs train and test on the benchmark's fast setting
    assert "variety 'upright'" in report
    with open(osp.join(data_root, 'annotations', 'person_keypoints_test.json')) as f:
        assert json.load(f)['info']['variety'] == 'upright'
    assert '| baseline | 1 |' in report and '±' in report
    gcn_row = [line for line in report.splitlines() if line.startswith('| +FGMH-GCN |')]
    assert len(gcn_row) == 2 and all(line.count('±') == 10 for line in gcn_row)  # 6 + 4 Δ
    assert osp.getsize(osp.join(work_dir, 'ablation.png')) > 0

    # a second call trains nothing: every run's result stays as it was
    stamps = {run: os.stat(run).st_mtime_ns for run in runs}
    output = _ablation(tool_env, work_dir, data_root)
    assert {run: os.stat(run).st_mtime_ns for run in runs} == stamps
    assert 'Epoch(train)' not in output


def test_augmentation_probability_is_chosen_on_val(tool_env, tmp_path):
    work_dir, data_root = str(tmp_path / 'ablation'), str(tmp_path / 'data')
    da = osp.join(DEMO, 'td-hm_hrnet-tiny_dag-da-1xb32-10e_synthetic-coco-128x96.py')
    cmd = [sys.executable, TOOL, '--protocol', 'from-scratch', '--configs', CONFIGS[0], da,
           '--seeds', '0', '--epochs', '1',
           '--num-images', '16', '8', '8', '--data-root', data_root, '--work-dir', work_dir,
           '--threads', '1', '--aug-probs', '0', '1', '--select', 'occ/PCK@0.1']  # fmt: skip
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, env=tool_env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # the baseline has no augmentation to choose: one run; +DA one run per candidate
    stem = osp.splitext(osp.basename(da))[0]
    scores = {}
    for prob in ('0', '1'):
        with open(osp.join(work_dir, stem, f'p{prob}', 'seed0', 'result.json')) as f:
            run = json.load(f)
        assert run['aug_prob'] == float(prob)
        scores[prob] = run['val']['occ/PCK@0.1']
    best = max(scores, key=scores.get)  # equal scores: the first candidate
    with open(osp.join(work_dir, 'ablation.md')) as f:
        val_part, test_part = f.read().split('**test**')
    assert '| +DA p=0 |' in val_part and '| +DA p=1 |' in val_part
    test_rows = [line for line in test_part.splitlines() if line.startswith('| +DA')]
    assert len(test_rows) == 1 and test_rows[0].startswith(f'| +DA (p={best}) |')
    assert f'Chosen on val (best mean occ/PCK@0.1): +DA p={best}' in test_part


def test_trained_base_protocol_reports_paired_intervals(tool_env, tmp_path):
    """The default protocol end to end on a tiny budget: OPEC-Net's rows over two seeds
    fine-tuned from one base, paired intervals over seeds and images, the MDE."""
    work_dir, data_root = str(tmp_path / 'ablation'), str(tmp_path / 'data')
    cmd = [sys.executable, TOOL, '--rows', 'opec', '--seeds', '0', '1', '--base-seeds', '0',
           '--base-epochs', '1',
           '--opec-epochs', '1', '--bootstrap', '20', '--num-images', '12', '6', '6',
           '--only-rows', 'OPEC-Net (score < 0.2 joints)', 'base (OPEC-Net, refine=False)',
           '--data-root', data_root, '--work-dir', work_dir, '--threads', '1']  # fmt: skip
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, env=tool_env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(osp.join(work_dir, 'paired.md')) as f:
        report = f.read()
    assert report.startswith('Trained-base protocol')
    test_part = report.split('**test**')[1]
    row = [line for line in test_part.splitlines() if line.startswith('| OPEC-Net (score')]
    # vs its reference, 2 seeds, 4 figures, 4 intervals over seeds, 3 over images, its MDE
    cells = [c.strip() for c in row[0].strip('|').split('|')]
    assert cells[1] == 'base (OPEC-Net, refine=False)' and cells[2] == '2'
    assert len(cells) == 15 and all(c.count('[') == 1 for c in cells[7:14])
    assert len(cells[14].split(' / ')) == 2
    assert 'Minimum detectable effect' in test_part and "OPEC-Net's rule" in test_part
    with open(osp.join(work_dir, 'paired.json')) as f:
        data = json.load(f)
    assert sorted(data['bases']) == ['0']
    assert [r['name'] for r in data['test']] == [
        'OPEC-Net (score < 0.2 joints)', 'base (OPEC-Net, refine=False)'
    ]  # fmt: skip
    every = data['test'][0]
    assert every['paired_seeds'] == [0, 1]
    assert {'mean', 'low', 'high', 'mde', 'bootstrap'} <= set(every['diff']['occ/AP'])
    assert osp.getsize(osp.join(work_dir, 'paired.png')) > 0
    assert osp.getsize(osp.join(work_dir, 'base_curves.png')) > 0
    # one base, trained once for both seeds
    bases = [root for root, _, files in os.walk(work_dir) if 'base.json' in files]
    assert len(bases) == 1


def test_aug_prob_needs_an_augmenting_config(tmp_path):
    from dag_mmpose.benchmark.experiments import experiment_cfg

    with pytest.raises(ValueError, match='trains without'):
        experiment_cfg(CONFIGS[0], str(tmp_path), str(tmp_path / 'w'), 0, aug_prob=0.5)
    da = osp.join(DEMO, 'td-hm_hrnet-tiny_dag-da-1xb32-10e_synthetic-coco-128x96.py')
    with pytest.raises(ValueError, match=r'aug_prob must be in \[0, 1\]'):
        experiment_cfg(da, str(tmp_path), str(tmp_path / 'w'), 0, aug_prob=1.5)
    cfg = experiment_cfg(da, str(tmp_path), str(tmp_path / 'w'), 0, aug_prob=0.125)
    steps = [s for s in cfg.train_dataloader.dataset.pipeline if 'prob' in s and 'Mask' in s.type]
    assert [s.prob for s in steps] == [0.125]
    pastes = [s for s in cfg.train_dataloader.dataset.pipeline if s.type == 'InstancePaste']
    assert [s.prob for s in pastes] == [0.125]
