# Copyright (c) dag_mmpose contributors. All rights reserved.
"""tools/deployment/pytorch2onnx.py: one graph per model family, onnxruntime equal to PyTorch
within 1e-3 px for two batch sizes (the batch dimension is dynamic)."""

import importlib.util
import os.path as osp

import numpy as np
import onnx
import pytest
import torch
from mmengine.structures import InstanceData

from dag_mmpose.deployment import PoseExportWrapper, export_inputs
from dag_mmpose.models.distillers import export_enet_checkpoint
from dag_mmpose.testing import build_demo_model, demo_config
from dag_mmpose.testing.repo import REPO_ROOT

pytestmark = pytest.mark.slow


def _tool():
    spec = importlib.util.spec_from_file_location(
        'pytorch2onnx', osp.join(REPO_ROOT, 'tools', 'deployment', 'pytorch2onnx.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config_and_checkpoint(name: str, tmp_path) -> tuple:
    """The demo config of ``name`` written to a file, and a checkpoint of random weights."""
    model, cfg = build_demo_model(name)
    config = str(tmp_path / f'{name}.py')
    cfg.dump(config)
    checkpoint = str(tmp_path / f'{name}.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    return config, checkpoint


@pytest.mark.parametrize(
    'name, inputs',
    [
        ('dag', ['img']),
        # the demo's release architecture (crop frame); the release-exact model, boxes
        # in, is tested below
        ('dag-release', ['img']),
        ('opec', ['img']),
        (
            'opec-couplegraph',
            ['img', 'initial_keypoints', 'initial_scores', 'partner_keypoints', 'partner_scores'],
        ),
        ('dslope', ['img']),
    ],
)
def test_export_matches_pytorch(name, inputs, tmp_path, capsys):
    config, checkpoint = _config_and_checkpoint(name, tmp_path)
    out = str(tmp_path / f'{name}.onnx')
    assert _tool().main([config, checkpoint, out]) == 0
    printed = capsys.readouterr().out
    assert 'onnxruntime vs PyTorch' in printed, printed
    graph = onnx.load(out).graph
    assert [i.name for i in graph.input] == inputs
    assert [o.name for o in graph.output] == ['keypoints', 'scores']
    # the batch dimension is symbolic
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert not graph.input[0].type.tensor_type.shape.dim[0].dim_value


def test_the_exported_enet_checkpoint_exports_under_the_plain_config(tmp_path):
    """D-Slope's ENet as users deploy it: tools/misc/export_enet.py's checkpoint with the
    plain config, giving the same graph as the D-Slope checkpoint itself."""
    import onnxruntime

    config, checkpoint = _config_and_checkpoint('dslope', tmp_path)
    enet = export_enet_checkpoint(checkpoint, str(tmp_path / 'enet.pth'))
    plain = demo_config('baseline')
    plain_config = str(tmp_path / 'plain.py')
    plain.dump(plain_config)
    tool = _tool()
    assert tool.main([plain_config, enet, str(tmp_path / 'enet.onnx')]) == 0
    assert tool.main([config, checkpoint, str(tmp_path / 'dslope.onnx')]) == 0
    feed = {'img': (np.random.default_rng(0).random((2, 3, 128, 96)) * 255).astype(np.float32)}
    outputs = [
        onnxruntime.InferenceSession(str(tmp_path / f), providers=['CPUExecutionProvider']).run(
            None, feed
        )
        for f in ('enet.onnx', 'dslope.onnx')
    ]
    for a, b in zip(*outputs):
        np.testing.assert_array_equal(a, b)


def test_the_graph_is_the_models_prediction_without_flip():
    """The wrapper's keypoints are what the model predicts with flip test off (crop pixels),
    for DAG (refined) and OPEC-Net (low-score rule)."""
    from mmpose.structures import PoseDataSample

    for name in ('dag', 'opec'):
        model, cfg = build_demo_model(name)
        wrapper = PoseExportWrapper(model)
        (img,) = export_inputs(wrapper, (96, 128), batch_size=2, seed=3)
        with torch.no_grad():
            keypoints, scores = wrapper(img)
            data = model.data_preprocessor(
                dict(inputs=list(img), data_samples=[PoseDataSample() for _ in range(2)])
            )
            feats = model.extract_feat(data['inputs'])
            test_cfg = dict(model.test_cfg, flip_test=False)
            preds = model.head.predict(feats, data['data_samples'], test_cfg)
        assert isinstance(preds[0], InstanceData)
        expected = np.concatenate([p.keypoints for p in preds])
        np.testing.assert_allclose(keypoints.numpy(), expected, atol=1e-4)
        np.testing.assert_array_equal(
            scores.numpy(), np.concatenate([p.keypoint_scores for p in preds])
        )


def test_a_codec_without_a_torch_decoder_is_refused():
    from mmpose.codecs import SimCCLabel

    model, _ = build_demo_model('baseline')
    model.head.decoder = SimCCLabel((96, 128), sigma=6.0, use_dark=True)
    with pytest.raises(ValueError, match='SimCCLabel of HeatmapHead has no torch decoder'):
        PoseExportWrapper(model)


def test_crop_pixels_map_back_like_inference_topdown():
    """docs/deployment.md's mapping of the graph's crop pixels to the image, against mmpose's
    inference_topdown on the same image and box (flip test off: the graph has none)."""
    from mmpose.apis import inference_topdown
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine

    model, cfg = build_demo_model('dag')
    model.cfg = cfg
    model.dataset_meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))
    model.test_cfg = dict(model.test_cfg, flip_test=False)
    image = (np.random.default_rng(4).random((150, 200, 3)) * 255).astype(np.uint8)
    box = np.array([[40.0, 20.0, 130.0, 140.0]], dtype=np.float32)
    expected = inference_topdown(model, image, box)[0].pred_instances.keypoints

    results = dict(img=image, bbox=box.copy())
    results = TopdownAffine(input_size=(96, 128))(GetBBoxCenterScale(padding=1.25)(results))
    crop = torch.from_numpy(results['img'].transpose(2, 0, 1)[None].astype(np.float32))
    with torch.no_grad():
        keypoints, _ = PoseExportWrapper(model)(crop)
    size = np.array(results['input_size'], dtype=np.float32)
    keypoints = (
        keypoints.numpy() / size * results['input_scale']
        + results['input_center']
        - 0.5 * results['input_scale']
    )
    np.testing.assert_allclose(keypoints, expected, atol=1e-3)


def test_the_release_model_exports_with_its_boxes(tmp_path, capsys):
    """The authors' release as our release config builds it (every switch: the GCN over each
    person's box, 2x heatmaps, legacy decoding, release GCN blocks), on the release
    fixture's small architecture with its converted weights: each person's box in the crop
    is an input of the graph, which gives what the model predicts for samples with those
    boxes (flip test off), and the tool's onnxruntime check passes."""
    from mmpose.structures import PoseDataSample

    from dag_mmpose.testing.release import build_converted, fixture_config, load_fixture

    fixture = load_fixture(osp.join(REPO_ROOT, 'tests', 'data', 'dag_release_fixture.npz'))
    model = build_converted(fixture, str(tmp_path))
    assert model.head.coord_frame == 'box'
    wrapper = PoseExportWrapper(model)
    assert wrapper.input_names == ['img', 'boxes']
    width, height = model.head.input_size
    img, boxes = export_inputs(wrapper, (width, height), batch_size=3, seed=5)
    assert (boxes[:, :2] >= 0).all() and (
        boxes[:, :2] + boxes[:, 2:] <= torch.tensor([width, height])
    ).all()
    samples = []
    for box in boxes.double().numpy():
        # the image is the crop: the box in the image is the box in the crop
        sample = PoseDataSample(
            metainfo=dict(
                input_size=(width, height),
                input_center=np.array([width / 2, height / 2]),
                input_scale=np.array([width, height], dtype=np.float64),
            )
        )
        sample.gt_instances = InstanceData(
            bboxes=np.concatenate([box[:2], box[:2] + box[2:]])[None]
        )
        samples.append(sample)
    with torch.no_grad():
        keypoints, scores = wrapper(img, boxes)
        data = model.data_preprocessor(dict(inputs=list(img), data_samples=samples))
        feats = model.extract_feat(data['inputs'])
        preds = model.head.predict(
            feats, data['data_samples'], dict(model.test_cfg, flip_test=False)
        )
    np.testing.assert_allclose(
        keypoints.numpy(), np.concatenate([p.keypoints for p in preds]), atol=1e-4
    )
    np.testing.assert_array_equal(
        scores.numpy(), np.concatenate([p.keypoint_scores for p in preds])
    )
    # another box, another refinement: the boxes really reach the GCN
    with torch.no_grad():
        moved, _ = wrapper(img, boxes * torch.tensor([1.0, 1.0, 0.5, 0.5]))
    assert not torch.allclose(moved, keypoints)
    with pytest.raises(ValueError, match=r"takes \['img', 'boxes'\], got img and 0 more"):
        wrapper(img)

    config = str(tmp_path / 'release.py')
    fixture_config(fixture['meta']).dump(config)
    checkpoint = str(tmp_path / 'release_converted.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    out = str(tmp_path / 'release.onnx')
    assert _tool().main([config, checkpoint, out]) == 0
    assert 'onnxruntime vs PyTorch' in capsys.readouterr().out
    assert [i.name for i in onnx.load(out).graph.input] == ['img', 'boxes']
