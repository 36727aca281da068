# Copyright (c) dag_mmpose contributors. All rights reserved.
from typing import Dict, List, Sequence, Tuple

from mmpose.models.backbones import HRNet
from mmpose.registry import MODELS
from torch import Tensor

_STAGES = ('stage2', 'stage3', 'stage4', 'stage4_branches')


@MODELS.register_module()
class HRNetWithStages(HRNet):
    """mmpose's :class:`~mmpose.models.backbones.HRNet` that also returns earlier stages.

    The authors' DAG release computes its channel attention on the output of HRNet's stage 3
    (its highest-resolution branch), which mmpose's ``HRNet`` does not return. This backbone
    is ``HRNet`` itself (same parameters, so mmpose's HRNet checkpoints load unchanged) and
    appends the branch outputs of each stage in ``extra_stage_outputs`` to its output tuple:
    ``(*stage4_outputs, *outputs_of(extra_stage_outputs[0]), ...)``, each stage's branches
    from the highest resolution down.

    With HRNet-W32 and ``multiscale_output=False`` (mmpose's top-down configs) and
    ``extra_stage_outputs=('stage3',)`` the output is ``(X4, X3_0, X3_1, X3_2)``: index 0 is
    the usual 32-channel 1/4 map and index 1 the stage-3 map at the same size and channels.

    ``'stage4_branches'`` appends the branches of stage 4's last module *before* its fusion
    (``B4_0`` @1/4, ``B4_1`` @1/8, ``B4_2`` @1/16, ``B4_3`` @1/32): with
    ``multiscale_output=False`` stage 4 returns only the fused 1/4 map, but its lower
    branches are trained in every HRNet checkpoint, since that fused map (the head's input)
    is made from them.

    Args:
        extra_stage_outputs (Sequence[str]): Stages whose outputs are appended, from
            ``'stage2'``, ``'stage3'``, ``'stage4'`` (with ``multiscale_output=False`` only
            the fused map again) and ``'stage4_branches'``. Default: ``('stage3',)``.
        **kwargs: The arguments of mmpose's ``HRNet`` (``extra``, ``in_channels``,
            ``frozen_stages``, ``init_cfg`` ...).

    Example:
        >>> import torch
        >>> extra = dict(
        ...     stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
        ...                 num_blocks=(1,), num_channels=(16,)),
        ...     stage2=dict(num_modules=1, num_branches=2, block='BASIC',
        ...                 num_blocks=(1, 1), num_channels=(16, 32)),
        ...     stage3=dict(num_modules=1, num_branches=3, block='BASIC',
        ...                 num_blocks=(1, 1, 1), num_channels=(16, 32, 64)),
        ...     stage4=dict(num_modules=1, num_branches=4, block='BASIC',
        ...                 num_blocks=(1, 1, 1, 1), num_channels=(16, 32, 64, 128),
        ...                 multiscale_output=False))
        >>> self = HRNetWithStages(extra=extra)
        >>> _ = self.eval()
        >>> [tuple(out.shape) for out in self(torch.rand(1, 3, 128, 96))]
        [(1, 16, 32, 24), (1, 16, 32, 24), (1, 32, 16, 12), (1, 64, 8, 6)]
    """

    def __init__(self, extra_stage_outputs: Sequence[str] = ('stage3',), **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(extra_stage_outputs, str):
            raise TypeError(
                'extra_stage_outputs must be a sequence of stage names, e.g. '
                f"('stage3',), got the string {extra_stage_outputs!r}"
            )
        unknown = [name for name in extra_stage_outputs if name not in _STAGES]
        if unknown:
            raise ValueError(
                f'HRNetWithStages: unknown stages {unknown} in extra_stage_outputs; '
                f'choose from {_STAGES}'
            )
        self.extra_stage_outputs = tuple(extra_stage_outputs)
        self._stage_outputs: Dict[str, List[Tensor]] = {}
        for name in set(self.extra_stage_outputs):
            if name == 'stage4_branches':
                branches = self.stage4[-1].branches
                for index, branch in enumerate(branches):
                    branch.register_forward_hook(self._keeper(name, index, len(branches)))
            else:
                getattr(self, name).register_forward_hook(self._keeper(name))

    def _keeper(self, name: str, index: int = -1, count: int = 0):
        """A forward hook that keeps the output list of stage ``name`` (with ``index``:
        the output of one of its ``count`` branches, in place ``index`` of the list)."""

        def keep(module, args, output) -> None:
            if index < 0:
                self._stage_outputs[name] = list(output)
            else:
                self._stage_outputs.setdefault(name, [None] * count)[index] = output

        return keep

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Stage 4's outputs, then those of each stage in ``extra_stage_outputs``."""
        self._stage_outputs = {}
        outputs = list(super().forward(x))
        for name in self.extra_stage_outputs:
            outputs.extend(self._stage_outputs[name])
        # drop the references, so the maps live no longer than the caller keeps them
        self._stage_outputs = {}
        return tuple(outputs)
