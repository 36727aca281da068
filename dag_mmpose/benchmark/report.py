# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Tables and the plot of the trained-base protocol: per row its paired difference to its
reference with a 95 % interval over seeds and over test images, and the setup's minimum
detectable effect (:mod:`.stats`)."""

from typing import Dict, List, Optional, Sequence

import numpy as np

from .stats import (
    BOOTSTRAP_KEYS,
    bootstrap_paired,
    load_per_image,
    min_detectable_effect,
    paired_interval,
)

__all__ = [
    'DIFF_KEYS',
    'curve_table',
    'paired_rows',
    'paired_table',
    'plot_base_curves',
    'plot_paired',
    'plot_row_curves',
]

# the figures whose paired differences the table gives
DIFF_KEYS = ('AP', 'occ/AP', 'occ/OKS', 'vis/OKS')


def _records_key(split: str) -> str:
    """The result key of a split's per-image records (``test``: ``per_image``)."""
    return 'per_image' if split == 'test' else f'per_image_{split}'


def _low_score_share(results: List[dict]) -> float:
    low = total = 0.0
    for result in results:
        records = load_per_image(result['per_image'])['low_scores']
        low += records[:, 1].sum()
        total += records[:, 2].sum()
    return low / total if total else float('nan')


def paired_rows(
    runs: Dict[str, List[dict]],
    references: Dict[str, Optional[str]],
    split: str = 'test',
    bootstrap_samples: int = 1000,
) -> List[dict]:
    """Per row: mean figures, and for each of :data:`DIFF_KEYS` the paired difference to its
    reference (``mean``, ``low``, ``high`` over seeds; ``mde``), with (splits with per-image
    records: ``test``, ``test_occluded``) the bootstrap interval over images of
    :data:`BOOTSTRAP_KEYS`, and (test) the share of predicted joints scored below the
    occlusion metric's ``keypoint_score_thr``. Rows pair by seed; a seed missing from the
    reference is left out of the difference; runs without the split are left out."""
    first = next(iter(runs))
    rows = []
    key_of_records = _records_key(split)
    runs = {n: [r for r in rs if split in r] for n, rs in runs.items()}
    runs = {n: rs for n, rs in runs.items() if rs}
    if first not in runs:
        first = next(iter(runs), None)
    for name, results in runs.items():
        row = dict(name=name, seeds=[r['seed'] for r in results], figures={}, diff={})
        for key in DIFF_KEYS:
            values = [r[split][key] for r in results if key in r[split]]
            row['figures'][key] = float(np.mean(values)) if values else float('nan')
        ref_name = references.get(name) or first
        # a reference row, or one whose reference is not in the table, has no difference
        row['reference'] = None if ref_name == name or ref_name not in runs else ref_name
        if split == 'test':
            row['low_score_share'] = _low_score_share(results)
        if row['reference'] is None:
            rows.append(row)
            continue
        ref = {r['seed']: r for r in runs[ref_name]}
        pairs = [(r, ref[r['seed']]) for r in results if r['seed'] in ref]
        row['paired_seeds'] = [r['seed'] for r, _ in pairs]
        for key in DIFF_KEYS:
            if not pairs or key not in pairs[0][0][split]:
                continue
            summary = paired_interval([a[split][key] - b[split][key] for a, b in pairs])
            summary['mde'] = min_detectable_effect(summary['sd'], summary['n'])
            row['diff'][key] = summary
        if pairs and all(key_of_records in r for pair in pairs for r in pair):
            boot = bootstrap_paired(
                [load_per_image(a[key_of_records]) for a, _ in pairs],
                [load_per_image(b[key_of_records]) for _, b in pairs],
                num_samples=bootstrap_samples,
            )
            for key in BOOTSTRAP_KEYS:
                row['diff'].setdefault(key, {})['bootstrap'] = boot[key]
        rows.append(row)
    return rows


def _interval(summary: dict) -> str:
    if not summary:
        return '-'
    if not np.isfinite(summary.get('low', np.nan)):
        return f'{summary["mean"]:+.3f}'
    return f'{summary["mean"]:+.3f} [{summary["low"]:+.3f}, {summary["high"]:+.3f}]'


