# Copyright (c) dag_mmpose contributors. All rights reserved.
"""One graph from the image crop to the refined keypoints, for ``torch.onnx.export``.

:class:`PoseExportWrapper` is what ``tools/deployment/pytorch2onnx.py`` exports
(``docs/deployment.md``): the data preprocessor's channel order and normalisation, the
backbone and neck, the head, and the decoding of the initial pose in torch
(:func:`~dag_mmpose.models.utils.torch_decoding.torch_decode`), so the refinement is inside
the graph:

- ``FGMHGCNHead`` (DAG): the base head's pose plus the GCN's offsets; with
  ``coord_frame='box'`` (the authors' release) each person's box in the crop is an input;
- ``IGPGCNHead`` (OPEC-Net) end to end: the base head's pose, with the GCN's last pose in
  place of the joints the model's ``test_cfg`` lets it replace (OPEC-Net's low-score rule:
  ``score_thr`` 0.2, or ``refine_joints='all'``); as a refiner the initial pose (and with
  CoupleGraph the partner's) are inputs of the graph;
- a D-Slope ``DualSampleEstimator``: its expert network (ENet), as the exported ENet
  checkpoint under the plain config gives it;
- any other top-down model whose head's codec has a torch decoder (heatmap, SimCC, RTMCC).

Outputs: ``keypoints`` (B, K, 2) in crop pixels and ``scores`` (B, K), the initial pose's
scores. Left out: flip test and any rescoring (see the docs).
"""

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..models.distillers import DualSampleEstimator
from ..models.heads import FGMHGCNHead, IGPGCNHead
from ..models.utils.joint_sampling import normalized_to_pixels
from ..models.utils.torch_decoding import torch_decode, torch_decoder_name

__all__ = ['PoseExportWrapper', 'export_inputs']


