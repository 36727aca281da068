# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Helpers for a head that wraps a stock mmpose top-down head (as ``VisPredictHead`` does) and
refines its pose: the base head's crop frame, its flip-test averaging and heatmap outputs, the
predicted instances, and loading a plain mmpose checkpoint of the base head into the
wrapper."""

import warnings
from typing import Collection, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.codecs import UDPHeatmap
from mmpose.codecs.utils import get_simcc_normalized
from mmpose.models.utils.tta import flip_heatmaps, flip_vectors
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, InstanceList, PixelDataList
from torch import Tensor, nn

from .joint_sampling import HeadOutputs
from .torch_decoding import torch_decode

__all__ = [
    'base_head_frame',
    'decode_base_pose',
    'flip_average_outputs',
    'move_base_head_keys',
    'outputs_to_pred_fields',
    'pose_instances',
    'simcc_split_ratio',
]


def base_head_frame(base_head: nn.Module, owner: str) -> Tuple[Tuple[int, int], bool]:
    """The crop size ``(w, h)`` of the base head's decoder and whether it is UDP's frame.

    Raises:
        ValueError: Naming ``owner`` when the base head has no decoder with ``input_size``.
    """
    decoder = getattr(base_head, 'decoder', None)
    if decoder is None or getattr(decoder, 'input_size', None) is None:
        raise ValueError(
            f'{owner} needs a `decoder` with `input_size` in pose_cfg: the crop size '
            'turns the initial pose into normalized coordinates'
        )
    input_size = (int(decoder.input_size[0]), int(decoder.input_size[1]))
    use_udp = isinstance(decoder, UDPHeatmap) or bool(getattr(decoder, 'use_udp', False))
    return input_size, use_udp


def _numpy_friendly(outputs: HeadOutputs) -> HeadOutputs:
    """Detached copies of the outputs that numpy can hold: bfloat16 becomes float32 (numpy
    has no bfloat16; float16 stays as the base head's own ``predict`` decodes it). Copies,
    because some mmpose decoders blur their input in place (SimCC's DARK), and on the CPU
    ``to_numpy`` shares memory with the head's outputs, which the loss still reads."""

    def convert(tensor: Tensor) -> Tensor:
        tensor = tensor.detach()
        return tensor.float() if tensor.dtype == torch.bfloat16 else tensor.clone()

    if isinstance(outputs, Tensor):
        return convert(outputs)
    return tuple(convert(t) for t in outputs)


# codecs already warned about (decoded in numpy), so each is named once per process
_NUMPY_DECODED: set = set()


def decode_base_pose(
    base_head: nn.Module, outputs: HeadOutputs, num_keypoints: int, owner: str
) -> Tuple[Tensor, Tensor]:
    """The base head's decoding of ``outputs``, without gradient, on their device.

    For the codecs of :func:`~dag_mmpose.models.utils.torch_decoding.torch_decode` (MSRA's
    quarter offset, DARK, UDP, SimCC / RTMCC) the decoding runs in torch, batched: no host
    transfer, and ``torch.compile`` and ONNX export see one graph; it gives what the codec's
    numpy ``decode`` gives (``tests/test_models/test_utils/test_torch_decoding.py``). Any
    other codec is decoded by ``base_head.decode`` in numpy, with a warning naming it once.

    Args:
        base_head (nn.Module): A top-down mmpose head with ``decode``.
        outputs (Tensor | Tuple[Tensor, Tensor]): Its heatmaps (B, K, H, W) or SimCC vectors.
        num_keypoints (int): K.
        owner (str): The wrapping head's name, for the errors.

    Returns:
        tuple: keypoints in crop pixels (B, K, 2) and scores (B, K) on the device of
        ``outputs`` (the numpy fallback keeps the decoder's dtypes).
    """
    if isinstance(outputs, Tensor):
        if outputs.ndim != 4 or outputs.shape[1] != num_keypoints:
            raise ValueError(
                f'{owner} expects base heatmaps in shape (B, {num_keypoints}, H, W), got '
                f'{tuple(outputs.shape)}'
            )
        device = outputs.device
    else:
        device = outputs[0].device
    decoded = torch_decode(getattr(base_head, 'decoder', None), outputs)
    if decoded is not None:
        return decoded
    name = type(getattr(base_head, 'decoder', None)).__name__
    if name not in _NUMPY_DECODED:
        _NUMPY_DECODED.add(name)
        warnings.warn(
            f'{owner}: no torch decoder for {name}; its outputs are decoded by mmpose in numpy '
            '(a copy to the host in every step, and no single graph for torch.compile / ONNX)',
            stacklevel=2,
        )
    with torch.no_grad():
        preds = base_head.decode(_numpy_friendly(outputs))
    keypoints = np.concatenate([pred.keypoints for pred in preds])
    scores = np.concatenate([pred.keypoint_scores for pred in preds])
    if keypoints.shape[:2] != (len(preds), num_keypoints):
        raise ValueError(
            f'{owner}: the base head decoder gave keypoints of shape {keypoints.shape} for '
            f'{len(preds)} samples; a top-down decoder gives one instance of '
            f'{num_keypoints} keypoints per sample'
        )
    return torch.from_numpy(keypoints).to(device), torch.from_numpy(scores).to(device)


def simcc_split_ratio(base_head: nn.Module, owner: str) -> float:
    """SimCC bins per input pixel, from the base head's decoder (or the head)."""
    ratio = getattr(getattr(base_head, 'decoder', None), 'simcc_split_ratio', None)
    if ratio is None:
        ratio = getattr(base_head, 'simcc_split_ratio', None)
    if ratio is None:
        raise ValueError(
            f'{owner}: the base head outputs SimCC vectors but neither its decoder '
            'nor the head defines `simcc_split_ratio`'
        )
    return float(ratio)


def flip_average_outputs(
    outputs: HeadOutputs,
    flipped: HeadOutputs,
    flip_indices: Sequence[int],
    test_cfg: ConfigType,
) -> HeadOutputs:
    """Average a head's outputs with the flipped pass's, as the mmpose heads do.

    Heatmaps go through ``flip_heatmaps`` (``flip_mode``, ``shift_heatmap`` of
    ``test_cfg``), SimCC vectors through ``flip_vectors``.
    """
    if isinstance(outputs, Tensor):
        flipped = flip_heatmaps(
            flipped,
            flip_mode=test_cfg.get('flip_mode', 'heatmap'),
            flip_indices=flip_indices,
            shift_heatmap=test_cfg.get('shift_heatmap', False),
        )
        return (outputs + flipped) * 0.5
    flipped_x, flipped_y = flip_vectors(flipped[0], flipped[1], flip_indices=flip_indices)
    return (outputs[0] + flipped_x) * 0.5, (outputs[1] + flipped_y) * 0.5


def pose_instances(
    keypoints: Tensor, scores: Tensor, initial: Optional[Tensor] = None
) -> InstanceList:
    """A top-down head's predictions, one ``InstanceData`` per sample (in numpy, on the host).

    Args:
        keypoints (Tensor): The predicted keypoints, (B, K, 2) crop pixels.
        scores (Tensor): Their scores, (B, K).
        initial (Tensor, optional): The initial pose the keypoints were refined from, (B, K,
            2) crop pixels, for ``test_cfg['output_initial']``.

    Returns:
        List[InstanceData]: per sample ``keypoints`` (1, K, 2) and ``keypoint_scores``
        (1, K), with ``initial`` also ``initial_keypoints`` (1, K, 2).
    """
    preds = [
        InstanceData(keypoints=kpts[None], keypoint_scores=kpt_scores[None])
        for kpts, kpt_scores in zip(to_numpy(keypoints), to_numpy(scores))
    ]
    if initial is not None:
        for instances, kpts in zip(preds, to_numpy(initial)):
            instances.initial_keypoints = kpts[None]
    return preds


def outputs_to_pred_fields(outputs: HeadOutputs, preds: InstanceList) -> PixelDataList:
    """Heatmaps to return with ``output_heatmaps``: the heatmaps themselves, or for SimCC
    vectors the product of the normalized x / y vectors, as ``RTMCCHead`` builds them (the
    vectors are then also stored in ``preds`` as ``keypoint_x_labels`` / ``_y_labels``)."""
    if isinstance(outputs, Tensor):
        return [PixelData(heatmaps=hm) for hm in outputs.detach()]
    pred_x = get_simcc_normalized(outputs[0].detach().float())
    pred_y = get_simcc_normalized(outputs[1].detach().float())
    heatmaps = torch.matmul(pred_y.unsqueeze(-1), pred_x.unsqueeze(-2))  # (B, K, Wy, Wx)
    for instances, x_labels, y_labels in zip(preds, to_numpy(pred_x), to_numpy(pred_y)):
        instances.keypoint_x_labels = x_labels[None]
        instances.keypoint_y_labels = y_labels[None]
    return [PixelData(heatmaps=hm) for hm in heatmaps]


def move_base_head_keys(
    state_dict: dict,
    prefix: str,
    base_head: nn.Module,
    own_names: Collection[str],
    base_name: str = 'pose_head',
) -> None:
    """Move a plain mmpose head's keys (``<prefix>final_layer.*`` ...) to
    ``<prefix><base_name>.*``, in place; for a ``load_state_dict`` pre-hook.

    A key is moved when its first name is a submodule, parameter or buffer of ``base_head``
    and not one of the wrapper's own names (``own_names``, built or switched off), so the
    wrapper's own checkpoints load unchanged.
    """
    own = set(own_names)
    base = set(base_head._modules) | set(base_head._parameters) | set(base_head._buffers)
    for key in list(state_dict):
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        first = name.split('.', 1)[0]
        if first in base and first not in own:
            state_dict[f'{prefix}{base_name}.{name}'] = state_dict.pop(key)
