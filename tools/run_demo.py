# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The main job: generate occluded-pose data, evaluate untrained, train, evaluate, print AP.

Runs on 2 CPU cores in a few minutes with no download::

    python tools/run_demo.py                       # the DAG demo config
    # ... and the plain baseline, trained the same way:
    python tools/run_demo.py --compare \
        configs/demo/td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py

Every run trains from scratch in ``--work-dir`` (one sub-folder per config).
"""

import argparse
import os.path as osp
from typing import List

import torch

from dag_mmpose.benchmark.experiments import evaluate_split, experiment_cfg, train_cfg_once
from dag_mmpose.benchmark.synthetic import VARIETIES, generate_demo_data

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(
    REPO, 'configs', 'demo', 'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py'
)
# CocoMetric's AP / AR, and OccludedKeypointMetric's PCK of occluded / visible joints
METRICS = ('AP', 'AP .5', 'AP .75', 'AR', 'occ/PCK@0.1', 'vis/PCK@0.1', 'occ/AP')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='demo config to train')
    parser.add_argument('--compare', nargs='*', default=[], help='further configs to train')
    parser.add_argument('--data-root', default='data/synthetic_coco', help='generated data')
    parser.add_argument(
        '--num-images', type=int, nargs=3, default=[600, 100, 100], metavar=('TRAIN', 'VAL', 'TEST')
    )
    parser.add_argument(
        '--variety',
        choices=VARIETIES,
        default='upright',
        help="generated people: 'upright' (the fast setting, default) or 'full' (the benchmark)",
    )
    parser.add_argument('--epochs', type=int, help='override train_cfg.max_epochs')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    return parser.parse_args()


def run(path: str, args: argparse.Namespace) -> List[tuple]:
    name = osp.splitext(osp.basename(path))[0]
    cfg = experiment_cfg(
        path, args.data_root, osp.join(args.work_dir, name), args.seed, args.epochs
    )
    untrained = evaluate_split(cfg)
    checkpoint, minutes = train_cfg_once(cfg)
    trained = evaluate_split(cfg, checkpoint)
    return [(f'{name} (untrained)', untrained, None), (f'{name} (trained)', trained, minutes)]


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    for line in generate_demo_data(
        args.data_root, args.num_images, seed=args.seed, variety=args.variety
    ):
        print(line)
    rows = []
    for path in [args.config, *args.compare]:
        rows += run(path, args)

    width = max(len(row[0]) for row in rows)
    header = f'{"model":<{width}} | ' + ' | '.join(f'{m:>6}' for m in METRICS) + ' | train min'
    print(
        '\nCocoMetric and OccludedKeypointMetric on the generated test split (ground-truth boxes)'
    )
    print(header)
    print('-' * len(header))
    for label, metrics, minutes in rows:
        cells = ' | '.join(f'{metrics[m]:{max(len(m), 6)}.3f}' for m in METRICS)
        spent = f'{minutes:9.1f}' if minutes is not None else f'{"-":>9}'
        print(f'{label:<{width}} | {cells} | {spent}')


if __name__ == '__main__':
    main()
