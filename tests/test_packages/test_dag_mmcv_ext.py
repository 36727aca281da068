# Copyright (c) dag_mmpose contributors. All rights reserved.
"""packages/dag_mmcv_ext: the stand-ins for mmcv's compiled ops on mmcv-lite.

The ops are tested on any install (loaded from the package's file): against hand-computed
cases, against torchvision where torchvision is the reference, and against what full mmcv
computed on seeded inputs (``tests/data/mmcv_ops_reference.npz``, written by
``tools/misc/make_mmcv_ops_fixture.py``). How they hook in is tested in subprocesses."""

import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision

from dag_mmpose.testing.repo import REPO_ROOT
from dag_mmpose.utils.version_check import mmcv_route

PACKAGE = osp.join(REPO_ROOT, 'packages', 'dag_mmcv_ext')
REFERENCE = osp.join(REPO_ROOT, 'tests', 'data', 'mmcv_ops_reference.npz')
ROUTE = mmcv_route()


def _load_ops():
    spec = importlib.util.spec_from_file_location(
        '_dag_mmcv_ext_ops_under_test', osp.join(PACKAGE, 'dag_mmcv_ext', 'ops.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ops = _load_ops()


def _nms(boxes, scores, threshold=0.5, offset=0):
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return ops.nms(boxes, torch.as_tensor(scores, dtype=torch.float32), threshold, offset)


class TestNMS:
    def test_hand_computed(self):
        # A and B overlap by 81 / 119 = 0.68; C is apart
        boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]]
        assert _nms(boxes, [0.9, 0.8, 0.7], 0.5).tolist() == [0, 2]
        assert _nms(boxes, [0.9, 0.8, 0.7], 0.7).tolist() == [0, 1, 2]
        assert _nms(boxes, [0.7, 0.8, 0.9], 0.5).tolist() == [2, 1]  # highest score first

    def test_legacy_offset_counts_the_last_pixel(self):
        # 0-1 and 1-2 (x) touch: with offset 1 they share a column, IoU (1*2) / (2*2*2 - 2)
        boxes = [[0, 0, 1, 1], [1, 0, 2, 1]]
        assert _nms(boxes, [0.9, 0.8], 0.3, offset=0).tolist() == [0, 1]
        assert _nms(boxes, [0.9, 0.8], 0.3, offset=1).tolist() == [0]
        assert _nms(boxes, [0.9, 0.8], 0.34, offset=1).tolist() == [0, 1]  # 2/6 < 0.34
        with pytest.raises(ValueError, match='offset must be 0 or 1'):
            _nms(boxes, [0.9, 0.8], 0.3, offset=2)

    def test_empty_input(self):
        keep = _nms(np.zeros((0, 4)), np.zeros(0))
        assert keep.dtype == torch.long and keep.shape == (0,)

    def test_ties_keep_mmcvs_order(self):
        """mmcv processes boxes in the order of ``scores.sort(0, descending=True)``; with tied
        scores torchvision's own (stable) order differs, and so can what is kept."""
        rng = np.random.default_rng(3)
        scores = torch.tensor(np.round(rng.uniform(0, 1, 64), 1), dtype=torch.float32)
        boxes = torch.tensor(rng.uniform(0, 50, (64, 2)), dtype=torch.float32)
        boxes = torch.cat([boxes, boxes + 20], dim=1)
        order = scores.sort(0, descending=True)[1]
        keep = ops.nms(boxes, scores, 0.3)
        # each kept box comes in mmcv's order
        positions = torch.argsort(order)[keep]
        assert torch.all(positions[1:] > positions[:-1])

    def test_equals_torchvision_on_distinct_scores(self):
        rng = np.random.default_rng(4)
        for _ in range(50):
            num = int(rng.integers(1, 60))
            xy = rng.uniform(0, 80, (num, 2))
            boxes = torch.tensor(np.concatenate([xy, xy + rng.uniform(1, 30, (num, 2))], 1))
            scores = torch.tensor(rng.permutation(num) / num + 0.01)
            expected = torchvision.ops.nms(boxes.float(), scores.float(), 0.5)
            assert torch.equal(ops.nms(boxes.float(), scores.float(), 0.5), expected)


