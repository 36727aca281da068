# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Export a dag_mmpose model (DAG, OPEC-Net end to end or as a refiner, a D-Slope ENet, or any
top-down model with a heatmap / SimCC head) to ONNX as one graph: the image crop (and a
refiner's given poses) in, the refined keypoints (crop pixels) and scores out, with a
dynamic batch dimension. ``docs/deployment.md`` says what the graph does and leaves out::

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT OUT.onnx

With onnxruntime installed the graph is run on random crops of two batch sizes and compared
with PyTorch; the tool fails when a keypoint differs by more than ``--tolerance`` pixels.
"""

import argparse
import sys
from typing import List, Optional, Tuple

import numpy as np
import torch

import dag_mmpose  # noqa: F401  (registers the modules, the checkpoint allow-list)
from dag_mmpose.deployment import PoseExportWrapper, export_inputs, export_onnx


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', help="its checkpoint ('none': random weights)")
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset (default: 18)')
    parser.add_argument(
        '--tolerance', type=float, default=1e-3, help='largest keypoint difference in px'
    )
    parser.add_argument('--no-verify', action='store_true', help='skip the onnxruntime check')
    return parser.parse_args(argv)


def crop_size(wrapper: PoseExportWrapper) -> Tuple[int, int]:
    """The (w, h) crop the model takes."""
    head = wrapper.model.head
    size = getattr(head, 'input_size', None)
    if size is None:
        size = head.decoder.input_size
    return int(size[0]), int(size[1])


def verify(wrapper: PoseExportWrapper, out: str, size: Tuple[int, int]) -> Tuple[float, float]:
    """Largest keypoint (px) and score differences between onnxruntime and PyTorch over
    batches of 1 and 3."""
    import onnxruntime

    session = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider'])
    worst = [0.0, 0.0]
    for batch, seed in ((1, 11), (3, 12)):
        inputs = export_inputs(wrapper, size, batch_size=batch, seed=seed)
        with torch.no_grad():
            expected = wrapper(*inputs)
        feed = {name: value.numpy() for name, value in zip(wrapper.input_names, inputs)}
        for index, (got, ref) in enumerate(zip(session.run(None, feed), expected)):
            worst[index] = max(worst[index], float(np.abs(got - ref.numpy()).max()))
    return worst[0], worst[1]


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmpose.apis import init_model

    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    # cfg_options={} skips init_model's `config.model.backbone` edit, which a D-Slope
    # DualSampleEstimator (no top-level backbone) does not have
    model = init_model(args.config, checkpoint, device='cpu', cfg_options={})
    wrapper = PoseExportWrapper(model)
    size = crop_size(wrapper)
    export_onnx(wrapper, args.out, size, opset_version=args.opset)
    print(f'wrote {args.out}: inputs {wrapper.input_names} (crops {size[0]}x{size[1]}), '
          'outputs keypoints (B, K, 2, crop pixels), scores (B, K)')  # fmt: skip
    if args.no_verify:
        return 0
    try:
        keypoints, scores = verify(wrapper, args.out, size)
    except ImportError:
        print('onnxruntime is not installed: the graph was not checked')
        return 0
    print(f'onnxruntime vs PyTorch: keypoints {keypoints:.2e} px, scores {scores:.2e}')
    if keypoints > args.tolerance:
        print(f'pytorch2onnx: keypoints differ by more than {args.tolerance} px', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
