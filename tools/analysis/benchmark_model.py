# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Whole-model throughput and peak memory of two configs, measured in one process.

By default the DAG HRNet-W32 256x192 config against its same-recipe baseline. Both models
are built in this process and measured in interleaved rounds (the order alternates every
round), so slow drifts of a shared machine hit both alike; the table gives the median over
the rounds and the ratio of the first config to the second.

- *train img/s*: ``model.train_step`` (data preprocessor, forward, loss, backward and the
  config's optimizer step) on a batch made by the config's own train pipeline (minus
  ``LoadImage``) from a synthetic image with two annotated people, so a DAG config runs its
  full loss path (multi-joint heatmaps with the other person, target heatmaps, refined pose).
- *infer img/s*: ``model.test_step`` with the config's own ``test_cfg`` (flip test in the
  shipped configs), decoding included, on a batch made by the val pipeline.
- *peak memory* is the extra memory one step needs above what is allocated before it
  (activations, gradients, workspace), plus the model's own parameters, gradients and
  optimizer state counted from their tensors. CUDA: ``torch.cuda.max_memory_allocated``.
  CPU: the process' resident-set high-water mark (``VmHWM``, reset through
  ``/proc/self/clear_refs`` after returning free heap to the OS; Linux only, ``n/a``
  elsewhere). On CPU the two models share one heap, so a step can reuse pages the other
  model freed and not show them; read the CPU numbers as approximate.

Pretrained weights are not loaded (no download; throughput does not depend on them); the
configs' other initialization is applied.

A ``DualSampleEstimator`` (D-Slope) config trains both networks per step and infers with ENet
alone; against the config of the network it wraps, the ratios are D-Slope's training cost.

Examples::

    python tools/analysis/benchmark_model.py --device cpu --batch-size 2 --threads 2
    python tools/analysis/benchmark_model.py --config \
        configs/body_2d_keypoint/dslope/coco/td-hm_hrnet-w32_dslope-8xb64-210e_coco-256x192.py
    python tools/analysis/benchmark_model.py --device cuda --batch-size 64 --amp
    python tools/analysis/benchmark_model.py --config A.py --baseline B.py --input-size 96 128
    python tools/analysis/benchmark_model.py --cfg-options model.neck.spatial_downsample=2
