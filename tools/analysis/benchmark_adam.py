# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Time and peak memory of the ADAM neck against a naive N x N attention.

``NaiveADAM`` is ADAM with the spatial attention written as an explicit
``softmax(Q K^T) V`` over an N x N matrix (N = H * W), the way the paper's
equations read; everything else is shared, so the ratios isolate the fused
``scaled_dot_product_attention`` path.

Peak memory is the extra memory a pass needs above what the model and the
input already hold: on CUDA from ``torch.cuda.max_memory_allocated``, on CPU
from the process' resident-set high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``; Linux only, reported as ``n/a`` elsewhere).

Example::

    python tools/analysis/benchmark_adam.py --batch-size 2 --threads 2
"""

import argparse
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from dag_mmpose.models.necks import ADAM
from dag_mmpose.utils.benchmark import peak_memory_mib

# name: (channels, height, width) of the HRNet output ADAM sees.
SETTINGS: Dict[str, Tuple[int, int, int]] = {
    'W32-256x192': (32, 64, 48),
    'W48-384x288': (48, 96, 72),
}


class NaiveADAM(ADAM):
    """ADAM whose spatial attention materialises the N x N attention matrix."""

    def _attention(self, query: Tensor, key: Tensor, value: Tensor) -> Tensor:
        scale = self.qk_channels**-0.5 if self.qk_scale is None else self.qk_scale
        attn = torch.softmax(scale * query @ key.transpose(1, 2), dim=-1)  # (B, N, N)
        return attn @ value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark ADAM (fused SDPA) against a naive N x N attention'
    )
    parser.add_argument('--batch-size', type=int, default=2, help='batch size per pass')
    parser.add_argument(
        '--settings',
        nargs='+',
        default=list(SETTINGS),
        choices=list(SETTINGS),
        help='feature-map settings to run',
    )
    parser.add_argument(
        '--devices',
        nargs='+',
        default=None,
        help='devices to run on (default: cpu, plus cuda when available)',
    )
    parser.add_argument('--spatial-downsample', type=int, default=1, help='ADAM spatial_downsample')
    parser.add_argument('--warmup', type=int, default=2, help='untimed passes per case')
    parser.add_argument('--repeats', type=int, default=5, help='timed passes per case')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads (default: torch default)'
    )
    return parser.parse_args()


def time_ms(run: Callable[[], None], device: torch.device, warmup: int, repeats: int) -> float:
    """Median wall time of ``run`` in milliseconds."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def make_pass(neck: ADAM, x: Tensor, backward: bool) -> Callable[[], None]:
    """One forward (inference, no autograd) or one forward + backward of F_t."""

    def run_forward() -> None:
        with torch.no_grad():
            neck((x,))

    def run_forward_backward() -> None:
        neck.zero_grad(set_to_none=True)
        x.grad = None
        neck((x,))[1].sum().backward()

    return run_forward_backward if backward else run_forward


def bench_case(
    cls: type,
    setting: Tuple[int, int, int],
    device: torch.device,
    backward: bool,
    args: argparse.Namespace,
) -> Tuple[Optional[float], Optional[float]]:
    """(median ms, peak MiB) of one implementation; (None, None) on out-of-memory."""
    channels, height, width = setting
    torch.manual_seed(0)
    neck = cls(in_channels=channels, spatial_downsample=args.spatial_downsample).to(device)
    with torch.no_grad():
        # gamma = 0 would still run the attention, but a non-zero gate makes it count.
        neck.gamma.fill_(0.5)
    x = torch.randn(args.batch_size, channels, height, width, device=device, requires_grad=backward)
    run = make_pass(neck, x, backward)
    try:
        run()  # first call: kernel selection, thread pools, allocator growth
        peak = peak_memory_mib(run, device)
        elapsed = time_ms(run, device, args.warmup, args.repeats)
    except torch.cuda.OutOfMemoryError:
        return None, None
    finally:
        del neck, x, run
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    return elapsed, peak


def _fmt(value: Optional[float], digits: int = 1) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def _ratio(naive: Optional[float], fused: Optional[float]) -> str:
    if naive is None or fused is None or fused <= 0:
        return 'n/a'
    return f'{naive / fused:.1f}x'


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    devices = args.devices
    if devices is None:
        devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])

    header = (
        'setting',
        'C x H x W',
        'device',
        'pass',
        'ADAM ms',
        'naive ms',
        'time naive/ADAM',
        'ADAM peak MiB',
        'naive peak MiB',
        'mem naive/ADAM',
    )
    rows: List[Tuple[str, ...]] = []
    for device_name in devices:
        device = torch.device(device_name)
        for name in args.settings:
            setting = SETTINGS[name]
            for backward in (False, True):
                fused_ms, fused_mib = bench_case(ADAM, setting, device, backward, args)
                naive_ms, naive_mib = bench_case(NaiveADAM, setting, device, backward, args)
                rows.append(
                    (
                        name,
                        'x'.join(map(str, setting)),
                        device_name,
                        'fwd+bwd' if backward else 'fwd',
                        _fmt(fused_ms),
                        _fmt(naive_ms),
                        _ratio(naive_ms, fused_ms),
                        _fmt(fused_mib),
                        _fmt(naive_mib),
                        _ratio(naive_mib, fused_mib),
                    )
                )

    print(
        f'batch size {args.batch_size}, spatial_downsample {args.spatial_downsample}, '
        f'torch {torch.__version__}, CPU threads {torch.get_num_threads()}, '
        f'median of {args.repeats} after {args.warmup} warm-up passes; peak memory is '
        'the extra over the model and input'
    )
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join('---' for _ in header) + '|')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')


if __name__ == '__main__':
    main()
