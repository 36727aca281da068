# Copyright (c) dag_mmpose contributors. All rights reserved.
"""D-Slope: dual-sample mutual learning of a general and an expert network."""

import copy
import logging
import os
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.runner.checkpoint import load_checkpoint
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, ForwardResults, OptSampleList, SampleList
from torch import Tensor, nn

from ...utils.checks import check_number

__all__ = [
    'DualSampleEstimator',
    'default_mimic_modules',
    'enet_state_dict',
    'export_enet_checkpoint',
]

MODES = ('mutual', 'distill')
# the layers whose output is a head's prediction, by head layout: RTMCC, SimCC (both also
# have a `final_layer` before them), heatmap heads; each looked for in the head and in a
# wrapped base head (FGMH-GCN's, IGP-GCN's `pose_head`)
_HEAD_OUTPUT_LAYERS = (('cls_x', 'cls_y'), ('mlp_head_x', 'mlp_head_y'), ('final_layer',))
_HRNET_STAGES = ('backbone.stage2', 'backbone.stage3', 'backbone.stage4')


def _has(model: nn.Module, name: str) -> bool:
    try:
        model.get_submodule(name)
    except AttributeError:
        return False
    return True


def default_mimic_modules(model: nn.Module) -> List[str]:
    """D-Slope's mimic points for a pose estimator: the backbone's ``stage2`` - ``stage4``
    where it has them (HRNet: every branch they return; also CSPNeXt's), and the layers that
    give the head's prediction (heatmaps, or the x / y logits of SimCC and RTMCC heads).

    Raises:
        ValueError: When the head's output layers are not known (give ``mimic_modules``).
    """
    names = [name for name in _HRNET_STAGES if _has(model, name)]
    for prefix in ('head.', 'head.pose_head.'):
        for layers in _HEAD_OUTPUT_LAYERS:
            if all(_has(model, prefix + layer) for layer in layers):
                return names + [prefix + layer for layer in layers]
    head = type(getattr(model, 'head', None)).__name__
    raise ValueError(
        f'DualSampleEstimator: no known output layer in the head {head}; name the modules to '
        'mimic with mimic_modules=[...] (e.g. the layer that gives its heatmaps)'
    )


def _tensors(output) -> List[Tensor]:
    """The tensors of a module's output (a tensor or nested lists / tuples of them)."""
    if isinstance(output, Tensor):
        return [output]
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _tensors(item)]
    return []


@contextmanager
def _capture(model: nn.Module, names: Sequence[str]) -> Iterator[Dict[str, list]]:
    """Record the outputs of the named submodules of ``model`` while the block runs."""
    outputs: Dict[str, list] = {name: [] for name in names}
    handles = [
        model.get_submodule(name).register_forward_hook(
            lambda module, args, output, store=outputs[name]: store.append(output)
        )
        for name in names
    ]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def _mimic(own: list, other: list, name: str) -> Tensor:
    """mimic(X -> Y) of one module: the MSE of each of X's output tensors to Y's, detached,
    averaged over the tensors (HRNet's branches) and over the calls."""
    own_tensors = [_tensors(output) for output in own]
    other_tensors = [_tensors(output) for output in other]
    shapes = [[tuple(t.shape) for t in call] for call in own_tensors]
    if not own_tensors or shapes != [[tuple(t.shape) for t in call] for call in other_tensors]:
        raise ValueError(
            f'DualSampleEstimator: {name} gave {shapes} in one network and '
            f'{[[tuple(t.shape) for t in call] for call in other_tensors]} in the other; the '
            'two networks must have the same architecture at every mimic module'
        )
    terms = [
        F.mse_loss(x.float(), y.detach().float())
        for call_x, call_y in zip(own_tensors, other_tensors)
        for x, y in zip(call_x, call_y)
    ]
    return torch.stack(terms).mean()


def _model_cfg(cfg: Union[ConfigType, str]) -> dict:
    """A pose estimator config, given as a dict or as a config file (its ``model``)."""
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg).model
    return copy.deepcopy(dict(cfg))