"""

import argparse
import copy
import logging
import os.path as osp
import statistics
import time
from fractions import Fraction
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from dag_mmpose.testing import (
    build_pipeline,
    crop_size,
    pack_batch,
    size_entries,
    two_people_samples,
)
from dag_mmpose.utils.benchmark import peak_memory_mib
from dag_mmpose.utils.config import drop_pretrained

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs', 'body_2d_keypoint', 'dag', 'coco')
BASELINE_DIR = osp.join(REPO, 'configs', 'body_2d_keypoint', 'baselines', 'coco')
DEFAULT_CONFIG = osp.join(CONFIG_DIR, 'td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py')
DEFAULT_BASELINE = osp.join(BASELINE_DIR, 'td-hm_hrnet-w32_baseline-8xb64-210e_coco-256x192.py')
# config keys that hold a crop, heatmap or feature-map size as (w, h)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Training and inference throughput and peak memory of two configs'
    )
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='first config (e.g. DAG)')
    parser.add_argument(
        '--baseline', default=DEFAULT_BASELINE, help='second config; ratios are first/second'
    )
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device (default: cuda when available, else cpu)',
    )
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help="images per step (default: the first config's train batch size on CUDA, 2 on CPU)",
    )
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        default=None,
        metavar=('W', 'H'),
        help='run both configs at this crop size; every input / heatmap / feature-map size '
        'of the configs is scaled with it and must stay an integer',
    )
    parser.add_argument('--rounds', type=int, default=3, help='timed rounds (median)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed rounds first')
    parser.add_argument('--train-iters', type=int, default=2, help='train steps per round')
    parser.add_argument('--test-iters', type=int, default=2, help='test steps per round')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads (default: torch default)'
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='CUDA mixed precision: AmpOptimWrapper (float16, dynamic loss scale) for '
        'training, torch.autocast for inference',
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default=None,
        help='override settings of the first config only, as tools/train.py does (e.g. '
        'model.neck.spatial_downsample=2); the first row of the table names them',
    )
    parser.add_argument(
        '--numpy-decode',
        action='store_true',
        help="decode the refinement heads' initial pose with mmpose's numpy decoders (a copy "
        'to the host in every step, the path before the torch decoders) to measure what '
        'the torch decoders change',
    )
    args = parser.parse_args()
    if args.amp and not args.device.startswith('cuda'):
        parser.error('--amp measures CUDA autocast runs; use it with --device cuda')
    if min(args.rounds, args.train_iters, args.test_iters) < 1 or args.warmup < 0:
        parser.error('--rounds, --train-iters and --test-iters must be >= 1, --warmup >= 0')
    return args


# ------------------------------------------------------------------------------ configs


def resize_config(cfg: Config, input_size: Sequence[int]) -> None:
    """Scale every (w, h) size of the config so that the crop becomes ``input_size``.

    Raises:
        ValueError: When a scaled size is not an integer (the sizes would disagree).
    """
    width, height = crop_size(cfg)
    scale = (Fraction(input_size[0], width), Fraction(input_size[1], height))
    entries = size_entries([cfg[key] for key in cfg.keys()])
    scaled = []
    for node, key in entries:
        size = [v * f for v, f in zip(node[key], scale)]
        if any(v.denominator != 1 for v in size):
            raise ValueError(
                f'--input-size {tuple(input_size)} scales {key}={tuple(node[key])} to a '
                'non-integer size; choose a size with integer heatmap / feature-map sizes'
            )
        scaled.append(tuple(int(v) for v in size))
    for (node, key), size in zip(entries, scaled):
        node[key] = size


def options_label(cfg_options: Dict) -> str:
    """`` (key=value, ...)``: the overrides a row of the report was measured with."""
    return ' (' + ', '.join(f'{k}={v}' for k, v in cfg_options.items()) + ')'


def load_config(path: str, input_size: Optional[Sequence[int]], amp: bool) -> Config:
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    drop_pretrained(cfg.model)
    if input_size is not None:
        resize_config(cfg, input_size)
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'  # float16, dynamic loss scale
    return cfg


# ------------------------------------------------------------------------ measurement


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _tensor_mib(tensors) -> float:
    return sum(t.numel() * t.element_size() for t in tensors if torch.is_tensor(t)) / 2**20


class Bench:
    """One config: model, optimizer, fixed batches and the two timed passes."""

    def __init__(
        self, name: str, cfg: Config, args: argparse.Namespace, device: torch.device
    ) -> None:
        self.name = name
        self.device = device
        self.amp = args.amp
        torch.manual_seed(args.seed)
        self.model = MODELS.build(cfg.model)
        # the configs' own initialization (heads at std 0.001), so the logged losses are
        # those of a first training step; mmengine logs every parameter at INFO while doing it
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            self.model.init_weights()
        finally:
            logger.setLevel(level)
        self.model.to(device)
        self.optim_wrapper = build_optim_wrapper(self.model, copy.deepcopy(cfg.optim_wrapper))
        samples = two_people_samples(cfg, args.seed)
        # Occlusion augmentation changes pixel values and adds pasted people, not the model's
        # work; its cost has its own benchmark (benchmark_augmentation.py), and its pool may
        # not be built here. D-Slope's twins are then clean copies: the same model work.
        skip = ('MaskJoints', 'InstancePaste', 'PartPaste')
        self.train_data = pack_batch(
            build_pipeline(cfg, 'train', skip=skip), samples, args.batch_size
        )
        self.test_data = pack_batch(
            build_pipeline(cfg, 'val', skip=skip), samples, args.batch_size, with_dataset=False
        )
        self.batch_size = args.batch_size
        self.flip_test = bool(self.model.test_cfg.get('flip_test', False))
        self.train_rates: List[float] = []
        self.test_rates: List[float] = []
        self.losses: Dict[str, float] = {}

    def train_step(self) -> None:
        self.model.train()
        log_vars = self.model.train_step(self.train_data, self.optim_wrapper)
        self.losses = {k: float(v.detach()) for k, v in log_vars.items() if 'loss' in k}

    def test_step(self) -> None:
        self.model.eval()
        with torch.no_grad(), torch.autocast(self.device.type, enabled=self.amp):
            self.model.test_step(self.test_data)

    def timed(self, step: Callable[[], None], iters: int) -> float:
        """Images per second over ``iters`` calls of ``step``."""
        _sync(self.device)
        start = time.perf_counter()
        for _ in range(iters):
            step()
        _sync(self.device)
        return iters * self.batch_size / (time.perf_counter() - start)

    def state_mib(self, train: bool) -> float:
        """Memory the model holds between steps: parameters and buffers, plus the
        optimizer state when training (gradients are freed by ``zero_grad`` after every
        update, so they belong to the step peak)."""
        held = list(self.model.parameters()) + list(self.model.buffers())
        if train:
            held += [v for s in self.optim_wrapper.optimizer.state.values() for v in s.values()]
        return _tensor_mib(held)


def _median(values: List[float]) -> str:
    if not values:
        return 'n/a'
    return f'{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})'


def _fmt(value: Optional[float], digits: int = 0) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return 'n/a' if a is None or b is None or b <= 0 else f'{a / b:.2f}x'


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    np.random.seed(args.seed)
    if args.numpy_decode:
        import warnings

        from dag_mmpose.models.utils import wrapped_head

        wrapped_head.torch_decode = lambda codec, outputs: None
        warnings.filterwarnings('ignore', message='.*no torch decoder for')

    cfgs = [load_config(p, args.input_size, args.amp) for p in (args.config, args.baseline)]
    if args.cfg_options:
        cfgs[0].merge_from_dict(args.cfg_options)
    if args.batch_size is None:
        args.batch_size = cfgs[0].train_dataloader.batch_size if device.type == 'cuda' else 2
    names = [osp.splitext(osp.basename(p))[0] for p in (args.config, args.baseline)]
    if args.cfg_options:
        names[0] += options_label(args.cfg_options)
    benches = [Bench(n, c, args, device) for n, c in zip(names, cfgs)]

    for rnd in range(args.warmup + args.rounds):
        order = benches if rnd % 2 == 0 else benches[::-1]
        for bench in order:
            train_rate = bench.timed(bench.train_step, args.train_iters)
            test_rate = bench.timed(bench.test_step, args.test_iters)
            if rnd >= args.warmup:
                bench.train_rates.append(train_rate)
                bench.test_rates.append(test_rate)
        if rnd >= args.warmup:
            print(
                f'round {rnd - args.warmup + 1}/{args.rounds}: '
                + ', '.join(
                    f'{b.name} train {b.train_rates[-1]:.2f} / infer {b.test_rates[-1]:.2f} img/s'
                    for b in benches
                ),
                flush=True,
            )

    # peak memory: one more step each, after the timing, one model at a time
    memory = {}
    for bench in benches:
        train_peak = peak_memory_mib(bench.train_step, device)
        test_peak = peak_memory_mib(bench.test_step, device)
        memory[bench.name] = (
            None if train_peak is None else train_peak + bench.state_mib(train=True),
            None if test_peak is None else test_peak + bench.state_mib(train=False),
        )

    first, second = benches
    medians = {
        b.name: (statistics.median(b.train_rates), statistics.median(b.test_rates)) for b in benches
    }
    w, h = crop_size(cfgs[0])
    print()
    print(
        f'device {device}'
        + (
            f' ({torch.cuda.get_device_name(device)})'
            if device.type == 'cuda'
            else f', {torch.get_num_threads()} threads'
        )
        + f', torch {torch.__version__}, input {h}x{w} (HxW), batch {args.batch_size}, '
        f'initial pose decoded in {"numpy" if args.numpy_decode else "torch"}, '
        f'amp {args.amp}, flip test {first.flip_test}/{second.flip_test}, '
        f'median (min-max) of {args.rounds} rounds x {args.train_iters} train / '
        f'{args.test_iters} test steps after {args.warmup} warm-up round(s)'
    )
    header = ('metric', first.name, second.name, 'first / second')
    rows = [
        (
            'train img/s',
            _median(first.train_rates),
            _median(second.train_rates),
            _ratio(medians[first.name][0], medians[second.name][0]),
        ),
        (
            'infer img/s',
            _median(first.test_rates),
            _median(second.test_rates),
            _ratio(medians[first.name][1], medians[second.name][1]),
        ),
        (
            'train peak MiB',
            _fmt(memory[first.name][0]),
            _fmt(memory[second.name][0]),
            _ratio(memory[first.name][0], memory[second.name][0]),
        ),
        (
            'infer peak MiB',
            _fmt(memory[first.name][1]),
            _fmt(memory[second.name][1]),
            _ratio(memory[first.name][1], memory[second.name][1]),
        ),
        (
            'params (M)',
            *(f'{sum(p.numel() for p in b.model.parameters()) / 1e6:.2f}' for b in benches),
            _ratio(*(sum(p.numel() for p in b.model.parameters()) for b in benches)),
        ),
        (
            'last losses',
            *(', '.join(f'{k}={v:.4g}' for k, v in b.losses.items()) for b in benches),
            '',
        ),
    ]
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join('---' for _ in header) + '|')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')
    mem_how = (
        'torch.cuda.max_memory_allocated'
        if device.type == 'cuda'
        else 'VmHWM above VmRSS before the step (shared heap: approximate)'
    )
    print(
        f'peak MiB = one step above the memory held before it ({mem_how}) + the model '
        'state held between steps (train: params, buffers, optimizer state; infer: params, '
        'buffers)'
    )


if __name__ == '__main__':
    main()
