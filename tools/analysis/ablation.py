# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Train a set of configs over several seeds and report mean ± std, occluded vs visible.

The default is the paper's Table 2 on the generated data, one backbone, schedule and data::

    python tools/analysis/ablation.py                      # 5 rows x 3 seeds
    python tools/analysis/ablation.py --seeds 0 1 --epochs 2 --configs A.py B.py

Each run (config, seed) trains from scratch in ``WORK_DIR/<config>/seed<N>`` and writes
``result.json`` with its val and test metrics (``CocoMetric`` and
``OccludedKeypointMetric``); a run whose ``result.json`` exists is not trained again, so an
interrupted ablation resumes where it stopped. The first config is the baseline: every other
row also gets its difference to it, paired by seed (mean ± std of the per-seed differences).
Choices (which row to keep, which schedule) belong to the val table; the test table is the
report. Writes ``ablation.md`` (both tables) and ``ablation.png`` (test: occluded vs visible
PCK@0.1 and AP per row, error bars = std over seeds) into ``WORK_DIR``.
"""

import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
import torch

from dag_mmpose.testing.experiments import evaluate_split, experiment_cfg, train_cfg_once
from dag_mmpose.testing.synthetic import generate_demo_data

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'demo')
TABLE2 = [
    osp.join(DEMO, f'td-hm_hrnet-tiny{variant}-1xb32-10e_synthetic-coco-128x96.py')
    for variant in ('', '_dag-da', '_dag-adam', '_dag-gcn', '_dag')
]
ROW_NAMES = {
    'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96': 'baseline',
    'td-hm_hrnet-tiny_dag-da-1xb32-10e_synthetic-coco-128x96': '+DA',
    'td-hm_hrnet-tiny_dag-adam-1xb32-10e_synthetic-coco-128x96': '+ADAM',
    'td-hm_hrnet-tiny_dag-gcn-1xb32-10e_synthetic-coco-128x96': '+FGMH-GCN',
    'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96': 'DAG (all)',
}
KEYS = ('AP', 'occ/PCK@0.1', 'vis/PCK@0.1', 'occ/OKS', 'vis/OKS', 'occ/AP')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--configs', nargs='+', default=TABLE2, help='first one: baseline')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--data-root', default='data/synthetic_coco', help='generated data')
    parser.add_argument(
        '--num-images', type=int, nargs=3, default=[600, 100, 100], metavar=('TRAIN', 'VAL', 'TEST')
    )
    parser.add_argument('--epochs', type=int, help='override train_cfg.max_epochs')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument(
        '--device',
        default='cpu',
        choices=['cpu', 'cuda'],
        help="'cpu' hides any GPU from the runs; 'cuda' lets mmengine's Runner use it",
    )
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    return parser.parse_args()


def row_name(path: str) -> str:
    stem = osp.splitext(osp.basename(path))[0]
    return ROW_NAMES.get(stem, stem)


def run_once(path: str, seed: int, args: argparse.Namespace) -> Dict[str, dict]:
    """Train one (config, seed) unless its result.json exists; its val / test metrics."""
    work_dir = osp.join(args.work_dir, osp.splitext(osp.basename(path))[0], f'seed{seed}')
    result_file = osp.join(work_dir, 'result.json')
    if osp.exists(result_file):
        with open(result_file) as f:
            return json.load(f)
    cfg = experiment_cfg(path, args.data_root, work_dir, seed, args.epochs)
    checkpoint, minutes = train_cfg_once(cfg)
    result = dict(
        config=path,
        seed=seed,
        train_minutes=minutes,
        val=evaluate_split(cfg, checkpoint, 'val'),
        test=evaluate_split(cfg, checkpoint, 'test'),
    )
    os.makedirs(work_dir, exist_ok=True)
    tmp = result_file + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, result_file)  # a run counts as done only once its file is whole
    return result


def _cell(values: Sequence[float]) -> str:
    values = np.asarray(values, dtype=np.float64)
    return f'{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}'


def table(results: Dict[str, List[dict]], split: str, keys: Sequence[str] = KEYS) -> str:
    """Markdown: mean ± std over seeds per row, and the paired difference to the first row."""
    rows = list(results)
    base = {r['seed']: r[split] for r in results[rows[0]]}
    header = ['row', 'seeds', *keys, *(f'Δ {k}' for k in keys[:3])]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for name in rows:
        runs = results[name]
        cells = [name, str(len(runs))]
        cells += [_cell([r[split][k] for r in runs]) if k in runs[0][split] else '-' for k in keys]
        for key in keys[:3]:
            paired = [r[split][key] - base[r['seed']][key] for r in runs if r['seed'] in base]
            cells.append('-' if name == rows[0] or key not in runs[0][split] else _cell(paired))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot(results: Dict[str, List[dict]], out_file: str) -> None:
    """Test split, per row: occluded vs visible PCK@0.1 and AP with std error bars."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = list(results)
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(2.2 * len(rows) + 3, 3.6))
    for ax, pairs, title in (
        (axes[0], (('occ/PCK@0.1', 'occluded'), ('vis/PCK@0.1', 'visible')), 'PCK@0.1'),
        (axes[1], (('occ/AP', 'occ/AP'), ('AP', 'AP (all)')), 'OKS-AP'),
    ):
        for offset, (key, label) in zip((-0.2, 0.2), pairs):
            values = [[r['test'].get(key, np.nan) for r in results[n]] for n in rows]
            mean = [np.mean(v) for v in values]
            std = [np.std(v, ddof=1) if len(v) > 1 else 0 for v in values]
            ax.bar(x + offset, mean, 0.4, yerr=std, capsize=3, label=label)
        ax.set_xticks(x, rows, rotation=20, ha='right')
        ax.set_title(f'{title} (test, mean ± std over seeds)')
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    if args.device == 'cpu':
        # mmengine's Runner takes a GPU whenever one is visible; before any CUDA call
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    torch.set_num_threads(args.threads)
    for line in generate_demo_data(args.data_root, args.num_images):
        print(line)
    results: Dict[str, List[dict]] = {}
    for path in args.configs:
        results[row_name(path)] = [run_once(path, seed, args) for seed in args.seeds]

    report = [
        f'Seeds {args.seeds}; data {args.data_root} ({args.num_images} images); first row = '
        'baseline, Δ = paired per-seed difference to it (mean ± std).',
        '',
        '**val** (for choices)',
        '',
        table(results, 'val'),
        '',
        '**test** (the report)',
        '',
        table(results, 'test'),
    ]
    os.makedirs(args.work_dir, exist_ok=True)
    md_file = osp.join(args.work_dir, 'ablation.md')
    with open(md_file, 'w') as f:
        f.write('\n'.join(report) + '\n')
    plot(results, osp.join(args.work_dir, 'ablation.png'))
    print('\n'.join(report))
    print(f'\nwrote {md_file} and ablation.png')


if __name__ == '__main__':
    main()