def paired_table(rows: Sequence[dict], keys: Sequence[str] = DIFF_KEYS) -> str:
    """Markdown: figures, then per key ``Δ [95 % over seeds]``, the bootstrap interval over
    test images where there is one, and the row's minimum detectable effect for ``AP`` and
    ``occ/AP``; the last line gives each key's MDE over the rows (median, range)."""
    header = ['row', 'vs', 'seeds', *keys]
    header += [f'Δ {k} [95 % seeds]' for k in keys]
    header += [f'Δ {k} [95 % images]' for k in BOOTSTRAP_KEYS if k in keys]
    header += ['MDE AP / occ/AP']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    mdes = {k: [] for k in keys}
    for row in rows:
        cells = [row['name'], row['reference'] or '-', str(len(row['seeds']))]
        cells += [f'{row["figures"].get(k, np.nan):.3f}' for k in keys]
        for key in keys:
            summary = row['diff'].get(key, {})
            cells.append(_interval(summary) if 'mean' in summary else '-')
            if np.isfinite(summary.get('mde', np.nan)):
                mdes[key].append(summary['mde'])
        for key in BOOTSTRAP_KEYS:
            if key in keys:
                boot = row['diff'].get(key, {}).get('bootstrap')
                cells.append(_interval(boot) if boot else '-')
        own = [row['diff'].get(k, {}).get('mde', np.nan) for k in ('AP', 'occ/AP')]
        cells.append(' / '.join(f'{v:.3f}' for v in own) if np.isfinite(own).all() else '-')
        lines.append('| ' + ' | '.join(cells) + ' |')
    mde = ', '.join(
        f'{k} {np.median(v):.3f} ({min(v):.3f}-{max(v):.3f})' if v else f'{k} n/a (one seed)'
        for k, v in mdes.items()
    )
    lines += [
        '',
        'Minimum detectable effect (MDE: the true paired difference a 5 % two-sided paired '
        f't-test finds with 80 % power; median and range over the rows): {mde}.',
    ]
    return '\n'.join(lines)


def plot_paired(rows: Sequence[dict], out_file: str, keys: Sequence[str] = DIFF_KEYS) -> None:
    """One panel per key: each row's paired difference with its 95 % interval over seeds
    (blue) and over test images (orange, where computed) against zero; the grey bar above
    each row spans ± its minimum detectable effect."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r['diff']]
    y = np.arange(len(rows))[::-1]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys) + 2, 0.45 * len(rows) + 1.6),
                             sharey=True)  # fmt: skip
    for ax, key in zip(np.atleast_1d(axes), keys):
        ax.axvline(0, color='k', lw=0.8)
        for yi, row in zip(y, rows):
            summary = row['diff'].get(key)
            if not summary or 'mean' not in summary:
                continue
            low, high = summary.get('low', np.nan), summary.get('high', np.nan)
            if np.isfinite(low):
                ax.errorbar(summary['mean'], yi, xerr=[[summary['mean'] - low],
                            [high - summary['mean']]], fmt='o', color='C0', capsize=3)  # fmt: skip
            else:
                ax.plot(summary['mean'], yi, 'o', color='C0')
            boot = summary.get('bootstrap')
            if boot:
                ax.plot([boot['low'], boot['high']], [yi - 0.2] * 2, color='C1', lw=2)
            if np.isfinite(summary.get('mde', np.nan)):
                ax.plot([-summary['mde'], summary['mde']], [yi + 0.25] * 2, color='0.6', lw=4,
                        alpha=0.6)  # fmt: skip
        ax.set_title(f'Δ {key}', fontsize=9)
    np.atleast_1d(axes)[0].set_yticks(y, [f'{r["name"]} vs {r["reference"]}' for r in rows],
                                      fontsize=7)  # fmt: skip
    fig.suptitle('paired difference, 95 % over seeds (blue) and over test images (orange); '
                 'grey: ± the row\'s minimum detectable effect',
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def plot_base_curves(bases: Dict[int, dict], out_file: str) -> None:
    """Each base's val AP and occ/AP (left) and mean train loss (right) per epoch."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for seed, base in sorted(bases.items()):
        curve = base['curve']
        epochs = [p['epoch'] for p in curve]
        line = left.plot(epochs, [p.get('coco/AP', np.nan) for p in curve],
                         label=f'seed {seed}: AP')[0]  # fmt: skip
        left.plot(epochs, [p.get('occ/AP', np.nan) for p in curve], '--',
                  color=line.get_color(), label=f'seed {seed}: occ/AP')  # fmt: skip
        right.plot(epochs, [p['train_loss'] for p in curve], color=line.get_color(),
                   label=f'seed {seed}')  # fmt: skip
    left.set(xlabel='epoch', title='base: val AP (solid) and occ/AP (dashed)')
    right.set(xlabel='epoch', title='base: mean train loss')
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def _with_curves(runs: Dict[str, List[dict]]) -> Dict[str, List[dict]]:
    """The rows whose every run was trained with a val curve."""
    return {n: rs for n, rs in runs.items() if rs and all('curve' in r for r in rs)}


