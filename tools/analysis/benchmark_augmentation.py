# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Per-sample cost of DAG's augmentations (MaskJoints, InstancePaste) against the stock
top-down training pipeline, measured side by side in one process on one core.

The stock pipeline is mmpose's top-down recipe: ``LoadImage``, ``GetBBoxCenterScale``,
``RandomFlip``, ``RandomHalfBody``, ``RandomBBoxTransform``, ``TopdownAffine`` and
``GenerateTarget(MSRAHeatmap)``, run from the annotation of a generated 640x480 JPEG
(``dag_mmpose.benchmark.synthetic``), image decoding included. ``MaskJoints`` and
``InstancePaste`` are timed on their own, on the crop that ``TopdownAffine`` produced for
the same sample, with ``prob=1`` (the cost of a sample they are applied to; at the release
``prob=0.5`` the average cost is about half). ``InstancePaste`` uses a pool cut from the
generated data with :func:`~dag_mmpose.datasets.instance_pool.build_instance_pool`; it is
skipped with a message when that module is missing or no person passes its filters. The
*DAG pipeline* columns run the stock pipeline with both inserted after ``TopdownAffine``,
end to end, and give the time added to the stock pipeline (median over the rounds of the
difference within a round): with ``prob=1`` (a cross-check of the sum) and with
``prob=0.5`` for both (MaskJoints' release value and InstancePaste's default: the average
cost in training). Differences of two totals, they scatter more than the isolated timings.

Each round times every sample once with every variant, the order of the variants rotating
from round to round, so slow drifts of a shared machine hit all alike; the table gives the
median over the rounds of the mean per-sample time and, in brackets, the time as a
fraction of the stock pipeline's. ``torch`` and OpenCV are limited to one
thread and, where the OS allows, the process is pinned to one CPU.

Example::

    python tools/analysis/benchmark_augmentation.py --rounds 30
