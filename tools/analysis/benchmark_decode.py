# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Time the refinement heads' initial-pose decoding per step: mmpose's numpy decoders (what
``decode_base_pose`` did before, and still does for codecs without a torch decoder) against
the torch decoders, on one batch of a given shape, in one process.

Both paths decode the same outputs: the numpy one as ``BaseHead.decode`` (the outputs copied
to the host, decoded sample by sample), the torch one batched where the outputs are. Rounds
alternate the order; the table gives the median milliseconds per batch and their ratio::

    python tools/analysis/benchmark_decode.py                 # W32 shapes: 64 x 17 x 64 x 48
    python tools/analysis/benchmark_decode.py --batch-size 32 --device cuda
"""

import argparse
import statistics
import time
from typing import Callable, Dict, List

import numpy as np
import torch
from mmpose.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap
from mmpose.codecs.utils import generate_gaussian_heatmaps

from dag_mmpose.models.utils.torch_decoding import torch_decode


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--input-size', type=int, nargs=2, default=[192, 256], metavar=('W', 'H'))
    parser.add_argument('--num-keypoints', type=int, default=17)
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2)
    return parser.parse_args()


def codecs(input_size) -> Dict[str, object]:
    width, height = input_size
    heatmap = (width // 4, height // 4)
    return {
        'MSRA': MSRAHeatmap(input_size, heatmap, sigma=2.0),
        'DARK': MSRAHeatmap(input_size, heatmap, sigma=2.0, unbiased=True),
        'UDP': UDPHeatmap(input_size, heatmap, sigma=2.0),
        'SimCC': SimCCLabel(input_size, sigma=(4.9, 5.66), simcc_split_ratio=2.0),
    }


def outputs_for(name: str, codec, args, device: torch.device):
    """Peaked outputs of a trained-looking head (heatmaps or SimCC vectors)."""
    rng = np.random.default_rng(0)
    batch, num = args.batch_size, args.num_keypoints
    if name == 'SimCC':
        width, height = (int(s * codec.simcc_split_ratio) for s in args.input_size)
        x = torch.from_numpy(rng.random((batch, num, width), dtype=np.float32))
        y = torch.from_numpy(rng.random((batch, num, height), dtype=np.float32))
        return x.to(device), y.to(device)
    width, height = codec.heatmap_size
    points = rng.uniform([0, 0], [width - 1, height - 1], (batch, 1, num, 2)).astype(np.float32)
    visible = np.ones((1, num))
    maps = np.stack(
        [generate_gaussian_heatmaps((width, height), p, visible, 2.0)[0] for p in points]
    )
    return torch.from_numpy(maps.astype(np.float32)).to(device)


def numpy_decode(codec, outputs) -> None:
    """``BaseHead.decode``'s path: to the host, then the codec sample by sample."""
    if isinstance(outputs, tuple):
        for x, y in zip(*(o.detach().cpu().numpy() for o in outputs)):
            codec.decode(x[None], y[None])
    else:
        for maps in outputs.detach().cpu().numpy():
            codec.decode(maps)


def timed(fn: Callable[[], None], device: torch.device) -> float:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows: List[str] = []
    for name, codec in codecs(tuple(args.input_size)).items():
        outputs = outputs_for(name, codec, args, device)
        runs = {
            'numpy': lambda c=codec, o=outputs: numpy_decode(c, o),
            'torch': lambda c=codec, o=outputs: torch_decode(c, o),
        }
        for run in runs.values():  # warm-up
            run()
        times = {key: [] for key in runs}
        for index in range(args.rounds):
            for key in sorted(runs, reverse=bool(index % 2)):
                times[key].append(timed(runs[key], device))
        numpy_ms, torch_ms = (statistics.median(times[k]) for k in ('numpy', 'torch'))
        rows.append(f'| {name} | {numpy_ms:.2f} | {torch_ms:.2f} | {numpy_ms / torch_ms:.1f}x |')
    shape = (
        f'{args.batch_size} x {args.num_keypoints}, input {args.input_size[0]}x{args.input_size[1]}'
    )
    print(f'Initial-pose decoding per batch ({shape}; {device}, {args.threads} threads, median '
          f'of {args.rounds} rounds)')  # fmt: skip
    print('\n| codec | numpy (ms) | torch (ms) | speed-up |\n| --- | --- | --- | --- |')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
