# Copyright (c) dag_mmpose contributors. All rights reserved.
"""tools/analysis/ablation.py never reports a result trained with other settings (fast: the
training and evaluation are replaced by stand-ins that record their calls)."""

import json
import os.path as osp

import pytest

from dag_mmpose.testing.repo import REPO_ROOT
from dag_mmpose.testing.tools import load_tool

DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
BASELINE = osp.join(DEMO, 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py')


@pytest.fixture
def ablation(monkeypatch):
    """The tool as a module, training replaced by a stand-in that counts its runs."""
    module = load_tool('tools/analysis/ablation.py', 'ablation_tool')
    module.trained = []

    def train(cfg):
        module.trained.append(cfg.train_cfg.max_epochs)
        return 'epoch_x.pth', 0.0

    monkeypatch.setattr(module, 'train_cfg_once', train)
    monkeypatch.setattr(
        module, 'evaluate_split', lambda cfg, ckpt, split: {'AP': float(len(module.trained))}
    )
    return module


def _args(ablation, tmp_path, *extra):
    return ablation.parse_args(
        ['--configs', BASELINE, '--work-dir', str(tmp_path / 'work'), '--data-root',
         str(tmp_path / 'data'), '--epochs', '2', *extra]
    )  # fmt: skip


def test_result_records_its_settings_and_is_reused(ablation, tmp_path):
    args = _args(ablation, tmp_path)
    first = ablation.run_once(BASELINE, 0, args)
    assert ablation.trained == [2]
    settings = first['settings']
    assert settings['epochs'] == 2 and settings['seed'] == 0
    assert settings['num_images'] == [600, 200, 400] and settings['variety'] == 'upright'
    assert settings['data_root'] == str(tmp_path / 'data')
    assert len(settings['config_sha256']) == 64
    assert ablation.run_once(BASELINE, 0, args) == first  # same settings: not trained again
    assert ablation.trained == [2]


@pytest.mark.parametrize(
    'change, named',
    [
        (['--epochs', '3'], 'epochs 2 -> 3'),
        (['--num-images', '60', '20', '40'], 'num_images'),
        (['--variety', 'full'], "variety 'upright' -> 'full'"),
    ],
)
def test_other_settings_are_refused_naming_the_difference(ablation, tmp_path, change, named):
    ablation.run_once(BASELINE, 0, _args(ablation, tmp_path))
    changed = _args(ablation, tmp_path, *change)
    with pytest.raises(SystemExit, match=f'trained with other settings .*{named}'):
        ablation.run_once(BASELINE, 0, changed)
    assert ablation.trained == [2]


def test_other_data_root_or_config_content_is_stale(ablation, tmp_path):
    args = _args(ablation, tmp_path)
    ablation.run_once(BASELINE, 0, args)
    moved = _args(ablation, tmp_path)
    moved.data_root = str(tmp_path / 'other_data')
    with pytest.raises(SystemExit, match='data_root'):
        ablation.run_once(BASELINE, 0, moved)
    # the same file name with other content: a config edited since the run
    result_file = tmp_path / 'work' / osp.splitext(osp.basename(BASELINE))[0] / 'seed0'
    result = json.loads((result_file / 'result.json').read_text())
    result['settings']['config_sha256'] = '0' * 64
    (result_file / 'result.json').write_text(json.dumps(result))
    with pytest.raises(SystemExit, match='config_sha256'):
        ablation.run_once(BASELINE, 0, args)


def test_rerun_stale_trains_again_and_keeps_the_old_result(ablation, tmp_path):
    ablation.run_once(BASELINE, 0, _args(ablation, tmp_path))
    run_dir = tmp_path / 'work' / osp.splitext(osp.basename(BASELINE))[0] / 'seed0'
    old = json.loads((run_dir / 'result.json').read_text())
    result = ablation.run_once(
        BASELINE, 0, _args(ablation, tmp_path, '--epochs', '3', '--rerun-stale')
    )
    assert ablation.trained == [2, 3] and result['settings']['epochs'] == 3
    assert json.loads((run_dir / 'result.previous.json').read_text()) == old


def test_results_of_an_earlier_version_are_refused(ablation, tmp_path):
    """A result.json without settings (written before they were recorded) cannot be
    trusted to be this ablation's."""
    run_dir = tmp_path / 'work' / osp.splitext(osp.basename(BASELINE))[0] / 'seed0'
    run_dir.mkdir(parents=True)
    (run_dir / 'result.json').write_text(json.dumps(dict(seed=0, val={}, test={})))
    with pytest.raises(SystemExit, match='records no settings'):
        ablation.run_once(BASELINE, 0, _args(ablation, tmp_path))
    (run_dir / 'result.json').write_text('{"seed": 0, ')
    with pytest.raises(ValueError, match='result.json is not valid JSON'):
        ablation.run_once(BASELINE, 0, _args(ablation, tmp_path))


def test_trained_base_seeds_rows_and_report_only(ablation, tmp_path, monkeypatch):
    """--base-seeds maps run seeds onto bases, --only-rows filters, --report-only trains
    nothing and reports the kept runs (stand-ins for the base, the runs and the report)."""
    bases, calls = [], []
    monkeypatch.setattr(
        ablation,
        'train_base',
        lambda path, root, work, seed, epochs: bases.append(seed) or {'seed': seed, 'curve': []},
    )

    def run_row(row, base, root, work, seed, schedule, rerun, trained=None, train=True):
        calls.append((row.name, base['seed'], seed, train))
        return None if not train else {'seed': seed, 'row': row.name}

    monkeypatch.setattr(ablation, 'run_row', run_row)
    monkeypatch.setattr(
        ablation,
        'paired_rows',
        lambda runs, refs, *a: [dict(name=n, low_score_share=0.0) for n in sorted(runs)],
    )
    monkeypatch.setattr(ablation, 'paired_table', lambda rows: '|'.join(r['name'] for r in rows))
    monkeypatch.setattr(ablation, 'plot_paired', lambda rows, out: None)
    monkeypatch.setattr(ablation, 'plot_base_curves', lambda bases, out: None)

    def run(*extra):
        bases.clear()
        calls.clear()
        args = ablation.parse_args(['--work-dir', str(tmp_path / 'w'), *extra])
        monkeypatch.setattr(ablation, 'dump_json', lambda *a, **k: None)
        ablation.trained_base(args)

    run('--rows', 'dag', '--seeds', '0', '1', '2', '--base-seeds', '5', '6',
        '--only-rows', 'baseline (fine-tuned)', 'DAG (all)')  # fmt: skip
    assert bases == [5, 6]  # seed 2 reuses base 5: each base trained once
    assert [(c[0], c[1], c[2]) for c in calls] == [
        ('baseline (fine-tuned)', 5, 0), ('DAG (all)', 5, 0),
        ('baseline (fine-tuned)', 6, 1), ('DAG (all)', 6, 1),
        ('baseline (fine-tuned)', 5, 2), ('DAG (all)', 5, 2),
    ]  # fmt: skip
    run('--rows', 'opec', '--seeds', '0', '--report-only')
    assert calls and not any(c[3] for c in calls)
    with pytest.raises(SystemExit, match='not rows of --rows'):
        run('--rows', 'opec', '--only-rows', 'DAG (all)')


def test_augment_rows_pair_with_the_baseline_of_their_own_start(ablation):
    rows = ablation.ROW_GROUPS['augment']
    assert all(row.limited for row in rows)
    for start, kind in (('from scratch', 'scratch'), ('from base', 'finetune')):
        group = [row for row in rows if row.name.endswith(start)]
        baseline = f'small split: baseline, {start}'
        assert [row.kind for row in group] == [kind] * 4
        assert {row.reference for row in group} == {baseline}
        dropped = {row.name.split(', ')[0]: row.options.get('drop_steps') for row in group}
        assert dropped == {
            'small split: baseline': None,
            'small split: +Mask Joints': ['InstancePaste'],
            'small split: +Instance Paste': ['MaskJoints'],
            'small split: +both': None,
        }
        assert group[0].config == ablation.BASELINE
        assert all(row.config.endswith('_dag-da-1xb32-10e_synthetic-coco-128x96.py')
                   for row in group[1:])  # fmt: skip