class PoseExportWrapper(nn.Module):
    """A top-down model as one function of tensors: the crop (and a refiner's given poses)
    to keypoints and scores.

    Args:
        model (nn.Module): A built top-down pose estimator (weights loaded), or a
            ``DualSampleEstimator`` (its ENet is exported).

    Inputs of :meth:`forward`, in the order of :attr:`input_names`:
        - img (Tensor): (B, 3, H, W) crops as ``TopdownAffine`` makes them (BGR, 0-255,
          float); the wrapper converts and normalises them as the data preprocessor does.
        - boxes (Tensor): ``FGMHGCNHead(coord_frame='box')`` only, (B, 4) ``(x0, y0, w, h)``:
          each person's box (the detection) in crop pixels, the frame of the GCN's
          coordinates (the head's ``_boxes_in_crop`` maps it from the image);
        - initial_keypoints, initial_scores (Tensor): refiner mode only, (B, K, 2) crop
          pixels and (B, K);
        - partner_keypoints, partner_scores (Tensor): CoupleGraph only, the same shapes.

    Raises:
        ValueError: For a head whose codec has no torch decoder (the graph would need numpy).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if isinstance(model, DualSampleEstimator):
            model = model.enet
        self.model = model.eval()
        head = model.head
        self.input_names = ['img']
        if isinstance(head, FGMHGCNHead) and head.gcn is not None and head.coord_frame == 'box':
            self.input_names.append('boxes')
        if isinstance(head, IGPGCNHead) and head.pose_head is None:
            self.input_names += ['initial_keypoints', 'initial_scores']
            if head.couple_graph:
                self.input_names += ['partner_keypoints', 'partner_scores']
        else:
            base = head.pose_head if isinstance(head, (FGMHGCNHead, IGPGCNHead)) else head
            decoder = getattr(base, 'decoder', None)
            if torch_decoder_name(decoder) is None:
                raise ValueError(
                    f'PoseExportWrapper: the codec {type(decoder).__name__} of '
                    f'{type(base).__name__} has no torch decoder, so its pose cannot be decoded '
                    'inside the graph (supported: MSRAHeatmap, DARK, UDPHeatmap, SimCCLabel, '
                    'DAGHeatmap)'
                )
        preprocessor = model.data_preprocessor
        normalize = bool(getattr(preprocessor, '_enable_normalize', False))
        self.bgr_to_rgb = bool(getattr(preprocessor, '_channel_conversion', False))
        mean = preprocessor.mean.reshape(1, -1, 1, 1) if normalize else torch.zeros(1, 3, 1, 1)
        std = preprocessor.std.reshape(1, -1, 1, 1) if normalize else torch.ones(1, 3, 1, 1)
        self.register_buffer('mean', mean.clone().float(), persistent=False)
        self.register_buffer('std', std.clone().float(), persistent=False)
        test_cfg = dict(getattr(model, 'test_cfg', None) or {})
        self.refine_all = test_cfg.get('refine_joints', 'low_score') == 'all'
        self.score_thr = float(test_cfg.get('score_thr', 0.2))
        self.eval()

    def forward(self, img: Tensor, *given: Tensor) -> Tuple[Tensor, Tensor]:
        """Keypoints (B, K, 2) in crop pixels and scores (B, K) of the crops ``img``;
        ``given`` are the other inputs of :attr:`input_names`, in that order."""
        if len(given) != len(self.input_names) - 1:
            raise ValueError(
                f'PoseExportWrapper takes {self.input_names}, got img and {len(given)} more'
            )
        named = dict(zip(self.input_names[1:], given))
        x = img.float()
        if self.bgr_to_rgb:
            x = x.flip(1)
        feats = self.model.extract_feat((x - self.mean) / self.std)
        head = self.model.head
        if isinstance(head, FGMHGCNHead):
            if head.gcn is None:
                return torch_decode(head.pose_head.decoder, head.forward(feats))
            refinement = head._refine(feats, named.get('boxes'))
            return refinement.refined_pixels(head.input_size), refinement.scores
        if isinstance(head, IGPGCNHead):
            return self._opec(
                head,
                feats,
                named.get('initial_keypoints'),
                named.get('initial_scores'),
                named.get('partner_keypoints'),
                named.get('partner_scores'),
            )
        return torch_decode(head.decoder, head.forward(feats))

    def _opec(
        self,
        head: IGPGCNHead,
        feats: Sequence[Tensor],
        keypoints: Optional[Tensor],
        scores: Optional[Tensor],
        partner_keypoints: Optional[Tensor],
        partner_scores: Optional[Tensor],
    ) -> Tuple[Tensor, Tensor]:
        """OPEC-Net's prediction: the GCN's last pose where the test rule lets it replace
        the initial one."""
        partner = None
        if head.pose_head is not None:
            keypoints, scores = torch_decode(head.pose_head.decoder, head._forward_base(feats))
        elif head.couple_graph:
            partner = (partner_keypoints, partner_scores)
        refined = head._run_gcn(feats, keypoints, scores, partner).poses[-1]
        refined = normalized_to_pixels(refined, head.input_size)
        initial = keypoints.float()
        if self.refine_all:
            return refined, scores
        replace = (scores < self.score_thr).unsqueeze(-1)
        return torch.where(replace, refined, initial), scores


def export_inputs(
    wrapper: PoseExportWrapper,
    input_size: Tuple[int, int],
    batch_size: int = 2,
    seed: int = 0,
) -> Tuple[Tensor, ...]:
    """Example inputs of ``wrapper`` (random crops; random boxes inside the crop, as
    mmpose's 1.25 padding leaves them, for a box-frame head; random given poses for a
    refiner), in the order of ``wrapper.input_names``."""
    generator = torch.Generator().manual_seed(seed)
    width, height = input_size
    inputs = [torch.rand(batch_size, 3, height, width, generator=generator) * 255]
    head = wrapper.model.head
    num_keypoints = getattr(head, 'num_keypoints', None)
    for name in wrapper.input_names[1:]:
        if name == 'boxes':
            size = torch.tensor([width, height], dtype=torch.float32)
            extent = (0.6 + 0.2 * torch.rand(batch_size, 2, generator=generator)) * size
            top_left = torch.rand(batch_size, 2, generator=generator) * (size - extent)
            inputs.append(torch.cat([top_left, extent], dim=1))
        elif name.endswith('keypoints'):
            scale = torch.tensor([width, height], dtype=torch.float32)
            inputs.append(torch.rand(batch_size, num_keypoints, 2, generator=generator) * scale)
        else:
            inputs.append(torch.rand(batch_size, num_keypoints, generator=generator))
    return tuple(inputs)


def export_onnx(
    wrapper: PoseExportWrapper,
    out_file: str,
    input_size: Tuple[int, int],
    opset_version: int = 18,
    batch_size: int = 2,
) -> str:
    """Export ``wrapper`` to ``out_file`` with a dynamic batch dimension (torch's
    ``torch.export``-based exporter); returns ``out_file``."""
    inputs = export_inputs(wrapper, input_size, batch_size)
    batch = torch.export.Dim('batch', min=1, max=4096)
    # img, then the other inputs as forward's *given
    dynamic_shapes = [{0: batch}]
    if len(wrapper.input_names) > 1:
        dynamic_shapes.append(tuple({0: batch} for _ in wrapper.input_names[1:]))
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            inputs,
            out_file,
            input_names=wrapper.input_names,
            output_names=['keypoints', 'scores'],
            dynamic_shapes=tuple(dynamic_shapes),
            opset_version=opset_version,
            dynamo=True,
            external_data=False,
        )
    return out_file