def _mean_curves(results: List[dict]) -> Dict[str, np.ndarray]:
    """Epochs and the seeds' mean val AP, occ/AP and train loss of runs with one curve each
    (the epochs all runs share)."""
    epochs = sorted(set.intersection(*({p['epoch'] for p in r['curve']} for r in results)))
    out = {'epoch': np.asarray(epochs)}
    for key in ('coco/AP', 'occ/AP', 'train_loss'):
        out[key] = np.asarray(
            [
                np.mean(
                    [p.get(key, np.nan) for r in results for p in r['curve'] if p['epoch'] == e]
                )
                for e in epochs
            ]
        )
    return out


def curve_table(runs: Dict[str, List[dict]]) -> str:
    """Markdown: for each row trained with a val curve (the data-limited rows), the seeds'
    mean val AP and train loss at every val pass, and the epoch of the highest val AP against
    the last, i.e. whether val fell while the train loss kept falling."""
    runs = _with_curves(runs)
    if not runs:
        return ''
    lines = []
    for name, results in runs.items():
        mean = _mean_curves(results)
        best = int(np.nanargmax(mean['coco/AP']))
        points = ', '.join(
            f'{e}: {ap:.3f} / {loss * 1e3:.2f}'
            for e, ap, loss in zip(mean['epoch'], mean['coco/AP'], mean['train_loss'])
        )
        lines.append(
            f'- {name} ({len(results)} seeds): highest val AP {mean["coco/AP"][best]:.3f} at '
            f'epoch {mean["epoch"][best]}, last {mean["coco/AP"][-1]:.3f} at epoch '
            f'{mean["epoch"][-1]} (Δ {mean["coco/AP"][-1] - mean["coco/AP"][best]:+.3f}); train '
            f'loss (x 1e-3) {mean["train_loss"][best] * 1e3:.2f} -> '
            f'{mean["train_loss"][-1] * 1e3:.2f}. Epoch: val AP / train loss (x 1e-3): {points}'
        )
    return '\n'.join(lines)


def plot_row_curves(runs: Dict[str, List[dict]], out_file: str) -> bool:
    """Rows trained with a val curve: the seeds' mean val AP (solid) and occ/AP (dashed, left)
    and mean train loss (right) per val pass; ``False`` (and no file) when no row has one."""
    runs = _with_curves(runs)
    if not runs:
        return False
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, results in runs.items():
        mean = _mean_curves(results)
        line = left.plot(mean['epoch'], mean['coco/AP'], label=f'{name}: AP')[0]
        left.plot(mean['epoch'], mean['occ/AP'], '--', color=line.get_color())
        right.plot(mean['epoch'], mean['train_loss'], color=line.get_color(), label=name)
    left.set(xlabel='epoch', title='val AP (solid), occ/AP (dashed); mean over seeds')
    right.set(xlabel='epoch', title='mean train loss since the previous val pass', yscale='log')
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return True