def _reference():
    return np.load(REFERENCE)


def test_nms_equals_full_mmcv_on_the_recorded_cases():
    ref = _reference()
    starts = np.concatenate([[0], np.cumsum(ref['nms_sizes'])])
    keep_starts = np.concatenate([[0], np.cumsum(ref['nms_keep_sizes'])])
    for case in range(len(ref['nms_sizes'])):
        boxes = ref['nms_boxes'][starts[case] : starts[case + 1]]
        scores = ref['nms_scores'][starts[case] : starts[case + 1]]
        keep = _nms(
            boxes, scores, float(ref['nms_thresholds'][case]), int(ref['nms_offsets'][case])
        )
        expected = ref['nms_keep'][keep_starts[case] : keep_starts[case + 1]]
        np.testing.assert_array_equal(keep.numpy(), expected, err_msg=f'case {case}')


def test_class_aware_batched_nms(monkeypatch):
    """mmcv.ops.batched_nms (class-aware: boxes of other classes never suppress each other)
    with the stand-in as its kernel: by hand, and equal to full mmcv's recorded cases."""
    mmcv_nms = importlib.import_module('mmcv.ops.nms')  # the module (mmcv.ops.nms is a function)
    monkeypatch.setattr(mmcv_nms, 'ext_module', ops)  # the stand-in, whatever is installed
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = mmcv_nms.batched_nms(boxes, scores, torch.tensor([0, 1, 0]), dict(iou_threshold=0.5))
    assert keep.tolist() == [0, 1]  # box 2 overlaps box 0 of its class; box 1 is another class
    ref = _reference()
    starts = np.concatenate([[0], np.cumsum(ref['nms_sizes'])])
    keep_starts = np.concatenate([[0], np.cumsum(ref['batched_keep_sizes'])])
    for case in np.flatnonzero(ref['nms_sizes']):
        part = slice(starts[case], starts[case + 1])
        _, keep = mmcv_nms.batched_nms(
            torch.from_numpy(ref['nms_boxes'][part]),
            torch.from_numpy(ref['nms_scores'][part]),
            torch.from_numpy(ref['nms_classes'][part]),
            dict(type='nms', iou_threshold=float(ref['nms_thresholds'][case])),
        )
        expected = ref['batched_keep'][keep_starts[case] : keep_starts[case + 1]]
        np.testing.assert_array_equal(keep.numpy(), expected, err_msg=f'case {case}')


def _roi_case(ref, case):
    size = tuple(int(v) for v in ref['roi_size'][case])
    shape = (5, 3) + size
    offsets = np.concatenate(
        [[0], np.cumsum([5 * 3 * int(h) * int(w) for h, w in ref['roi_size']])]
    )
    grad_output = ref['roi_grad_output'][offsets[case] : offsets[case + 1]].reshape(shape)
    output = ref['roi_output'][offsets[case] : offsets[case + 1]].reshape(shape)
    settings = dict(
        aligned_height=size[0],
        aligned_width=size[1],
        spatial_scale=float(ref['roi_scale'][case]),
        sampling_ratio=int(ref['roi_sampling'][case]),
        pool_mode=1,
        aligned=bool(ref['roi_aligned'][case]),
    )
    return torch.from_numpy(grad_output), output, settings


