# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Record what full mmcv's compiled ops compute on seeded inputs, as the reference of the
stand-ins in ``packages/dag_mmcv_ext`` (``tests/data/mmcv_ops_reference.npz``).

Run it where mmcv is built with its ops (``bash tools/install.sh --mmcv full``); the tests of
the stand-ins compare against the file on any install, and against mmcv itself where it is
there::

    python tools/misc/make_mmcv_ops_fixture.py tests/data/mmcv_ops_reference.npz

Cases: ``nms`` on boxes with tied scores (scores on a 0.1 grid), both offsets, three IoU
thresholds and empty input; class-aware ``batched_nms``; ``roi_align`` ('avg') forward and
backward over scales, sampling ratios and both ``aligned`` settings.
"""

import argparse
import importlib.util

import numpy as np
import torch

NMS_CASES = 160
ROI_CASES = 40


def nms_inputs(rng: np.random.Generator, num: int):
    """Boxes (num, 4) clustered so that many overlap, and scores with ties."""
    centers = rng.uniform(10, 90, (max(num // 4, 1), 2))
    picks = centers[rng.integers(0, len(centers), num)] + rng.normal(0, 4, (num, 2))
    sizes = rng.uniform(5, 30, (num, 2))
    boxes = np.concatenate([picks - sizes / 2, picks + sizes / 2], axis=1)
    scores = np.round(rng.uniform(0.05, 1.0, num), 1)  # ties on a 0.1 grid
    return boxes.astype(np.float32), scores.astype(np.float32)


def roi_inputs(rng: np.random.Generator):
    """A feature map (2, 3, 12, 16), RoIs (5, 5) in image pixels and the op's settings."""
    feats = rng.normal(0, 1, (2, 3, 12, 16)).astype(np.float32)
    scale = float(rng.choice([1.0, 0.5, 0.25]))
    x1y1 = rng.uniform(0, 14 / scale, (5, 2))
    wh = rng.uniform(1, 10 / scale, (5, 2))
    rois = np.concatenate([rng.integers(0, 2, (5, 1)), x1y1, x1y1 + wh], axis=1)
    size = (int(rng.integers(2, 7)), int(rng.integers(2, 7)))
    sampling = int(rng.choice([0, 2]))
    aligned = bool(rng.integers(0, 2))
    grad = rng.normal(0, 1, (5, 3) + size).astype(np.float32)
    return feats, rois.astype(np.float32), scale, size, sampling, aligned, grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='the .npz to write')
    args = parser.parse_args()
    spec = importlib.util.find_spec('mmcv._ext')
    if spec is None or spec.origin.endswith('.py'):
        raise SystemExit(
            'make_mmcv_ops_fixture.py records full mmcv: this mmcv has no compiled ops '
            f'({spec.origin if spec else "no mmcv._ext"}); run `bash tools/install.sh --mmcv full`'
        )
    from mmcv import _ext
    from mmcv.ops import batched_nms, roi_align

    rng = np.random.default_rng(0)
    record = dict(mmcv_ext=np.array(spec.origin), torch=np.array(torch.__version__))
    boxes_all, scores_all, keep_all, batched_all, classes_all = [], [], [], [], []
    sizes, offsets, thresholds, keep_sizes, batched_sizes = [], [], [], [], []
    for case in range(NMS_CASES):
        num = 0 if case % 40 == 0 else int(rng.integers(1, 48))
        boxes, scores = nms_inputs(rng, num)
        offset = int(case % 2)
        threshold = float([0.3, 0.5, 0.7][case % 3])
        keep = _ext.nms(
            torch.from_numpy(boxes).reshape(-1, 4),
            torch.from_numpy(scores),
            iou_threshold=threshold,
            offset=offset,
        )
        classes = rng.integers(0, 3, num)
        batched = torch.zeros(0, dtype=torch.long)
        if num:  # mmcv's batched_nms itself fails on no boxes (boxes.max() of nothing)
            _, batched = batched_nms(
                torch.from_numpy(boxes).reshape(-1, 4),
                torch.from_numpy(scores),
                torch.from_numpy(classes),
                dict(type='nms', iou_threshold=threshold),
            )
        boxes_all.append(boxes.reshape(-1, 4))
        scores_all.append(scores)
        classes_all.append(classes)
        keep_all.append(keep.numpy())
        batched_all.append(batched.numpy())
        sizes.append(num)
        offsets.append(offset)
        thresholds.append(threshold)
        keep_sizes.append(len(keep))
        batched_sizes.append(len(batched))
    record.update(
        nms_boxes=np.concatenate(boxes_all),
        nms_scores=np.concatenate(scores_all),
        nms_classes=np.concatenate(classes_all),
        nms_sizes=np.array(sizes),
        nms_offsets=np.array(offsets),
        nms_thresholds=np.array(thresholds, dtype=np.float32),
        nms_keep=np.concatenate(keep_all),
        nms_keep_sizes=np.array(keep_sizes),
        batched_keep=np.concatenate(batched_all),
        batched_keep_sizes=np.array(batched_sizes),
    )

    roi = {k: [] for k in ('feats', 'rois', 'scale', 'size', 'sampling', 'aligned', 'grad')}
    outputs, grads = [], []
    for _ in range(ROI_CASES):
        feats, rois, scale, size, sampling, aligned, grad = roi_inputs(rng)
        x = torch.from_numpy(feats).requires_grad_()
        out = roi_align(x, torch.from_numpy(rois), size, scale, sampling, 'avg', aligned)
        out.backward(torch.from_numpy(grad))
        for key, value in zip(roi, (feats, rois, scale, size, sampling, aligned, grad)):
            roi[key].append(value)
        outputs.append(out.detach().numpy().reshape(-1))
        grads.append(x.grad.numpy())
    record.update(
        roi_feats=np.stack(roi['feats']),
        roi_rois=np.stack(roi['rois']),
        roi_scale=np.array(roi['scale'], dtype=np.float32),
        roi_size=np.array(roi['size']),
        roi_sampling=np.array(roi['sampling']),
        roi_aligned=np.array(roi['aligned']),
        roi_grad_output=np.concatenate([g.reshape(-1) for g in roi['grad']]),
        roi_output=np.concatenate(outputs),
        roi_grad_input=np.stack(grads),
    )
    np.savez_compressed(args.out, **record)
    print(f'wrote {args.out}: {NMS_CASES} nms cases, {ROI_CASES} roi_align cases')


if __name__ == '__main__':
    main()