"""

import argparse
import copy
import gc
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmpose.datasets import CocoDataset
from mmpose.registry import TRANSFORMS

import dag_mmpose  # noqa: F401  (registers MaskJoints and InstancePaste)
from dag_mmpose.benchmark.synthetic import generate_coco_style

# name: (input size (w, h), heatmap size (W, H), sigma) as in mmpose's HRNet recipes
SETTINGS: Dict[str, Tuple[Tuple[int, int], Tuple[int, int], float]] = {
    '256x192': ((192, 256), (48, 64), 2.0),
    '384x288': ((288, 384), (72, 96), 3.0),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time MaskJoints and InstancePaste against the stock top-down pipeline'
    )
    parser.add_argument('--num-images', type=int, default=8, help='generated images')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=[640, 480],
        metavar=('W', 'H'),
        help='size of the generated images',
    )
    parser.add_argument('--rounds', type=int, default=20, help='timed rounds')
    parser.add_argument('--warmup', type=int, default=2, help='untimed rounds')
    parser.add_argument(
        '--settings',
        nargs='+',
        default=list(SETTINGS),
        choices=list(SETTINGS),
        help='input sizes to run',
    )
    parser.add_argument('--seed', type=int, default=0, help='seed of data and draws')
    parser.add_argument('--no-pin', action='store_true', help='do not pin to one CPU')
    return parser.parse_args()


def _one_core(pin: bool) -> str:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if pin and hasattr(os, 'sched_setaffinity'):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f'pinned to CPU {cpu}'
    return 'not pinned'


def _build_pool(root: str, ann_file: str, img_dir: str) -> Tuple[Optional[str], str]:
    """(pool folder or None, message)."""
    try:
        from dag_mmpose.datasets import build_instance_pool
        from dag_mmpose.datasets.transforms import InstancePaste  # noqa: F401
    except ImportError as e:
        return None, f'InstancePaste skipped: not importable ({e})'
    try:
        # the generated people overlap a lot and are small next to COCO's: loose filters
        summary = build_instance_pool(
            ann_file,
            img_dir,
            os.path.join(root, 'pool'),
            min_area=1024,
            max_overlap=0.5,
            progress=False,
        )
    except ValueError as e:
        return None, f'InstancePaste skipped: no pool ({e})'
    return summary['out_dir'], f'InstancePaste pool: {summary["num_kept"]} people'


def _pipeline(cfgs: Sequence[dict]) -> List[Callable]:
    return [TRANSFORMS.build(cfg) for cfg in cfgs]


def _run(transforms: Sequence[Callable], results: dict) -> dict:
    for t in transforms:
        results = t(results)
    return results


def _stock_cfgs(setting: str) -> Tuple[List[dict], List[dict]]:
    """(transforms up to TopdownAffine, GenerateTarget)."""
    input_size, heatmap_size, sigma = SETTINGS[setting]
    head = [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='RandomFlip', direction='horizontal'),
        dict(type='RandomHalfBody'),
        dict(type='RandomBBoxTransform'),
        dict(type='TopdownAffine', input_size=input_size),
    ]
    codec = dict(type='MSRAHeatmap', input_size=input_size, heatmap_size=heatmap_size, sigma=sigma)
    return head, [dict(type='GenerateTarget', encoder=codec)]


def bench_setting(
    setting: str, infos: List[dict], pool: Optional[str], args: argparse.Namespace
) -> Dict[str, float]:
    """Median per-sample milliseconds of each variant."""
    head_cfgs, tail_cfgs = _stock_cfgs(setting)
    head, tail = _pipeline(head_cfgs), _pipeline(tail_cfgs)
    mask = TRANSFORMS.build(dict(type='MaskJoints', prob=1.0))
    release = [TRANSFORMS.build(dict(type='MaskJoints', prob=0.5))]
    paste = None
    if pool is not None:
        paste = TRANSFORMS.build(dict(type='InstancePaste', pool=pool, prob=1.0))
        release.append(TRANSFORMS.build(dict(type='InstancePaste', pool=pool, prob=0.5)))

    # crops for the isolated timings, made once: the same samples the pipelines see
    np.random.seed(args.seed)
    crops = [_run(head, copy.deepcopy(info)) for info in infos]
    dag = head + [mask] + ([paste] if paste is not None else []) + tail
    dag_release = head + release + tail

    inputs: List[dict] = []  # fresh sample dicts of a pipeline variant, made untimed
    variants: Dict[str, Callable[[int], None]] = {
        'stock': lambda i: _run(head + tail, inputs[i]),
        'MaskJoints': lambda i: mask(dict(crops[i])),
    }
    if paste is not None:
        variants['InstancePaste'] = lambda i: paste(dict(crops[i]))
        variants['DAG pipeline'] = lambda i: _run(dag, inputs[i])
    variants['DAG pipeline p=0.5'] = lambda i: _run(dag_release, inputs[i])

    names = list(variants)
    per_round: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(args.warmup + args.rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            inputs[:] = [copy.deepcopy(info) for info in infos]
            gc.collect()
            run = variants[name]
            start = time.perf_counter()
            for i in range(len(infos)):
                run(i)
            elapsed = (time.perf_counter() - start) * 1e3 / len(infos)
            if r >= args.warmup:
                per_round[name].append(elapsed)
    medians = {name: statistics.median(times) for name, times in per_round.items()}
    for name in ('DAG pipeline', 'DAG pipeline p=0.5'):
        if name in per_round:
            medians[name + ' added'] = statistics.median(
                a - b for a, b in zip(per_round[name], per_round['stock'])
            )
    return medians


def _cell(value: Optional[float], stock: float) -> str:
    """``ms (+% of the stock pipeline)``."""
    if value is None:
        return 'n/a'
    return f'{value:.2f} ({100 * value / stock:+.1f} %)'


def main() -> None:
    args = parse_args()
    pinned = _one_core(not args.no_pin)
    init_default_scope('mmpose')
    with tempfile.TemporaryDirectory() as root:
        ann_file = generate_coco_style(
            root,
            num_images=args.num_images,
            split='train',
            seed=args.seed,
            img_size=tuple(args.img_size),
        )
        img_dir = os.path.join(root, 'images', 'train')
        dataset = CocoDataset(
            ann_file=ann_file, data_mode='topdown', data_prefix=dict(img=img_dir + '/'), pipeline=[]
        )
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        pool, pool_msg = _build_pool(root, ann_file, img_dir)

        rows = [(setting, bench_setting(setting, infos, pool, args)) for setting in args.settings]

    print(
        f'{len(infos)} samples from {args.num_images} generated '
        f'{args.img_size[0]}x{args.img_size[1]} JPEGs; {pool_msg}; torch threads '
        f'{torch.get_num_threads()}, OpenCV threads {cv2.getNumThreads()}, {pinned}; '
        f'median over {args.rounds} rounds of the mean per-sample time; MaskJoints and '
        'InstancePaste at prob=1'
    )
    header = (
        'input',
        'stock ms',
        'MaskJoints ms (+%)',
        'InstancePaste ms (+%)',
        'both ms (+%)',
        'DAG pipeline, added ms (+%)',
        'DAG pipeline p=0.5, added ms (+%)',
    )
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join('---' for _ in header) + '|')
    for setting, ms in rows:
        stock = ms['stock']
        both = ms['MaskJoints'] + ms.get('InstancePaste', 0.0)
        print(
            f'| {setting} | {stock:.2f} | {_cell(ms["MaskJoints"], stock)} | '
            f'{_cell(ms.get("InstancePaste", None), stock)} | {_cell(both, stock)} | '
            f'{_cell(ms.get("DAG pipeline added", None), stock)} | '
            f'{_cell(ms["DAG pipeline p=0.5 added"], stock)} |'
        )


if __name__ == '__main__':
    main()
