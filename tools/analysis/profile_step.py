# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Where one training step of a config spends its time: torch.profiler over a few steps.

The model, its batch and optimizer are made as ``benchmark_model.py`` makes them (the config's
own train pipeline on a synthetic image with two people, occlusion augmentation left out).
After warm-up steps, ``--steps`` training steps run under ``torch.profiler``; every top-level
part of the model (backbone, neck, and each child of the head) is a labelled range, so the
report gives, per step:

- the forward time of each part (its range's CPU total);
- the backward, the optimizer step and the rest (data preprocessor, loss);
- the operators with the largest self time, forward and backward ("...Backward" names), the
  place to see what one part's backward costs.

Example::

    python tools/analysis/profile_step.py --threads 2 --batch-size 2
    python tools/analysis/profile_step.py --cfg-options model.neck.spatial_downsample=2
"""

import argparse
import os.path as osp
import sys
from contextlib import ExitStack
from typing import Dict

import torch
from mmengine.config import DictAction
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_model import DEFAULT_CONFIG, Bench, load_config, options_label  # noqa: E402

PREFIX = 'part: '


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='config to profile')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--input-size', type=int, nargs=2, default=None, metavar=('W', 'H'))
    parser.add_argument('--steps', type=int, default=3, help='profiled training steps')
    parser.add_argument('--warmup', type=int, default=2, help='unprofiled steps first')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--top', type=int, default=12, help='operators listed')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.batch_size < 1:
        parser.error('--steps and --batch-size must be >= 1, --warmup >= 0')
    return args


def model_parts(model: torch.nn.Module) -> Dict[str, torch.nn.Module]:
    """The ranges of the report: backbone, neck, and the head (a refinement head's parts
    apart: base head, multi-joint branch, GCN, ...)."""
    parts = {}
    for name in ('backbone', 'neck'):
        if getattr(model, name, None) is not None:
            parts[name] = getattr(model, name)
    head = getattr(model, 'head', None)
    if head is None:
        return parts
    if getattr(head, 'pose_head', None) is None:  # a plain head: one part
        parts['head'] = head
        return parts
    # a refinement head wrapping a base head (FGMHGCNHead, IGPGCNHead): each of its parts
    for name, child in head.named_children():
        if not (name.startswith('loss') or name.endswith('loss')):
            parts[f'head.{name}'] = child
    return parts


def label_forwards(parts: Dict[str, torch.nn.Module], stack: ExitStack) -> None:
    """Run every part's ``forward`` inside a ``record_function`` range. The method itself is
    wrapped (not a forward hook), so that a head calling ``self.forward`` directly, as
    mmpose's heads do in ``loss`` and ``predict``, is counted too."""

    def labelled(name: str, forward):
        def wrapper(*args, **kwargs):
            with record_function(PREFIX + name):
                return forward(*args, **kwargs)

        return wrapper

    for name, module in parts.items():
        module.forward = labelled(name, module.forward)
        stack.callback(delattr, module, 'forward')


def main(argv=None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.input_size, amp=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    bench_args = argparse.Namespace(seed=args.seed, batch_size=args.batch_size, amp=False)
    bench = Bench(osp.basename(args.config), cfg, bench_args, torch.device('cpu'))
    for _ in range(args.warmup):
        bench.train_step()

    parts = model_parts(bench.model)
    optimizer = bench.optim_wrapper.optimizer
    with ExitStack() as stack:
        label_forwards(parts, stack)
        original_step = optimizer.step

        def labelled_step(*a, **k):
            with record_function(PREFIX + 'optimizer step'):
                return original_step(*a, **k)

        optimizer.step = labelled_step
        stack.callback(setattr, optimizer, 'step', original_step)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                with record_function(PREFIX + 'step'):
                    bench.train_step()
    events = prof.key_averages()
    ms = {e.key[len(PREFIX) :]: e.cpu_time_total / 1e3 / args.steps for e in events
          if e.key.startswith(PREFIX)}  # fmt: skip
    backward = sum(
        e.cpu_time_total
        for e in events
        if e.key.startswith('autograd::engine::evaluate_function')
    ) / 1e3 / args.steps  # fmt: skip
    forward = sum(ms.get(name, 0.0) for name in parts)
    step = ms['step']
    rows = [(name, ms.get(name, 0.0)) for name in parts]
    rows += [
        ('backward (all parts)', backward),
        ('optimizer step', ms.get('optimizer step', 0.0)),
        ('rest (preprocessor, loss, bookkeeping)', step - forward - backward
         - ms.get('optimizer step', 0.0)),
    ]  # fmt: skip
    name = osp.basename(args.config)
    if args.cfg_options:
        name += options_label(args.cfg_options)
    print(f'{name}: one training step, batch {args.batch_size}, {torch.get_num_threads()} '
          f'threads, mean of {args.steps} profiled steps: {step:.0f} ms\n')  # fmt: skip
    print('| part | ms per step | share |\n| --- | --- | --- |')
    for label, value in rows:
        print(f'| {label} (forward) | {value:.1f} | {value / step:.0%} |' if label in parts
              else f'| {label} | {value:.1f} | {value / step:.0%} |')  # fmt: skip
    print(f'\nOperators with the largest self CPU time (ms per step, top {args.top}):\n')
    print('| operator | self ms | calls per step |\n| --- | --- | --- |')
    ops = sorted(
        (e for e in events if not e.key.startswith(PREFIX)),
        key=lambda e: e.self_cpu_time_total,
        reverse=True,
    )
    for e in ops[: args.top]:
        print(f'| `{e.key}` | {e.self_cpu_time_total / 1e3 / args.steps:.1f} | '
              f'{e.count / args.steps:g} |')  # fmt: skip
    return dict(rows, step=step)


if __name__ == '__main__':
    main()
