# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Make ``--launcher pytorch`` work on machines without CUDA (CI, laptops).

mmengine's ``init_dist`` for the pytorch launcher calls ``torch.cuda.set_device`` and the
Runner wraps the model in DDP with ``device_ids=[LOCAL_RANK]``; both fail without a GPU.
On such a machine we start the process group with the gloo backend ourselves (mmengine then
skips its own ``init_dist``) and ask for a CPU DDP wrapper (``device_ids=None``).
On CUDA machines this does nothing.
"""

from datetime import timedelta

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config) -> None:
    """Prepare ``cfg`` (and the process group) for CPU-only distributed runs.

    Args:
        cfg (Config): The merged config; ``cfg.launcher`` is read.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') != 'gloo':
        print_log(
            f'No CUDA device: using the gloo backend instead of '
            f'{dist_cfg.get("backend", "nccl")!r}.',
            logger='current',
        )
        dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout', 1800)
        torch_dist.init_process_group(backend='gloo', timeout=timedelta(seconds=timeout))

    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False),
    )
    # DDP takes device_ids only for GPU modules.
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
