# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Running the repository's tools from tests: one tiny epoch, a subprocess that reports its
output on failure, ``tools/dist_train.sh`` with two CPU processes, and a tool script imported
as a module."""

import importlib.util
import os.path as osp
import socket
import subprocess
from types import ModuleType
from typing import Dict, List, Optional, Sequence

from mmengine.hooks import Hook

from .repo import REPO_ROOT

__all__ = ['TINY_EPOCH', 'RecordFirstIter', 'dist_train', 'free_port', 'load_tool', 'run_tool']


#: ``--cfg-options`` for one tiny epoch of a demo config: 12 train images in batches of 8,
#: no dataloader workers, no best-checkpoint search, a log line per iteration
TINY_EPOCH = [
    'train_cfg.max_epochs=1',
    'train_cfg.val_interval=1',
    'train_dataloader.batch_size=8',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'default_hooks.checkpoint.save_best=None',
    'default_hooks.logger.interval=1',
]


def load_tool(path: str, name: str) -> ModuleType:
    """A tool script (``path`` relative to the repository, e.g.
    ``'tools/analysis/ablation.py'``) imported as module ``name``, to test its functions."""
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO_ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(
    cmd: Sequence[str], cwd: str, env: Dict[str, str], timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run ``cmd``; on a non-zero exit fail with the command and the tail of its output."""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f'{cmd} exited {result.returncode}\n'
        f'stdout:\n{result.stdout[-4000:]}\n'
        f'stderr:\n{result.stderr[-4000:]}'
    )
    return result


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def dist_train(
    config: str,
    work_dir: str,
    cwd: str,
    env: Dict[str, str],
    options: Optional[List[str]] = None,
) -> str:
    """``tools/dist_train.sh CONFIG 2`` (two CPU processes, gloo) on one tiny epoch; its
    output.

    The rendezvous and gloo's own connections stay on the loopback interface
    (``MASTER_ADDR=127.0.0.1``, and ``GLOO_SOCKET_IFNAME=lo`` where it exists: gloo otherwise
    resolves the host name, which on some machines names an interface the two processes
    cannot reach each other on), at a port the OS has just given out rather than a fixed one
    (another run, or a socket of the last one still in TIME_WAIT, may hold a fixed port).
    """
    env = dict(env, PORT=str(free_port()), MASTER_ADDR='127.0.0.1')
    if 'lo' in {name for _, name in socket.if_nameindex()}:
        env['GLOO_SOCKET_IFNAME'] = 'lo'
    cmd = ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, '2']
    cmd += ['--work-dir', str(work_dir), '--cfg-options', *(options or TINY_EPOCH)]
    result = run_tool(cmd, cwd=cwd, env=env)
    return result.stdout + result.stderr


class RecordFirstIter(Hook):
    """Records the first training iteration a run executes and the optimizer's state size
    then (a resumed run starts after the checkpoint's iteration, with its optimizer state)."""

    def __init__(self) -> None:
        self.first_iter: Optional[int] = None
        self.optimizer_state_size: Optional[int] = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.first_iter is None:
            self.first_iter = runner.iter
            self.optimizer_state_size = len(runner.optim_wrapper.optimizer.state)
