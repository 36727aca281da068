# Copyright (c) dag_mmpose contributors. All rights reserved.
"""How sure a measured difference is: paired intervals over seeds, the minimum detectable
effect of a setup, and paired bootstrap intervals over test images.

The per-image records come from ``OccludedKeypointMetric(per_image_file=...)``. With every
image counted once, :func:`image_figures` gives the metric's own ``occ/AP``, ``occ/OKS`` and
``vis/OKS`` (the AP recomputed from the saved evaluation as ``COCOeval.accumulate`` does,
so that a resample of the images, each counted as often as it is drawn, needs no new
evaluation)."""

from typing import Dict, Optional, Sequence

import numpy as np
from scipy import stats

__all__ = [
    'BOOTSTRAP_KEYS',
    'bootstrap_paired',
    'image_figures',
    'load_per_image',
    'min_detectable_effect',
    'paired_interval',
]

# the figures :func:`image_figures` recomputes from the per-image records
BOOTSTRAP_KEYS = ('occ/AP', 'occ/OKS', 'vis/OKS')
# COCOeval's recall thresholds
_RECALL = np.linspace(0.0, 1.00, 101)


def paired_interval(differences: Sequence[float], confidence: float = 0.95) -> Dict[str, float]:
    """Mean of paired differences with its t interval: ``mean``, ``low``, ``high``, ``sd``
    (sample standard deviation) and ``n``. One difference has no interval (``nan``)."""
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 1 or not len(d):
        raise ValueError(f'paired_interval needs a 1-d list of differences, got shape {d.shape}')
    mean = float(d.mean())
    if len(d) < 2:
        return dict(mean=mean, low=np.nan, high=np.nan, sd=np.nan, n=1)
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(d) - 1)) * sd / np.sqrt(len(d))
    return dict(mean=mean, low=mean - half, high=mean + half, sd=sd, n=len(d))


def min_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true paired difference a two-sided paired t-test at ``alpha`` finds with
    probability ``power``, given the spread ``sd`` of the differences over ``n`` pairs:
    ``(t(1 - alpha/2) + t(power)) * sd / sqrt(n)``, t with ``n - 1`` degrees of freedom.
    ``nan`` below two pairs."""
    if n < 2 or not np.isfinite(sd):
        return float('nan')
    dof = n - 1
    return float((stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof)) * sd / np.sqrt(n))


def load_per_image(path: str) -> Dict[str, np.ndarray]:
    """The records ``OccludedKeypointMetric(per_image_file=path)`` wrote."""
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def _weights(records: Dict[str, np.ndarray], key: str, counts: np.ndarray) -> np.ndarray:
    """Each row of ``records[key]`` (image id first) weighted by its image's count; ``counts``
    is aligned with the sorted image ids. The row-to-image index is computed once."""
    cache = records.setdefault('_image_index', {})
    if key not in cache:
        cache[key] = np.searchsorted(np.sort(records['img_ids']), records[key][:, 0])
    return counts[cache[key]]


def _accumulated_ap(records: Dict[str, np.ndarray], counts: np.ndarray) -> float:
    """``occ/AP`` with the ``i``-th image counted ``counts[i]`` times (COCOeval.accumulate at area
    'all': detections sorted by score, 101-point interpolated precision, mean over the OKS
    thresholds; 0 where no detection reaches a recall threshold)."""
    dets, gts = records['occ_dets'], records['occ_gts']
    num_thrs = len(records['iou_thrs'])
    gt_weight = _weights(records, 'occ_gts', counts)
    positives = float((gt_weight * (gts[:, 1] == 0)).sum())
    if positives == 0:
        return 0.0
    order = np.argsort(-dets[:, 1], kind='mergesort')
    dets = dets[order]
    weight = _weights(records, 'occ_dets', counts)[order]
    precision = np.zeros((num_thrs, len(_RECALL)))
    for t in range(num_thrs):
        matched = dets[:, 2 + t] > 0
        ignored = dets[:, 2 + num_thrs + t] > 0
        tp = np.cumsum(weight * (matched & ~ignored))
        fp = np.cumsum(weight * (~matched & ~ignored))
        recall = tp / positives
        prec = tp / (tp + fp + np.spacing(1))
        # the precision envelope, as COCOeval's backward pass
        prec = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
        index = np.searchsorted(recall, _RECALL, side='left')
        valid = index < len(prec)
        precision[t, valid] = prec[index[valid]]
    return float(precision.mean())


def image_figures(
    records: Dict[str, np.ndarray], counts: Optional[np.ndarray] = None
) -> Dict[str, float]:
    """``occ/AP``, ``occ/OKS`` and ``vis/OKS`` with the ``i``-th image (by sorted id) counted
    ``counts[i]`` times (every image once by default: the metric's own figures)."""
    if counts is None:
        counts = np.ones(len(records['img_ids']))
    joints = records['joints']
    weight = _weights(records, 'joints', counts)
    figures = {'occ/AP': _accumulated_ap(records, counts)}
    for name, keep in (
        ('occ/OKS', np.isin(joints[:, 1], records['occluded_flags'])),
        ('vis/OKS', joints[:, 1] == 2),
    ):
        total = float((weight * keep).sum())
        figures[name] = float((weight * keep * joints[:, 5]).sum() / total) if total else np.nan
    return figures


def bootstrap_paired(
    records: Sequence[Dict[str, np.ndarray]],
    references: Sequence[Dict[str, np.ndarray]],
    num_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Dict[str, Dict[str, float]]:
    """Paired bootstrap over test images of ``row - reference`` (per figure of
    :data:`BOOTSTRAP_KEYS`: ``mean``, ``low``, ``high``). Each record is one seed's run and
    its reference's run of the same seed on the same images; one resample draws the images
    with replacement and uses the same draw for every seed, so the interval is that of the
    mean over seeds for these test images.

    Raises:
        ValueError: The lists differ in length or a pair was evaluated on other images.
    """
    if len(records) != len(references) or not records:
        raise ValueError(
            f'bootstrap_paired needs one reference per record, got {len(records)} records and '
            f'{len(references)} references'
        )
    images = records[0]['img_ids']
    for rec in (*records, *references):
        if not np.array_equal(np.sort(rec['img_ids']), np.sort(images)):
            raise ValueError('bootstrap_paired: the runs were evaluated on different images')

    def mean_difference(counts):
        rows = [image_figures(r, counts) for r in records]
        refs = [image_figures(r, counts) for r in references]
        return {k: float(np.mean([a[k] - b[k] for a, b in zip(rows, refs)])) for k in rows[0]}

    observed = mean_difference(None)
    rng = np.random.default_rng(seed)
    draws = {k: [] for k in observed}
    for _ in range(num_samples):
        drawn = rng.integers(0, len(images), len(images))
        counts = np.bincount(drawn, minlength=len(images)).astype(np.float64)
        for key, value in mean_difference(counts).items():
            draws[key].append(value)
    tail = (1 - confidence) / 2 * 100
    return {
        key: dict(
            mean=observed[key],
            low=float(np.nanpercentile(draws[key], tail)),
            high=float(np.nanpercentile(draws[key], 100 - tail)),
        )
        for key in observed
    }
