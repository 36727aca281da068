# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Peak-memory measurement shared by the benchmark scripts in ``tools/analysis``."""

import ctypes
import gc
from typing import Callable, Optional

import torch


def _read_status_kib(field: str) -> int:
    """A ``/proc/self/status`` field (``VmRSS``, ``VmHWM``) in KiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def _release_free_heap() -> None:
    """Return freed heap pages to the OS so that they do not hide the next peak."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_memory_mib(run: Callable[[], None], device: torch.device) -> Optional[float]:
    """Extra memory (MiB) one call of ``run`` needs above the current usage.

    CUDA: ``torch.cuda.max_memory_allocated`` above the allocation before the call. CPU:
    the rise of the process's peak resident memory, after resetting the peak to the current
    resident size through ``/proc/self/clear_refs`` (Linux >= 4.0); approximate, since
    everything in the process shares one heap.

    Args:
        run (Callable[[], None]): The work to measure.
        device (torch.device): Where it runs.

    Returns:
        float | None: MiB, or ``None`` where the CPU figure cannot be read (not Linux).
    """
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        run()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    _release_free_heap()
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current VmRSS
        base = _read_status_kib('VmRSS')
    except (OSError, KeyError):
        return None
    run()
    return (_read_status_kib('VmHWM') - base) / 2**10
