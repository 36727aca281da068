# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Ablations on the generated benchmark: occluded vs visible figures, paired differences with
their intervals, in the papers' own protocol (default) or from scratch.

**Trained-base protocol** (``--protocol trained-base``, the default; the papers' own): the
demo baseline is trained once per seed to a val plateau (``--base-epochs``, its val curve
kept in ``base.json``) and cached, and each row starts from it as its paper does
(``dag_mmpose.benchmark.trained_base``)::

    python tools/analysis/ablation.py --rows dag opec dslope --seeds 0 1 2
    python tools/analysis/ablation.py --rows adam --seeds 0 1 2    # ADAM's attention size

Row groups (``--rows``, default ``dag opec dslope``): ``dag`` (the baseline fine-tuned
alone, +DA, +ADAM, +FGMH-GCN, DAG, each fine-tuned from the base; reference: the baseline
row), ``adam`` (DAG with ADAM's attention at 1/2 and 1/4 resolution; reference: DAG),
``opec`` (CFA + IGP-GCN trained on the frozen base; reference: the same checkpoint with
``refine=False``, the base bit for bit; also refining every joint), ``dslope`` (GNet the
base; ENet from the base in mutual, distill and heatmap-only-mimic modes; reference: the
same network from the base trained alone on the same twins), ``dslope-init`` (ENet, and
its reference, from the weights the base itself started from, on the config's own
from-scratch schedule), ``opec-cfa`` (OPEC-Net with CFA over stage 4's branches before their
fusion and the head's input instead of stage 3's maps; reference: the stage-3 rows) and
``augment`` (the data-limited setting: the baseline, +Mask Joints, +Instance Paste and both
on the first ``--limited-train-images`` train images with their own instance pool, for
``--limited-epochs`` from scratch and ``--limited-finetune-epochs`` from the base, val every
``--limited-val-interval`` epochs; reference: the baseline of the same start)::

    python tools/analysis/ablation.py --rows augment --seeds 0 1 2 --limited-val-interval 20 \
        --only-rows 'small split: baseline, from scratch' 'small split: +both, from scratch'

Writes ``paired.md`` / ``paired.json`` / ``paired.png`` / ``base_curves.png`` (and, for
rows with val curves, ``row_curves.png`` and their curves in ``paired.md``) into
``WORK_DIR``: per row the paired difference to its reference with a
95 % interval over seeds and a paired bootstrap over test images, and the minimum detectable
effect. Runs are kept and reused; two processes with different ``--seeds`` can share one
``WORK_DIR``.

**From-scratch protocol** (``--protocol from-scratch``; a regime none of the papers uses,
labelled as such wherever its numbers appear): each config trains from scratch per seed::

    python tools/analysis/ablation.py --protocol from-scratch              # 5 rows x 3 seeds
    python tools/analysis/ablation.py --protocol from-scratch --configs A.py B.py --epochs 2

Each run (config, seed) trains from scratch in ``WORK_DIR/<config>/seed<N>`` and writes
``result.json`` with its val and test metrics (``CocoMetric`` and
``OccludedKeypointMetric``) and the settings it was trained with (config content, epochs, data
root and image counts, seed); a run whose ``result.json`` holds the same settings is not
trained again, so an interrupted ablation resumes where it stopped. A result of other settings
is never reported: the tool stops and names the difference (``--rerun-stale`` trains it
again). The first config is the baseline: every other row also gets its difference to it,
paired by seed (mean ± std of the per-seed differences).
Choices belong to the val table; the test table is the report. ``--aug-probs 0.25 0.5``
makes the probability of Mask Joints / Instance Paste such a choice: every row that trains
with them is run at each value (``WORK_DIR/<config>/p<P>/seed<N>``), the val table lists
every value, and the test table reports only the value whose mean val ``--select`` metric is
best. Writes ``ablation.md`` (both tables) and ``ablation.png`` (test: occluded vs visible
PCK@0.1 and AP per row, error bars = std over seeds) into ``WORK_DIR``.
"""

import argparse
import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

from dag_mmpose.benchmark.experiments import (
    AUGMENTATIONS,
    evaluate_split,
    experiment_cfg,
    train_cfg_once,
)
from dag_mmpose.benchmark.paired_runs import Row, Schedule, run_row
from dag_mmpose.benchmark.report import (
    curve_table,
    paired_rows,
    paired_table,
    plot_base_curves,
    plot_paired,
    plot_row_curves,
)
from dag_mmpose.benchmark.synthetic import VARIETIES, generate_demo_data
from dag_mmpose.benchmark.trained_base import train_base
from dag_mmpose.utils.config import loader_dataset_cfg
from dag_mmpose.utils.json_io import dump_json, load_json

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
    'td-hm_hrnet-tiny_dag-release-1xb32-10e_synthetic-coco-128x96': 'DAG (release switches)',
    'td-hm_hrnet-tiny_opec-1xb32-10e_synthetic-coco-128x96': 'OPEC-Net',
    'td-hm_hrnet-tiny_dag-release-ip-1xb32-10e_synthetic-coco-128x96': (
        'DAG (release switches + Instance Paste)'
    ),
    'td-hm_hrnet-tiny_occ-aug-1xb32-10e_synthetic-coco-128x96': 'alone on the twins',
    'td-hm_hrnet-tiny_dslope-1xb32-10e_synthetic-coco-128x96': 'D-Slope (ENet)',
    'td-hm_hrnet-tiny_dslope-sharedinit-1xb32-10e_synthetic-coco-128x96': (
        'D-Slope (ENet), shared init'
    ),
}
BASELINE = TABLE2[0]


def _demo(variant: str) -> str:
    return osp.join(DEMO, f'td-hm_hrnet-tiny{variant}-1xb32-10e_synthetic-coco-128x96.py')


FT = 'baseline (fine-tuned)'
SMALL = 'small split:'  # the data-limited rows' prefix
OPEC_REF = 'base (OPEC-Net, refine=False)'
CFA4 = 'OPEC-Net, CFA on stage 4'
CFA4_OPTIONS = {
    'model.backbone.extra_stage_outputs': ['stage4_branches'],
    # (B4_2 @1/16, B4_1 @1/8, the fused X4 @1/4 the base head reads), coarse to fine
    'model.neck.in_indices': [3, 2, 0],
}
ALONE, ALONE_INIT = 'alone on the twins (from base)', 'alone on the twins (from init)'


def _augment_rows(start: str, kind: str) -> List[Row]:
    """The data-limited rows of one start (``kind`` ``'scratch'`` or ``'finetune'``): the
    baseline, then the ``_dag-da`` config with Mask Joints, Instance Paste or both kept, each
    paired with that baseline."""
    baseline = f'{SMALL} baseline, {start}'
    parts = (
        ('+Mask Joints', {'drop_steps': ['InstancePaste']}),
        ('+Instance Paste', {'drop_steps': ['MaskJoints']}),
        ('+both', {}),
    )
    return [Row(baseline, kind, BASELINE, baseline, limited=True)] + [
        Row(f'{SMALL} {part}, {start}', kind, _demo('_dag-da'), baseline, options, limited=True)
        for part, options in parts
    ]


OPEC_ROWS = [
    Row('OPEC-Net (score < 0.2 joints)', 'opec', _demo('_opec'), OPEC_REF),
    Row(OPEC_REF, 'evaluate', reference=OPEC_REF, test_cfg=dict(refine=False),
        source='OPEC-Net (score < 0.2 joints)'),
    Row('OPEC-Net (every joint)', 'evaluate', reference=OPEC_REF,
        test_cfg=dict(refine_joints='all'), source='OPEC-Net (score < 0.2 joints)'),
]  # fmt: skip
# the trained-base protocol's rows, by group; a row's reference comes first in its group
ROW_GROUPS = {
    'dag': [
        Row(FT, 'finetune', BASELINE),
        Row('+DA', 'finetune', _demo('_dag-da'), FT),
        Row('+ADAM', 'finetune', _demo('_dag-adam'), FT),
        Row('+FGMH-GCN', 'finetune', _demo('_dag-gcn'), FT),
        Row('DAG (all)', 'finetune', _demo('_dag'), FT),
    ],
    'adam': [
        Row('DAG (all)', 'finetune', _demo('_dag'), FT),
        Row('DAG, ADAM 1/2', 'finetune', _demo('_dag'), 'DAG (all)',
            {'model.neck.spatial_downsample': 2}),
        Row('DAG, ADAM 1/4', 'finetune', _demo('_dag'), 'DAG (all)',
            {'model.neck.spatial_downsample': 4}),
    ],
    'opec': OPEC_ROWS,
    # CFA over the maps a plain checkpoint trained for its head: stage 4's branches before
    # their fusion (1/16, 1/8) and the fused 1/4 map the base head reads, vs stage 3's maps
    'opec-cfa': [
        *OPEC_ROWS,
        Row(f'{CFA4} (score < 0.2 joints)', 'opec', _demo('_opec'),
            'OPEC-Net (score < 0.2 joints)', CFA4_OPTIONS),
        Row(f'{CFA4} (every joint)', 'evaluate', reference='OPEC-Net (every joint)',
            test_cfg=dict(refine_joints='all'), source=f'{CFA4} (score < 0.2 joints)'),
    ],
    'dslope': [
        Row(ALONE, 'dslope', _demo('_occ-aug'), ALONE, occluded_test=True),
        Row('D-Slope ENet (from base)', 'dslope', _demo('_dslope'), ALONE, occluded_test=True),
        Row('D-Slope ENet, distill (from base)', 'dslope', _demo('_dslope'), ALONE,
            {'mode': 'distill'}, occluded_test=True),
        Row('D-Slope ENet, heatmap mimic only (from base)', 'dslope', _demo('_dslope'), ALONE,
            {'mimic': 'heatmap'}, occluded_test=True),
    ],
    # data-limited: the baseline and its occlusion augmentations on a small train split, on
    # a schedule long enough to overfit, from scratch and from the base
    'augment': [*_augment_rows('from scratch', 'scratch'), *_augment_rows('from base', 'finetune')],
    'dslope-init': [
        Row(ALONE_INIT, 'dslope', _demo('_occ-aug'), ALONE_INIT, {'start': 'init'},
            occluded_test=True),
        Row('D-Slope ENet (from init)', 'dslope', _demo('_dslope'), ALONE_INIT,
            {'start': 'init'}, occluded_test=True),
    ],
}  # fmt: skip
# the data-limited rows' Schedule fields, each a command-line option (--limited-epochs ...)
LIMITED_OPTIONS = {
    'limited_train_images': 'train images of the small split',
    'limited_epochs': 'epochs on the small split from scratch',
    'limited_finetune_epochs': 'epochs on the small split from the base',
    'limited_val_interval': 'epochs between val passes (the curve)',
}
KEYS = ('AP', 'occ/PCK@0.1', 'vis/PCK@0.1', 'occ/OKS', 'vis/OKS', 'occ/AP')
# the figures whose paired difference to the baseline the tables also give
DELTA_KEYS = ('AP', 'occ/PCK@0.1', 'vis/PCK@0.1', 'occ/AP')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--protocol',
        choices=['trained-base', 'from-scratch'],
        default='trained-base',
        help="'trained-base': rows start from a cached trained baseline as their papers do; "
        "'from-scratch': each config trained from scratch (not any paper's protocol)",
    )
    parser.add_argument(
        '--rows',
        nargs='+',
        choices=list(ROW_GROUPS),
        default=['dag', 'opec', 'dslope'],
        help='trained-base row groups',
    )
    parser.add_argument(
        '--base-seeds',
        type=int,
        nargs='+',
        help='trained-base: the bases; run seed s fine-tunes from base seed '
        'BASE_SEEDS[s %% len(BASE_SEEDS)] (default: each seed its own base)',
    )
    parser.add_argument(
        '--only-rows', nargs='+', metavar='NAME', help='trained-base: run only these rows'
    )
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='trained-base: train nothing; report the kept runs (rows pair on the seeds both have)',
    )
    parser.add_argument(
        '--report-dir', help='trained-base: where paired.md / .json / .png go (default: WORK_DIR)'
    )
    parser.add_argument('--base-config', default=BASELINE, help='trained-base: the base')
    parser.add_argument('--base-epochs', type=int, default=30, help='trained-base: base epochs')
    parser.add_argument('--finetune-epochs', type=int, default=Schedule.finetune_epochs)
    parser.add_argument('--finetune-lr', type=float, default=Schedule.finetune_lr)
    parser.add_argument('--opec-epochs', type=int, default=Schedule.opec_epochs)
    for field, what in LIMITED_OPTIONS.items():
        parser.add_argument(
            '--' + field.replace('_', '-'),
            type=int,
            default=getattr(Schedule, field),
            help=f"trained-base, 'augment' rows: {what}",
        )
    parser.add_argument(
        '--bootstrap', type=int, default=1000, help='trained-base: resamples of the test images'
    )
    parser.add_argument(
        '--configs', nargs='+', default=TABLE2, help='from-scratch: first one is the baseline'
    )
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--variety',
        choices=VARIETIES,
        default='upright',
        help="generated people: 'upright' (the fast setting, default) or 'full' (the benchmark)",
    )
    parser.add_argument(
        '--data-root',
        help='generated data, made if absent (default: data/synthetic_benchmark for --variety '
        'full, data/synthetic_benchmark_upright for upright)',
    )
    parser.add_argument(
        '--num-images', type=int, nargs=3, default=[600, 200, 400], metavar=('TRAIN', 'VAL', 'TEST')
    )
    parser.add_argument(
        '--aug-probs',
        type=float,
        nargs='+',
        help=f'candidate probabilities of {"/".join(AUGMENTATIONS)}, chosen on val',
    )
    parser.add_argument('--select', default='AP', help='val metric the choice maximizes')
    parser.add_argument('--epochs', type=int, help='override train_cfg.max_epochs')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument(
        '--device',
        default='cpu',
        choices=['cpu', 'cuda'],
        help="'cpu' hides any GPU from the runs; 'cuda' lets mmengine's Runner use it",
    )
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument(
        '--rerun-stale',
        action='store_true',
        help='train again the runs whose result.json was made with other settings (config '
        'content, epochs, data, seed); without it the tool stops and names the difference',
    )
    args = parser.parse_args(argv)
    if args.data_root is None:
        suffix = '' if args.variety == 'full' else f'_{args.variety}'
        args.data_root = f'data/synthetic_benchmark{suffix}'
    return args


def row_name(path: str) -> str:
    stem = osp.splitext(osp.basename(path))[0]
    return ROW_NAMES.get(stem, stem)


def augments(path: str) -> bool:
    """Whether the config's train pipeline has Mask Joints or Instance Paste."""
    pipeline = loader_dataset_cfg(Config.fromfile(path), 'train').pipeline
    return any(step.type in AUGMENTATIONS for step in pipeline)


def run_settings(
    cfg: Config, path: str, seed: int, args: argparse.Namespace, aug_prob: Optional[float]
) -> Dict[str, Any]:
    """What a run is trained and evaluated with, recorded in its result.json: the config's
    content (a hash of the final config, the run's work folder left out), its epochs, the
    data (root, image counts, variety), the seed and the augmentation probability."""
    content = cfg.to_dict()
    content.pop('work_dir', None)
    text = json.dumps(content, sort_keys=True, default=repr)
    return dict(
        config=osp.abspath(path),
        config_sha256=hashlib.sha256(text.encode()).hexdigest(),
        epochs=int(cfg.train_cfg.max_epochs),
        data_root=osp.abspath(args.data_root),
        num_images=[int(n) for n in args.num_images],
        variety=args.variety,
        seed=int(seed),
        aug_prob=aug_prob,
    )


def stale_reason(recorded: Optional[dict], settings: Dict[str, Any]) -> Optional[str]:
    """Why a stored result does not belong to ``settings`` (``None`` when it does)."""
    if not isinstance(recorded, dict):
        return 'it records no settings (written by an earlier version of this tool)'
    differ = [
        f'{key} {recorded.get(key)!r} -> {value!r}'
        for key, value in settings.items()
        if recorded.get(key) != value
    ]
    return '; '.join(differ) or None


def run_once(
    path: str, seed: int, args: argparse.Namespace, aug_prob: Optional[float] = None
) -> Dict[str, dict]:
    """Train one (config, seed[, aug_prob]) unless its result.json holds a run with the same
    settings (:func:`run_settings`); its metrics.

    A result of other settings is never reported: the tool stops naming the difference, or,
    with ``--rerun-stale``, keeps it as ``result.previous.json`` and trains again.
    """
    work_dir = osp.join(args.work_dir, osp.splitext(osp.basename(path))[0])
    if aug_prob is not None:
        work_dir = osp.join(work_dir, f'p{aug_prob:g}')
    work_dir = osp.join(work_dir, f'seed{seed}')
    result_file = osp.join(work_dir, 'result.json')
    cfg = experiment_cfg(path, args.data_root, work_dir, seed, args.epochs, aug_prob)
    settings = run_settings(cfg, path, seed, args, aug_prob)
    if osp.exists(result_file):
        stored = load_json(result_file)
        reason = stale_reason(stored.get('settings'), settings)
        if reason is None:
            return stored
        if not args.rerun_stale:
            raise SystemExit(
                f'{result_file} was trained with other settings ({reason}); its numbers do not '
                'belong to this ablation. Pass --rerun-stale to train it again (the old result '
                'is kept as result.previous.json) or choose another --work-dir.'
            )
        os.replace(result_file, osp.join(work_dir, 'result.previous.json'))
    checkpoint, minutes = train_cfg_once(cfg)
    result = dict(
        config=path,
        seed=seed,
        aug_prob=aug_prob,
        settings=settings,
        train_minutes=minutes,
        val=evaluate_split(cfg, checkpoint, 'val'),
        test=evaluate_split(cfg, checkpoint, 'test'),
    )
    # written atomically: a run counts as done only once its file is whole
    dump_json(result, result_file, indent=1)
    return result


def run_all(
    args: argparse.Namespace,
) -> Tuple[Dict[str, List[dict]], Dict[str, List[dict]], List[str]]:
    """Every run; the val rows (one per candidate probability), the test rows (the value
    chosen on val) and a line per choice."""
    val_rows: Dict[str, List[dict]] = {}
    test_rows: Dict[str, List[dict]] = {}
    choices = []
    for path in args.configs:
        name = row_name(path)
        if not args.aug_probs or not augments(path):
            val_rows[name] = test_rows[name] = [run_once(path, s, args) for s in args.seeds]
            continue
        candidates = {}
        for prob in args.aug_probs:
            candidates[prob] = [run_once(path, s, args, prob) for s in args.seeds]
            val_rows[f'{name} p={prob:g}'] = candidates[prob]
        if args.select not in candidates[args.aug_probs[0]][0]['val']:
            known = sorted(candidates[args.aug_probs[0]][0]['val'])
            raise SystemExit(f'--select {args.select!r} is not a val metric; one of {known}')
        score = {
            p: np.mean([r['val'][args.select] for r in runs]) for p, runs in candidates.items()
        }
        best = max(score, key=score.get)  # ties: the first candidate given
        test_rows[f'{name} (p={best:g})'] = candidates[best]
        tried = ', '.join(f'p={p:g}: {v:.3f}' for p, v in score.items())
        choices.append(f'{name} p={best:g} ({tried})')
    return val_rows, test_rows, choices


def _cell(values: Sequence[float]) -> str:
    values = np.asarray(values, dtype=np.float64)
    return f'{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}'


def table(
    results: Dict[str, List[dict]],
    split: str,
    keys: Sequence[str] = KEYS,
    delta_keys: Sequence[str] = DELTA_KEYS,
) -> str:
    """Markdown: mean ± std over seeds per row, and the paired difference to the first row."""
    rows = list(results)
    base = {r['seed']: r[split] for r in results[rows[0]]}
    header = ['row', 'seeds', *keys, *(f'Δ {k}' for k in delta_keys)]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for name in rows:
        runs = results[name]
        cells = [name, str(len(runs))]
        cells += [_cell([r[split][k] for r in runs]) if k in runs[0][split] else '-' for k in keys]
        for key in delta_keys:
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


def selected_rows(groups: Sequence[str]) -> List[Row]:
    """The rows of ``groups`` in order, each once (groups share their reference rows)."""
    rows: Dict[str, Row] = {}
    for group in groups:
        for row in ROW_GROUPS[group]:
            rows.setdefault(row.name, row)
    return list(rows.values())


def trained_base(args: argparse.Namespace) -> None:
    """The trained-base protocol: bases, rows, ``paired.md`` / ``.json`` / ``.png``."""
    schedule = Schedule(
        args.finetune_epochs,
        args.finetune_lr,
        args.opec_epochs,
        **{field: getattr(args, field) for field in LIMITED_OPTIONS},
    )
    rows = selected_rows(args.rows)
    if args.only_rows:
        unknown = sorted(set(args.only_rows) - {row.name for row in rows})
        if unknown:
            raise SystemExit(f'--only-rows {unknown}: not rows of --rows {args.rows}')
        rows = [row for row in rows if row.name in args.only_rows]
    runs: Dict[str, List[dict]] = {row.name: [] for row in rows}
    bases = {}
    for seed in args.seeds:
        base_seed = args.base_seeds[seed % len(args.base_seeds)] if args.base_seeds else seed
        if base_seed not in bases:
            bases[base_seed] = train_base(
                args.base_config, args.data_root, args.work_dir, base_seed, args.base_epochs
            )
        done: Dict[str, Optional[dict]] = {}
        for row in rows:
            done[row.name] = run_row(
                row, bases[base_seed], args.data_root, args.work_dir, seed, schedule,
                args.rerun_stale, trained=lambda name, _seed, kept=done: kept.get(name),
                train=not args.report_only,
            )  # fmt: skip
            if done[row.name] is not None:
                runs[row.name].append(done[row.name])
    runs = {name: results for name, results in runs.items() if results}
    references = {row.name: row.reference for row in rows}
    val = paired_rows(runs, references, 'val')
    test = paired_rows(runs, references, 'test', args.bootstrap)
    curves = {
        seed: [f'{p["epoch"]}: {p.get("coco/AP", float("nan")):.3f}' for p in base['curve']]
        for seed, base in bases.items()
    }
    report = [
        f'Trained-base protocol. Seeds {args.seeds} (bases: seeds {sorted(bases)}); '
        f'data {args.data_root} (variety '
        f'{args.variety!r}, {args.num_images} images); base {osp.basename(args.base_config)}, '
        f'{args.base_epochs} epochs; fine-tunes {schedule.finetune_epochs} epochs at lr '
        f'{schedule.finetune_lr:g} (cosine), OPEC-Net {schedule.opec_epochs} epochs at lr '
        f'{schedule.opec_lr:g}.'
        + (
            f' Data-limited rows: the first {schedule.limited_train_images} train images '
            f'(their own instance pool), {schedule.limited_epochs} epochs from scratch (the '
            f"baseline's recipe stretched) or {schedule.limited_finetune_epochs} from the base "
            f'(lr {schedule.finetune_lr:g}, cosine), val every {schedule.limited_val_interval}.'
            if any(row.limited for row in rows)
            else ''
        )
        + ' Δ = paired per-seed difference to the row named in "vs" '
        '(mean [95 % t interval over seeds]; over images: paired bootstrap, '
        f'{args.bootstrap} resamples).',
        '',
        'Base val AP by epoch: '
        + '; '.join(f'seed {s}: ' + ', '.join(c) for s, c in curves.items()),
        '',
        '**val** (for choices)',
        '',
        paired_table(val),
        '',
        '**test** (the report)',
        '',
        paired_table(test),
    ]
    occluded = paired_rows(runs, references, 'test_occluded', args.bootstrap)
    if occluded:
        report += [
            '',
            '**test, occluded copy** (the test crops with body-part patches drawn with one '
            "fixed seed for every run, the analogue of D-Slope's occluded validation set; "
            'labels and flags as in the clean test)',
            '',
            paired_table(occluded),
        ]
    row_curves = curve_table(runs)
    if row_curves:
        report += [
            '',
            '**val curves** of the data-limited rows (whether val fell while the train loss '
            "kept falling; the train loss is on each row's own augmented crops)",
            '',
            row_curves,
        ]
    shares = [f'{r["name"]}: {r["low_score_share"]:.3f}' for r in test if 'OPEC' in r['name']]
    if shares:
        report += ['', "Share of predicted test joints scored below 0.2 (what OPEC-Net's rule "
                   'replaces): ' + '; '.join(shares)]  # fmt: skip
    out_dir = args.report_dir or args.work_dir
    os.makedirs(out_dir, exist_ok=True)
    md_file = osp.join(out_dir, 'paired.md')
    with open(md_file, 'w') as f:
        f.write('\n'.join(report) + '\n')
    dump_json(dict(val=val, test=test, test_occluded=occluded, bases=bases, args=vars(args)),
              osp.join(out_dir, 'paired.json'), indent=1)  # fmt: skip
    plot_paired(test, osp.join(out_dir, 'paired.png'))
    plot_base_curves(bases, osp.join(out_dir, 'base_curves.png'))
    written = 'paired.json, paired.png, base_curves.png'
    if plot_row_curves(runs, osp.join(out_dir, 'row_curves.png')):
        written += ', row_curves.png'
    print('\n'.join(report))
    print(f'\nwrote {md_file}, {written}')


def main() -> None:
    args = parse_args()
    if args.device == 'cpu':
        # mmengine's Runner takes a GPU whenever one is visible; before any CUDA call
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    torch.set_num_threads(args.threads)
    for line in generate_demo_data(args.data_root, args.num_images, variety=args.variety):
        print(line)
    if args.protocol == 'trained-base':
        trained_base(args)
        return
    val_results, test_results, choices = run_all(args)

    report = [
        "From-scratch protocol (not any paper's: every row trained from scratch). "
        f'Seeds {args.seeds}; data {args.data_root} (variety {args.variety!r}, '
        f'{args.num_images} images); first row = '
        'baseline, Δ = paired per-seed difference to it (mean ± std).',
        '',
        '**val** (for choices)',
        '',
        table(val_results, 'val'),
        '',
        '**test** (the report)',
        '',
        table(test_results, 'test'),
    ]
    if choices:
        report += ['', f'Chosen on val (best mean {args.select}): ' + '; '.join(choices)]
    os.makedirs(args.work_dir, exist_ok=True)
    md_file = osp.join(args.work_dir, 'ablation.md')
    with open(md_file, 'w') as f:
        f.write('\n'.join(report) + '\n')
    plot(test_results, osp.join(args.work_dir, 'ablation.png'))
    print('\n'.join(report))
    print(f'\nwrote {md_file} and ablation.png')


if __name__ == '__main__':
    main()
