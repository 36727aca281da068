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
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from dag_mmpose.testing.synthetic import generate_demo_data
from dag_mmpose.utils import use_demo_data

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
    parser.add_argument('--epochs', type=int, help='override train_cfg.max_epochs')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    return parser.parse_args()


def load_cfg(path: str, args: argparse.Namespace, name: str) -> Config:
    cfg = Config.fromfile(path)
    use_demo_data(cfg, args.data_root)
    if args.epochs is not None:
        cfg.train_cfg.max_epochs = args.epochs
        cfg.train_cfg.val_interval = args.epochs
    # The test split is evaluated after training; a val pass as well would only cost time.
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = osp.join(args.work_dir, name)
    cfg.default_hooks.checkpoint.save_best = None
    cfg.default_hooks.checkpoint.interval = cfg.train_cfg.max_epochs
    return cfg


def evaluate(cfg: Config, checkpoint: str = None) -> Dict[str, float]:
    """Test split AP of the model in ``cfg`` (freshly initialized when no checkpoint)."""
    cfg = cfg.copy()
    cfg.load_from = checkpoint
    cfg.work_dir = osp.join(cfg.work_dir, 'test_trained' if checkpoint else 'test_untrained')
    metrics = Runner.from_cfg(cfg).test()
    # 'coco/AP' -> 'AP'; the occlusion metric's keys ('occ/PCK@0.1') have no prefix
    return {
        key[len('coco/') :] if key.startswith('coco/') else key: v for key, v in metrics.items()
    }


def run(path: str, args: argparse.Namespace) -> List[tuple]:
    name = osp.splitext(osp.basename(path))[0]
    cfg = load_cfg(path, args, name)
    untrained = evaluate(cfg)
    start = time.time()
    runner = Runner.from_cfg(cfg.copy())
    runner.train()
    minutes = (time.time() - start) / 60
    checkpoint = osp.join(cfg.work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    trained = evaluate(cfg, checkpoint)
    return [(f'{name} (untrained)', untrained, None), (f'{name} (trained)', trained, minutes)]


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    for line in generate_demo_data(args.data_root, args.num_images, seed=args.seed):
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