@MODELS.register_module()
class DualSampleEstimator(BaseModel):
    """D-Slope (Dual-Sample Learning for Occluded Human Pose Estimation): a general network
    (GNet) and an expert network (ENet) of the same architecture trained together, GNet on
    the clean crop and ENet on its occluded twin, each mimicking the other.

    Any top-down mmpose estimator works as the two networks (HRNet, ResNet, RTMPose, a DAG
    model ...): ``enet`` is an ordinary model config and GNet is a copy of it unless
    ``gnet`` is given. The training inputs are ``cat[clean, twin]`` (B, 2C, H, W) from
    ``OccludedTwin`` + ``PackDualPoseInputs`` + ``DualSampleDataPreprocessor``; both networks
    learn from the clean crop's labels. With forward hooks on ``mimic_modules`` the loss is

    - ENet: its own losses + ``enet_mimic_weight`` x sum over modules of mimic(E -> G),
    - GNet: its own losses + ``gnet_mimic_weight`` x sum over modules of mimic(G -> E),

    where mimic(X -> Y) of a module is the MSE of X's output to Y's *detached* output,
    averaged over the output tensors (HRNet's branches), so each term trains only its own
    network. Every term is logged: ``enet_loss_kpt``, ``enet_acc_pose``,
    ``enet_loss_mimic_<module>``, and the same with ``gnet_``. A mimic weight of 0 drops its
    terms: with both at 0 each network trains exactly as it would alone. ``mode='distill'``
    freezes GNet (eval mode, no gradient, no loss of its own; load it with
    ``gnet_checkpoint``), so only ENet learns, from the labels and from GNet.

    ``predict`` and ``tensor`` run ENet alone, on the plain image; ``enet_state_dict`` /
    ``tools/misc/export_enet.py`` turn a checkpoint into one the ENet config loads.

    Args:
        enet (dict | str): The expert network: a pose estimator config, or a config file
            whose ``model`` it is.
        gnet (dict | str, optional): The general network; ``None`` for a copy of ``enet``.
        mode (str): ``'mutual'`` (both learn) or ``'distill'`` (GNet frozen). Defaults to
            ``'mutual'``.
        mimic_modules (Sequence[str], optional): Names of the submodules (of each network)
            whose outputs are mimicked. ``None``: :func:`default_mimic_modules` (HRNet
            stages 2-4 and the head's output layers).
        enet_mimic_weight (float): Weight of ENet's mimic terms. Defaults to 1e-3 (D-Slope).
        gnet_mimic_weight (float): Weight of GNet's mimic terms. Defaults to 1e-5 (D-Slope).
        gnet_checkpoint (str, optional): Weights GNet is loaded with in ``init_weights``
            (a plain model checkpoint). Defaults to ``None``.
        shared_init (bool): Start GNet from ENet's initial weights (copied in
            ``init_weights``, heads included), as two networks loaded from one pretrained
            checkpoint start; from scratch, each network's own random initialisation makes
            their features unrelated at first. Needs the same architecture; not with
            ``gnet_checkpoint``. Defaults to ``False``.
        data_preprocessor (dict, optional): ``None``: ENet's preprocessor settings as a
            ``DualSampleDataPreprocessor``.
        train_cfg (dict, optional): Must be ``None``: each network keeps its own (the
            argument is there because mmpose's ``init_model`` sets ``model.train_cfg=None``
            on every config it builds). Defaults to ``None``.
        init_cfg (dict, optional): Initialisation config. Defaults to ``None``.
    """

    def __init__(
        self,
        enet: Union[ConfigType, str],
        gnet: Optional[Union[ConfigType, str]] = None,
        mode: str = 'mutual',
        mimic_modules: Optional[Sequence[str]] = None,
        enet_mimic_weight: float = 1e-3,
        gnet_mimic_weight: float = 1e-5,
        gnet_checkpoint: Optional[str] = None,
        shared_init: bool = False,
        data_preprocessor: Optional[ConfigType] = None,
        train_cfg: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        self._check_arguments(mode, gnet_checkpoint, shared_init, train_cfg)
        enet_mimic_weight = check_number(
            enet_mimic_weight, 'enet_mimic_weight', 'DualSampleEstimator', ge=0
        )
        gnet_mimic_weight = check_number(
            gnet_mimic_weight, 'gnet_mimic_weight', 'DualSampleEstimator', ge=0
        )
        enet_cfg = _model_cfg(enet)
        gnet_cfg = _model_cfg(gnet) if gnet is not None else copy.deepcopy(enet_cfg)
        if data_preprocessor is None:
            data_preprocessor = self._dual_preprocessor(enet_cfg)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

        self.gnet = MODELS.build(gnet_cfg)
        self.enet = MODELS.build(enet_cfg)
        self.mode = mode
        self.enet_mimic_weight = float(enet_mimic_weight)
        self.gnet_mimic_weight = float(gnet_mimic_weight) if mode == 'mutual' else 0.0
        self.gnet_checkpoint = gnet_checkpoint
        self.shared_init = bool(shared_init)
        if mimic_modules is None:
            mimic_modules = default_mimic_modules(self.enet)
        self.mimic_modules = list(mimic_modules)
        self._check_mimic_modules()
        if mode == 'distill':
            self._freeze_gnet()

    @staticmethod
    def _check_arguments(
        mode: str, gnet_checkpoint: Optional[str], shared_init: bool, train_cfg: Optional[dict]
    ) -> None:
        """Refuse a wrapper ``train_cfg``, an unknown ``mode`` and two starts for GNet."""
        if train_cfg is not None:
            raise ValueError(
                'DualSampleEstimator: give train_cfg to the networks (enet / gnet configs), '
                f'not to the wrapper, got {train_cfg!r}'
            )
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if shared_init and gnet_checkpoint is not None:
            raise ValueError('give gnet_checkpoint or shared_init=True, not both')

    @staticmethod
    def _dual_preprocessor(enet_cfg: dict) -> dict:
        """ENet's ``PoseDataPreprocessor`` settings as a ``DualSampleDataPreprocessor``."""
        data_preprocessor = dict(enet_cfg.get('data_preprocessor') or {})
        if data_preprocessor.get('type', 'PoseDataPreprocessor') != 'PoseDataPreprocessor':
            raise ValueError(
                'DualSampleEstimator: give data_preprocessor=dict(type='
                "'DualSampleDataPreprocessor', ...): ENet's "
                f'{data_preprocessor["type"]} is not a PoseDataPreprocessor'
            )
        data_preprocessor['type'] = 'DualSampleDataPreprocessor'
        return data_preprocessor

    def _check_mimic_modules(self) -> None:
        """Every mimic module is a submodule of both networks."""
        for name in self.mimic_modules:
            for net in ('gnet', 'enet'):
                if not _has(getattr(self, net), name):
                    raise ValueError(
                        f'DualSampleEstimator: mimic module {name!r} is not in {net} '
                        f'({type(getattr(self, net)).__name__})'
                    )

    def _freeze_gnet(self) -> None:
        """``mode='distill'``: GNet in eval mode without gradient (warned when untrained)."""
        self.gnet.requires_grad_(False)
        self.gnet.eval()
        if self.gnet_checkpoint is None:
            print_log(
                "DualSampleEstimator(mode='distill') without gnet_checkpoint: ENet mimics "
                'a frozen, untrained GNet',
                logger='current',
                level=logging.WARNING,
            )

    @property
    def test_cfg(self) -> dict:
        """ENet's test config (flip test ...): the one ``predict`` uses."""
        return self.enet.test_cfg

    @test_cfg.setter
    def test_cfg(self, test_cfg: dict) -> None:
        self.enet.test_cfg = test_cfg

    @property
    def metainfo(self) -> Optional[dict]:
        return self.enet.metainfo

    def init_weights(self) -> None:
        """Initialise both networks, then load ``gnet_checkpoint`` into GNet or, with
        ``shared_init``, copy ENet's weights into it."""
        super().init_weights()
        if self.gnet_checkpoint is not None:
            load_checkpoint(self.gnet, self.gnet_checkpoint, map_location='cpu')
        elif self.shared_init:
            try:
                self.gnet.load_state_dict(self.enet.state_dict())
            except RuntimeError as error:
                raise ValueError(
                    'DualSampleEstimator(shared_init=True) needs GNet and ENet of the same '
                    f'architecture: {error}'
                ) from error

    def train(self, mode: bool = True) -> 'DualSampleEstimator':
        """Set the training mode; a frozen GNet (``mode='distill'``) stays in eval mode."""
        super().train(mode)
        if self.mode == 'distill':
            self.gnet.eval()
        return self

    def forward(
        self, inputs: Tensor, data_samples: OptSampleList = None, mode: str = 'tensor'
    ) -> ForwardResults:
        """``'loss'``: both networks on ``cat[clean, twin]``; ``'predict'`` and
        ``'tensor'``: ENet alone on the image."""
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.enet(inputs, data_samples, mode=mode)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode.')

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """ENet's predictions (GNet does not run)."""
        return self.enet(inputs, data_samples, mode='predict')

    @staticmethod
    def _split(inputs: Tensor) -> Tuple[Tensor, Tensor]:
        if inputs.dim() != 4 or inputs.shape[1] % 2:
            raise ValueError(
                'DualSampleEstimator trains on a crop and its occluded twin stacked along the '
                f'channels, (B, 2C, H, W); got {tuple(inputs.shape)}: put OccludedTwin and '
                'PackDualPoseInputs in the train pipeline and use DualSampleDataPreprocessor'
            )
        return inputs.chunk(2, dim=1)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Both networks' losses and the mimic terms.

        Args:
            inputs (Tensor): ``cat[clean, twin]``, (B, 2C, H, W).
            data_samples (List[PoseDataSample]): The clean crop's labels.

        Returns:
            dict: ``enet_*`` and ``gnet_*`` losses and accuracies, and the weighted mimic
            terms ``enet_loss_mimic_<module>`` / ``gnet_loss_mimic_<module>``.
        """
        clean, twin = self._split(inputs)
        names = self.mimic_modules if self.enet_mimic_weight or self.gnet_mimic_weight else []
        with _capture(self.gnet, names) as gnet_out:
            if self.mode == 'distill':
                if names:
                    with torch.no_grad():
                        self.gnet(clean, None, mode='tensor')
                gnet_losses = {}
            else:
                gnet_losses = self.gnet(clean, data_samples, mode='loss')
        with _capture(self.enet, names) as enet_out:
            enet_losses = self.enet(twin, data_samples, mode='loss')

        losses = {f'enet_{key}': value for key, value in enet_losses.items()}
        losses.update({f'gnet_{key}': value for key, value in gnet_losses.items()})
        for name in names:
            if self.enet_mimic_weight:
                losses[f'enet_loss_mimic_{name}'] = self.enet_mimic_weight * _mimic(
                    enet_out[name], gnet_out[name], name
                )
            if self.gnet_mimic_weight:
                losses[f'gnet_loss_mimic_{name}'] = self.gnet_mimic_weight * _mimic(
                    gnet_out[name], enet_out[name], name
                )
        return losses


def enet_state_dict(state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """ENet's weights of a ``DualSampleEstimator`` state dict, named as in the plain model
    (``enet.backbone.*`` -> ``backbone.*``); GNet's are left out.

    Raises:
        KeyError: When the state dict holds no ``enet.*`` weights.
    """
    prefix = 'enet.'
    weights = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not weights:
        found = sorted({k.split('.', 1)[0] for k in state_dict})
        raise KeyError(
            f'no ENet weights (enet.*) in the state dict, whose top-level names are {found}: '
            'is it a DualSampleEstimator checkpoint?'
        )
    return weights


def export_enet_checkpoint(checkpoint: str, out: str) -> str:
    """Write ENet's weights of a ``DualSampleEstimator`` checkpoint (with its ``meta``) as a
    plain model checkpoint that the ENet config loads; returns ``out``.

    Raises:
        ValueError: ``out`` is ``checkpoint`` itself (the D-Slope checkpoint is never
            overwritten), or the file holds no state dict.
    """
    if (
        osp.exists(out)
        and osp.samefile(checkpoint, out)
        or (osp.realpath(checkpoint) == osp.realpath(out))
    ):
        raise ValueError(
            f'export_enet_checkpoint: {out} is the D-Slope checkpoint itself; exporting would '
            'overwrite it (and GNet with it): write the ENet checkpoint to another file'
        )
    state = torch.load(checkpoint, map_location='cpu')
    state_dict = state.get('state_dict', state) if isinstance(state, dict) else None
    if not isinstance(state_dict, dict):
        raise ValueError(f'{checkpoint} holds no state dict')
    exported = dict(state_dict=enet_state_dict(state_dict))
    if 'meta' in state:
        exported['meta'] = state['meta']
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = f'{out}.tmp'
    torch.save(exported, tmp)
    os.replace(tmp, out)  # an interrupted export leaves no half-written checkpoint
    return out