def test_roi_align_equals_full_mmcv_on_the_recorded_cases():
    ref = _reference()
    for case in range(len(ref['roi_scale'])):
        grad_output, expected, settings = _roi_case(ref, case)
        feats = torch.from_numpy(ref['roi_feats'][case])
        rois = torch.from_numpy(ref['roi_rois'][case])
        output = feats.new_zeros(expected.shape)
        empty = feats.new_zeros(0)
        ops.roi_align_forward(feats, rois, output, empty, empty, **settings)
        np.testing.assert_allclose(output.numpy(), expected, atol=1e-6, err_msg=f'case {case}')
        grad_input = torch.zeros_like(feats)
        ops.roi_align_backward(grad_output, rois, empty, empty, grad_input, **settings)
        np.testing.assert_allclose(
            grad_input.numpy(), ref['roi_grad_input'][case], atol=1e-5, err_msg=f'case {case}'
        )


def test_roi_align_is_torchvisions_and_max_mode_is_refused():
    rng = np.random.default_rng(5)
    feats = torch.tensor(rng.normal(size=(1, 2, 10, 10)), dtype=torch.float32)
    rois = torch.tensor([[0, 1.0, 1.0, 7.5, 6.0], [0, 0.0, 2.0, 9.0, 9.0]])
    output = feats.new_zeros(2, 2, 3, 3)
    empty = feats.new_zeros(0)
    settings = dict(aligned_height=3, aligned_width=3, spatial_scale=1.0, sampling_ratio=0)
    ops.roi_align_forward(feats, rois, output, empty, empty, pool_mode=1, aligned=True, **settings)
    expected = torchvision.ops.roi_align(feats, rois, (3, 3), 1.0, 0, True)
    assert torch.equal(output, expected)
    with pytest.raises(NotImplementedError, match="'max' mode .* --mmcv full"):
        ops.roi_align_forward(feats, rois, output, empty, empty, pool_mode=0, aligned=True,
                              **settings)  # fmt: skip


