# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Test (and evaluate) a pose model (same arguments as mmpose's tools/test.py).

Example:
    python tools/test.py CONFIG CHECKPOINT --out metrics.json --show-dir vis/
    # initial (base head) and GCN-refined pose of a DAG model drawn together
    python tools/test.py CONFIG CHECKPOINT --show-refinement --show-dir vis_refinement/
"""

import argparse
import os
import os.path as osp
from typing import Optional

import mmengine
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dag_mmpose.utils.launch import setup_cpu_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a pose model (dag_mmpose)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory to save evaluation logs')
    parser.add_argument('--out', help='file (.json/.yaml/.pkl) to save the metric results')
    parser.add_argument('--dump', help='dump predictions to this .pkl for offline evaluation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. test_dataloader.batch_size=8)',
    )
    parser.add_argument('--show-dir', help='directory to save visualised predictions')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument(
        '--show-refinement',
        action='store_true',
        help='draw the initial (base head) and the GCN-refined pose of an FGMHGCNHead model '
        'together, into --show-dir instead of the plain predictions (default folder: '
        'vis_refinement; relative folders go under <work_dir>/<timestamp>/ as --show-dir)',
    )
    parser.add_argument('--interval', type=int, default=1, help='visualise every N samples')
    parser.add_argument('--wait-time', type=float, default=1, help='seconds per shown window')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Fold the command-line arguments into the config."""
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    # with --show-refinement the refinement drawings take --show-dir's place
    plain_show_dir = None if args.show_refinement else args.show_dir
    if args.show or plain_show_dir is not None:
        if 'visualization' not in cfg.default_hooks:
            raise KeyError(
                '--show/--show-dir need default_hooks.visualization='
                'dict(type="PoseVisualizationHook") in the config'
            )
        cfg.default_hooks.visualization.enable = True
        cfg.default_hooks.visualization.show = args.show
        if args.show:
            cfg.default_hooks.visualization.wait_time = args.wait_time
        cfg.default_hooks.visualization.out_dir = plain_show_dir
        cfg.default_hooks.visualization.interval = args.interval

    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must name a .pkl file, got {args.dump!r}')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = (
            [*evaluators, dump] if isinstance(evaluators, (list, tuple)) else [evaluators, dump]
        )

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.show_refinement:
        add_refinement_visualization(cfg, args.show_dir, args.interval)
    return cfg


def add_refinement_visualization(cfg: Config, out_dir: Optional[str], interval: int) -> None:
    """Make the FGMH-GCN head output its initial pose and draw it with the refined one.

    Raises:
        ValueError: When the model head is not ``FGMHGCNHead`` or refinement is off.
    """
    head = cfg.model.get('head') or {}
    head_type = head.get('type')
    head_name = (
        head_type if isinstance(head_type, str) else getattr(head_type, '__name__', repr(head_type))
    )
    if head_name.split('.')[-1] != 'FGMHGCNHead':
        raise ValueError(
            '--show-refinement draws the initial and the refined pose of the DAG head: '
            f"model.head.type must be 'FGMHGCNHead', this config has {head_name!r}"
        )
    test_cfg = cfg.model.get('test_cfg') or {}
    if not test_cfg.get('refine', True):
        raise ValueError(
            '--show-refinement needs model.test_cfg.refine=True '
            "(refine=False returns the base head's pose unrefined)"
        )
    cfg.model.test_cfg = dict(test_cfg, output_initial=True)
    kpt_thr = cfg.get('default_hooks', {}).get('visualization', {}).get('kpt_thr', 0.3)
    cfg.custom_hooks = [
        *cfg.get('custom_hooks', []),
        dict(
            type='RefinementVisualizationHook', interval=interval, kpt_thr=kpt_thr, out_dir=out_dir
        ),
    ]


class SaveMetricsHook(Hook):
    """Write the test metrics to a file once the test epoch ends."""

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def after_test_epoch(self, runner, metrics=None) -> None:
        if metrics is not None:
            # written beside and renamed: a reader never sees half a file
            root, ext = osp.splitext(self.out_file)
            tmp = f'{root}.tmp{ext}'
            try:
                mmengine.dump(metrics, tmp)
                os.replace(tmp, self.out_file)
            finally:
                if osp.exists(tmp):
                    os.remove(tmp)


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    if args.out:
        runner.register_hook(SaveMetricsHook(args.out), 'LOWEST')
    runner.test()


if __name__ == '__main__':
    main()
