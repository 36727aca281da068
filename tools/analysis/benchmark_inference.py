# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Inference throughput of one model three ways, in one process: eager PyTorch, ``torch.compile``
(inductor) and onnxruntime, all on the graph ``tools/deployment/pytorch2onnx.py`` exports (crop
in, refined keypoints and scores out; no flip test).

Rounds alternate the order of the three; the table gives the median img/s and the ratio to
eager. Compile and export time are reported apart (one-off costs). Random weights (no
download: throughput does not depend on them)::

    python tools/analysis/benchmark_inference.py                          # DAG W32 256x192
    python tools/analysis/benchmark_inference.py --demo dag --batch-size 8
"""

import argparse
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Dict

import numpy as np
import torch

from dag_mmpose.deployment import PoseExportWrapper, export_inputs, export_onnx
from dag_mmpose.testing import DEMO_MODELS, build_demo_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    REPO,
    'configs',
    'body_2d_keypoint',
    'dag',
    'coco',
    'td-hm_hrnet-w32_dag-8xb64-210e_coco-256x192.py',
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='a model config')
    parser.add_argument('--demo', choices=sorted(DEMO_MODELS), help='a demo model instead')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--iters', type=int, default=3, help='batches per round')
    parser.add_argument('--threads', type=int, default=2)
    return parser.parse_args()


def build(args) -> PoseExportWrapper:
    if args.demo:
        model, _ = build_demo_model(args.demo)
    else:
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmpose.registry import MODELS

        from dag_mmpose.utils.config import drop_pretrained

        init_default_scope('mmpose')
        cfg = Config.fromfile(args.config)
        drop_pretrained(cfg.model)
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
    return PoseExportWrapper(model.eval())


def crop_size(wrapper: PoseExportWrapper):
    head = wrapper.model.head
    size = getattr(head, 'input_size', None) or head.decoder.input_size
    return int(size[0]), int(size[1])


def rate(run: Callable[[], None], iters: int, batch: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        run()
    return iters * batch / (time.perf_counter() - start)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    import onnxruntime

    wrapper = build(args)
    size = crop_size(wrapper)
    inputs = export_inputs(wrapper, size, batch_size=args.batch_size, seed=1)
    feed = {name: value.numpy() for name, value in zip(wrapper.input_names, inputs)}

    start = time.perf_counter()
    compiled = torch.compile(wrapper)
    with torch.no_grad():
        compiled(*inputs)
    compile_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        onnx_file = export_onnx(wrapper, osp.join(tmp, 'model.onnx'), size)
        export_s = time.perf_counter() - start
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = onnxruntime.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider']
        )

    with torch.no_grad():
        eager_out = wrapper(*inputs)
        compiled_out = compiled(*inputs)
    ort_out = session.run(None, feed)
    diffs = {
        'compiled': float((compiled_out[0] - eager_out[0]).abs().max()),
        'onnxruntime': float(np.abs(ort_out[0] - eager_out[0].numpy()).max()),
    }

    def eager_run():
        with torch.no_grad():
            wrapper(*inputs)

    def compiled_run():
        with torch.no_grad():
            compiled(*inputs)

    runs: Dict[str, Callable[[], None]] = {
        'eager': eager_run,
        'compiled': compiled_run,
        'onnxruntime': lambda: session.run(None, feed),
    }
    rates = {name: [] for name in runs}
    for index in range(args.rounds + 1):
        order = list(runs) if index % 2 else list(runs)[::-1]
        for name in order:
            value = rate(runs[name], args.iters, args.batch_size)
            if index:  # the first round warms up
                rates[name].append(value)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    what = f'demo {args.demo}' if args.demo else osp.basename(args.config)
    print(f'{what}: input {size[0]}x{size[1]}, batch {args.batch_size}, {args.threads} threads, '
          f'median of {args.rounds} rounds x {args.iters} batches; compile {compile_s:.0f} s, '
          f'ONNX export {export_s:.0f} s (one-off)')  # fmt: skip
    print('\n| runtime | img/s | vs eager | max keypoint diff to eager (px) |')
    print('| --- | --- | --- | --- |')
    for name in runs:
        diff = f'{diffs[name]:.1e}' if name in diffs else '-'
        print(
            f'| {name} | {medians[name]:.2f} | {medians[name] / medians["eager"]:.2f}x | {diff} |'
        )


if __name__ == '__main__':
    main()
