# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The torch decoders against mmpose's numpy decoders, codec by codec, on random, peaked,
border, all-zero and negative heatmaps, and on flip-averaged outputs."""

import zlib

import numpy as np
import pytest
import torch
from mmpose.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap
from mmpose.codecs.utils import generate_gaussian_heatmaps

from dag_mmpose.codecs import DAGHeatmap, LegacyMSRAHeatmap
from dag_mmpose.models.utils.torch_decoding import (
    heatmap_maximum,
    torch_decode,
    torch_decoder_name,
)
from dag_mmpose.models.utils.wrapped_head import flip_average_outputs

INPUT, HEATMAP = (48, 64), (12, 16)  # (w, h)
K = 17
FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]

CODECS = {
    'msra': MSRAHeatmap(INPUT, HEATMAP, sigma=2.0),
    'dark': MSRAHeatmap(INPUT, HEATMAP, sigma=2.0, unbiased=True, blur_kernel_size=11),
    'dark_k5': MSRAHeatmap(INPUT, HEATMAP, sigma=1.0, unbiased=True, blur_kernel_size=5),
    'udp': UDPHeatmap(INPUT, HEATMAP, sigma=2.0),
    'dag_msra': DAGHeatmap(INPUT, HEATMAP, sigma=2.0),
    'dag_udp': DAGHeatmap(INPUT, HEATMAP, sigma=2.0, use_udp=True),
    'legacy': LegacyMSRAHeatmap(INPUT, HEATMAP, sigma=2.0),
    'dag_legacy': DAGHeatmap(INPUT, HEATMAP, sigma=2.0, legacy_decode=True),
}


def _heatmaps(kind: str, rng: np.random.Generator, batch: int = 4) -> np.ndarray:
    """(B, K, H, W) float32 heatmaps of one kind."""
    width, height = HEATMAP
    shape = (batch, K, height, width)
    if kind == 'random':
        return rng.random(shape, dtype=np.float32)
    if kind == 'signed':  # some maps with a maximum <= 0
        maps = rng.normal(0, 1, shape).astype(np.float32)
        maps[:, ::3] -= 5.0
        return maps
    points = rng.uniform([0, 0], [width - 1, height - 1], (batch, K, 2))
    if kind == 'border':  # peaks on and next to every border
        edges = np.array([0, 1, 2, width - 3, width - 2, width - 1])
        points[..., 0] = rng.choice(edges, (batch, K))
        points[:, ::2, 1] = rng.choice([0, 1, height - 2, height - 1], (batch, (K + 1) // 2))
    visible = np.ones((1, K))
    maps = [
        generate_gaussian_heatmaps((width, height), p[None].astype(np.float32), visible, 1.5)[0]
        for p in points
    ]
    maps = np.stack(maps).astype(np.float32)
    maps += rng.normal(0, 1e-3, maps.shape).astype(np.float32)  # break exact ties
    if kind == 'zero':  # joints without any response among peaked ones
        maps[:, ::2] = 0.0
    return maps


def _numpy_decode(codec, maps: np.ndarray):
    decoded = [codec.decode(m.copy()) for m in maps]
    return np.concatenate([k for k, _ in decoded]), np.concatenate([s for _, s in decoded])


@pytest.mark.parametrize('kind', ['random', 'signed', 'zero', 'peaked', 'border'])
@pytest.mark.parametrize('name', sorted(CODECS))
def test_heatmap_decoders_match_mmpose(name, kind):
    """Scores within 1e-6 always; keypoints within 1e-4 px on heatmaps with peaks (peaked,
    at the border, beside all-zero maps, which give -1 x scale or UDP's NaN as in mmpose).

    On pure noise (random, signed) MSRA stays exact; DARK's Newton step there is ill-posed
    (steps of up to thousands of pixels from nearly singular Hessians), and a one-ulp
    difference of the float32 blur (OpenCV's or ours) moves it by up to 1.5 % of the step:
    it is held to that for joints with a positive response (without one, mmpose's own
    result is arbitrary, read from other joints' maps). UDP on signed noise is not compared
    at all: it clips the blurred map at 0.001 before the log, so around most maxima the
    Hessian is ``eps * I`` and mmpose's step is either 0 or a rounding difference divided
    by eps (measured: one seed in six moves by up to twice the step); there is no reference
    to hold to. The seed is fixed per case (``zlib.crc32``, not ``hash``, which differs
    between processes)."""
    codec = CODECS[name]
    maps = _heatmaps(kind, np.random.default_rng(zlib.crc32(f'{name}/{kind}'.encode())), batch=8)
    expected_kpts, expected_scores = _numpy_decode(codec, maps)
    keypoints, scores = torch_decode(codec, torch.from_numpy(maps))
    assert keypoints.dtype == torch.float32 and keypoints.shape == (len(maps), K, 2)
    np.testing.assert_allclose(scores.numpy(), expected_scores, atol=1e-6, rtol=0)
    keypoints = keypoints.numpy()
    np.testing.assert_array_equal(np.isnan(keypoints), np.isnan(expected_kpts))
    diff = np.linalg.norm(np.nan_to_num(keypoints - expected_kpts), axis=-1)
    if torch_decoder_name(codec) in ('msra', 'legacy') or kind in ('zero', 'peaked', 'border'):
        assert diff.max() <= 1e-4
        return
    if kind == 'signed' and torch_decoder_name(codec) == 'udp':
        return
    argmax, _ = heatmap_maximum(torch.from_numpy(maps))
    step = np.linalg.norm(expected_kpts - _to_crop(codec, argmax.numpy()), axis=-1)
    responding = expected_scores > 0
    assert np.all(diff[responding] <= 1e-4 + 0.015 * step[responding])


def _to_crop(codec, locs: np.ndarray) -> np.ndarray:
    """Heatmap pixels to crop pixels as the codec's decoder scales them."""
    codec = getattr(codec, '_target_codec', codec)
    if isinstance(codec, UDPHeatmap):
        width, height = codec.heatmap_size
        return locs / [width - 1, height - 1] * codec.input_size
    return locs * codec.scale_factor


@pytest.mark.parametrize('name', ['msra', 'dark', 'udp'])
def test_under_flip_averaging(name):
    """The decoded input of a flip test: the two passes averaged as the mmpose heads do."""
    codec = CODECS[name]
    rng = np.random.default_rng(7)
    outputs, flipped = (torch.from_numpy(_heatmaps('peaked', rng)) for _ in range(2))
    for shift in (False, True):
        averaged = flip_average_outputs(outputs, flipped, FLIP, dict(shift_heatmap=shift))
        expected_kpts, expected_scores = _numpy_decode(codec, averaged.numpy())
        keypoints, scores = torch_decode(codec, averaged)
        np.testing.assert_allclose(keypoints.numpy(), expected_kpts, atol=1e-4, rtol=0)
        np.testing.assert_allclose(scores.numpy(), expected_scores, atol=1e-6, rtol=0)


@pytest.mark.parametrize('kind', ['random', 'signed', 'zero', 'ties'])
def test_simcc_decoder_matches_mmpose(kind):
    codec = SimCCLabel(INPUT, sigma=(4.9, 5.66), simcc_split_ratio=2.0)
    rng = np.random.default_rng(3)
    x = rng.random((4, K, 96), dtype=np.float32)
    y = rng.random((4, K, 128), dtype=np.float32)
    if kind == 'signed':
        x -= 0.7
    elif kind == 'zero':
        y[:, ::2] = 0
    elif kind == 'ties':  # the first maximum wins, as np.argmax
        x = np.round(x, 1)
        y = np.round(y, 1)
    expected = [codec.decode(a, b) for a, b in zip(x, y)]
    keypoints, scores = torch_decode(codec, (torch.from_numpy(x), torch.from_numpy(y)))
    np.testing.assert_array_equal(keypoints.numpy(), np.concatenate([e[0] for e in expected]))
    np.testing.assert_array_equal(scores.numpy(), np.concatenate([e[1] for e in expected]))


def test_dtypes_and_unknown_codecs():
    maps = torch.from_numpy(_heatmaps('peaked', np.random.default_rng(0)))
    # bfloat16 as decode_base_pose hands it to numpy: in float32
    keypoints, scores = torch_decode(CODECS['msra'], maps.bfloat16())
    expected_kpts, _ = _numpy_decode(CODECS['msra'], maps.bfloat16().float().numpy())
    assert keypoints.dtype == torch.float32 and scores.dtype == torch.float32
    np.testing.assert_array_equal(keypoints.numpy(), expected_kpts)
    # float16 as mmpose's numpy path decodes it (float16 neighbours, float16 scores)
    keypoints, scores = torch_decode(CODECS['msra'], maps.half())
    expected_kpts, expected_scores = _numpy_decode(CODECS['msra'], maps.half().numpy())
    assert scores.dtype == torch.float16
    np.testing.assert_array_equal(keypoints.numpy(), expected_kpts)
    np.testing.assert_array_equal(scores.numpy(), expected_scores)
    assert torch_decoder_name(UDPHeatmap(INPUT, HEATMAP, heatmap_type='combined')) is None
    assert torch_decoder_name(SimCCLabel(INPUT, sigma=6.0, use_dark=True)) is None
    assert torch_decode(SimCCLabel(INPUT, sigma=6.0, use_dark=True), (maps, maps)) is None


def test_unknown_codec_falls_back_to_numpy_with_one_warning():
    """decode_base_pose: a codec without a torch decoder is decoded by the head's own numpy
    ``decode``, and named once per process."""
    import warnings
    from types import SimpleNamespace

    from dag_mmpose.models.utils import wrapped_head

    codec = SimCCLabel(INPUT, sigma=(4.9, 5.66), simcc_split_ratio=2.0, use_dark=True)

    def decode(outputs):
        x, y = (o.numpy() for o in outputs)  # shared memory, as mmpose's to_numpy on CPU
        return [
            SimpleNamespace(keypoints=k, keypoint_scores=s)
            for k, s in (codec.decode(a[None], b[None]) for a, b in zip(x, y))
        ]

    head = SimpleNamespace(decoder=codec, decode=decode)
    rng = np.random.default_rng(0)
    outputs = tuple(torch.from_numpy(rng.random((2, K, n), dtype=np.float32)) for n in (96, 128))
    reference = tuple(o.clone() for o in outputs)
    wrapped_head._NUMPY_DECODED.discard('SimCCLabel')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        keypoints, _ = wrapped_head.decode_base_pose(head, outputs, K, 'TestHead')
        wrapped_head.decode_base_pose(head, outputs, K, 'TestHead')
    named = [w for w in caught if 'no torch decoder for SimCCLabel' in str(w.message)]
    assert len(named) == 1 and 'TestHead' in str(named[0].message)
    # SimCC's DARK blurs its input in place: the head's outputs (read by the loss) are kept
    for output, original in zip(outputs, reference):
        assert torch.equal(output, original)
    expected = np.concatenate([p.keypoints for p in decode(reference)])
    np.testing.assert_array_equal(keypoints.numpy(), expected)