def test_other_ops_exist_and_raise_naming_themselves():
    assert callable(ops.deform_conv_forward)
    with pytest.raises(NotImplementedError, match=r"'deform_conv_forward'.*--mmcv full"):
        ops.deform_conv_forward(torch.zeros(1))
    assert not hasattr(ops, '__path__')  # dunder names are not ops: never a package
    assert 'mmcv-lite' in ops.get_compiler_version()


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environ = dict(os.environ, **env)
    return subprocess.run(
        [sys.executable, '-c', code], cwd='/', env=environ, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


@pytest.mark.skipif(ROUTE != 'lite', reason=f'mmcv-lite route only (this install: {ROUTE})')
class TestLiteRoute:
    @pytest.mark.slow  # eight fresh interpreters
    def test_every_import_order(self):
        """mmpose.models (edpose_head imports mmcv.ops) without or before dag_mmpose, and
        mmdet.models: the stand-in is hooked in at interpreter start, not by dag_mmpose."""
        for code in (
            'import mmpose.models',
            'import mmdet.models; import mmpose.apis',
            'import mmpose.models, dag_mmpose',
            'import dag_mmpose, mmpose.visualization',
        ):
            result = _python(code + '; import mmcv._ext as e; assert e.DAG_MMCV_EXT_STANDIN')
            assert result.returncode == 0, (code, result.stderr[-2000:])

    def test_without_the_stand_ins_import_says_what_to_install(self):
        """As after `pip uninstall dag-mmcv-ext`: mmcv-lite alone cannot serve mmcv.ops."""
        code = (
            'import sys; sys.meta_path[:] = [f for f in sys.meta_path '
            'if type(f).__name__ != "_StandInFinder"]; import dag_mmpose'
        )
        result = _python(code)
        assert result.returncode != 0
        assert 'mmcv has no compiled ops' in result.stderr
        assert 'pip install packages/dag_mmcv_ext' in result.stderr, result.stderr[-2000:]

    def test_a_compiled_ext_always_wins(self, tmp_path):
        """An ``_ext`` in mmcv's own folders is found by Python's path finder first."""
        (tmp_path / '_ext.py').write_text('COMPILED = True\n')
        code = (
            f'import mmcv; mmcv.__path__.insert(0, {str(tmp_path)!r}); import mmcv._ext as e; '
            'assert getattr(e, "COMPILED", False), e.__file__'
        )
        result = _python(code)
        assert result.returncode == 0, result.stderr[-2000:]


DETECTOR_SCRIPT = """
import importlib.util, os.path as osp
import cv2, numpy as np
from mmengine.config import Config
from mmpose.apis import MMPoseInferencer
from dag_mmpose.utils.config import drop_pretrained

import mmcv._ext as ext
standin = getattr(ext, 'DAG_MMCV_EXT_STANDIN', False)
calls = dict(nms=0, roi_align_forward=0)
for name in calls if standin else ():
    def counted(*args, _op=getattr(ext, name), _name=name, **kwargs):
        calls[_name] += 1
        return _op(*args, **kwargs)
    setattr(ext, name, counted)

mmdet_root = osp.dirname(importlib.util.find_spec('mmdet').origin)
det = Config.fromfile(
    osp.join(mmdet_root, '.mim', 'configs', 'faster_rcnn', 'faster-rcnn_r50_fpn_1x_coco.py')
)
drop_pretrained(det.model)
det.model.backbone.depth = 18
det.model.neck.in_channels = [64, 128, 256, 512]
for step in det.test_dataloader.dataset.pipeline:
    if step.type == 'Resize':
        step.scale = (160, 128)
det.dump(osp.join({tmp!r}, 'det.py'))
image = osp.join({tmp!r}, 'people.jpg')
cv2.imwrite(image, np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8))
pose = osp.join({repo!r}, 'configs', 'demo', 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py')
inferencer = MMPoseInferencer(pose2d=pose, det_model=osp.join({tmp!r}, 'det.py'),
                              det_weights=None, det_cat_ids=[0], device='cpu')
results = list(inferencer(image, bbox_thr=0.0, return_vis=False))
assert 'predictions' in results[0]
assert not standin or (calls['nms'] > 0 and calls['roi_align_forward'] > 0), calls
print(f'predictions for {{len(results)}} image; stand-in calls {{calls}}')
"""


@pytest.mark.slow
def test_detector_through_the_inferencer(tmp_path):
    """mmdet's Faster R-CNN with random weights (nms in the RPN and the head, roi_align
    in the RoI extractor) in front of the demo pose model, end to end, on either route
    (on the lite one the stand-ins must be the ops called). In a subprocess:
    the inferencers set mmengine's global default scope."""
    script = tmp_path / 'infer.py'
    script.write_text(DETECTOR_SCRIPT.format(repo=REPO_ROOT, tmp=str(tmp_path)))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'predictions for 1 image' in result.stdout


@pytest.mark.skipif(ROUTE != 'full', reason=f'full mmcv route only (this install: {ROUTE})')
class TestFullRoute:
    def test_compiled_ops_stay_in_use_with_the_finder_installed(self):
        code = (
            'import dag_mmcv_ext; dag_mmcv_ext.install(); import mmcv._ext as e; '
            'assert e.__file__.endswith(".so"), e.__file__; '
            'assert not hasattr(e, "DAG_MMCV_EXT_STANDIN")'
        )
        result = _python(code, PYTHONPATH=PACKAGE)
        assert result.returncode == 0, result.stderr[-2000:]

    def test_stand_ins_equal_compiled_mmcv(self):
        from mmcv import _ext

        rng = np.random.default_rng(6)
        for case in range(100):
            num = int(rng.integers(1, 50))
            xy = rng.uniform(0, 60, (num, 2))
            boxes = torch.tensor(np.concatenate([xy, xy + rng.uniform(2, 25, (num, 2))], 1),
                                 dtype=torch.float32)  # fmt: skip
            scores = torch.tensor(np.round(rng.uniform(0, 1, num), 1), dtype=torch.float32)
            for offset in (0, 1):
                expected = _ext.nms(boxes, scores, iou_threshold=0.4, offset=offset)
                assert torch.equal(ops.nms(boxes, scores, 0.4, offset), expected), case
