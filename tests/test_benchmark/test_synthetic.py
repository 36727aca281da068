# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Tests of the synthetic occluded-pose dataset generator and its CLI."""

import json
import os
import os.path as osp
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest

from dag_mmpose.benchmark import synthetic_dataset_cfg
from dag_mmpose.benchmark.synthetic import (
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    CROWDPOSE_KEYPOINT_NAMES,
    FIGURE_POINT_NAMES,
    LAYOUTS,
    crowd_index,
    generate_all,
    generate_coco_style,
    mask_to_rle,
    render_scene,
    summarize_annotations,
)
from dag_mmpose.benchmark.synthetic.figure import (
    POSES,
    hidden_by_itself,
    paint_figure,
    sample_figure,
)

TOOL = (
    Path(__file__).resolve().parents[2]
    / 'tools'
    / 'dataset_converters'
    / 'generate_synthetic_dataset.py'
)
SMALL = (96, 128)  # (W, H): small images keep every test well under a second


def _load(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _keypoints(ann: dict) -> np.ndarray:
    return np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)


def _box_iou(a, b) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    iw = min(ax0 + aw, bx0 + bw) - max(ax0, bx0)
    ih = min(ay0 + ah, by0 + bh) - max(ay0, by0)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def _all_files(root: Path) -> dict:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()
    }


@pytest.fixture(scope='module')
def coco_val(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('synthetic_coco')
    generate_coco_style(str(root), num_images=8, split='val', seed=0, img_size=SMALL)
    return str(root)


@pytest.fixture(scope='module')
def crowdpose_test(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('synthetic_crowdpose')
    # people from 1 so that CrowdPose's easy group (lone people, crowd index 0) is not empty
    generate_coco_style(
        str(root),
        num_images=16,
        split='test',
        seed=0,
        img_size=SMALL,
        people=(1, 4),
        layout='crowdpose',
    )
    return str(root)


@pytest.fixture(scope='module')
def ochuman_val(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('synthetic_ochuman')
    generate_coco_style(
        str(root), num_images=8, split='val', seed=0, img_size=SMALL, layout='ochuman'
    )
    return str(root)


class TestCocoLayout:
    def test_paths_and_images(self, coco_val):
        ann_file = osp.join(coco_val, 'annotations', 'person_keypoints_val.json')
        data = _load(ann_file)
        assert len(data['images']) == 8
        names = [img['file_name'] for img in data['images']]
        assert len(set(names)) == len(names)
        assert len({img['id'] for img in data['images']}) == 8
        for img in data['images']:
            assert (img['width'], img['height']) == SMALL
            pixels = cv2.imread(osp.join(coco_val, 'images', 'val', img['file_name']))
            assert pixels.shape == (SMALL[1], SMALL[0], 3)

    def test_categories(self, coco_val):
        data = _load(osp.join(coco_val, 'annotations', 'person_keypoints_val.json'))
        (cat,) = data['categories']
        assert cat['id'] == 1 and cat['name'] == 'person'
        assert cat['keypoints'] == list(COCO_KEYPOINT_NAMES)
        assert cat['skeleton'] == [list(link) for link in COCO_SKELETON]

    def test_loads_with_both_coco_apis(self, coco_val):
        xtcoco = pytest.importorskip('xtcocotools.coco')
        pycoco = pytest.importorskip('pycocotools.coco')
        ann_file = osp.join(coco_val, 'annotations', 'person_keypoints_val.json')
        for api in (xtcoco.COCO, pycoco.COCO):
            coco = api(ann_file)
            assert len(coco.getImgIds()) == 8
            assert len(coco.getAnnIds()) > 8
            assert coco.getCatIds() == [1]

    def test_annotation_consistency(self, coco_val):
        data = _load(osp.join(coco_val, 'annotations', 'person_keypoints_val.json'))
        width, height = SMALL
        image_ids = {img['id'] for img in data['images']}
        ann_ids = [ann['id'] for ann in data['annotations']]
        assert len(set(ann_ids)) == len(ann_ids)
        for ann in data['annotations']:
            assert ann['image_id'] in image_ids
            assert ann['category_id'] == 1 and ann['iscrowd'] == 0
            kpts = _keypoints(ann)
            assert kpts.shape == (17, 3)
            vis = kpts[:, 2]
            assert set(np.unique(vis)) <= {0, 1, 2}
            assert ann['num_keypoints'] == np.count_nonzero(vis > 0)
            assert np.all(kpts[vis == 0, :2] == 0)
            assert np.any(vis == 2)
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= width and y + h <= height
            lab = kpts[vis > 0]
            # The box is the amodal box of the whole figure: every labelled joint is in it.
            assert np.all(lab[:, 0] >= x - 1) and np.all(lab[:, 0] <= x + w + 1)
            assert np.all(lab[:, 1] >= y - 1) and np.all(lab[:, 1] <= y + h + 1)
            assert np.all(lab[:, 0] <= width - 1) and np.all(lab[:, 1] <= height - 1)
            assert 0 < ann['area'] <= w * h

    def test_segmentation_decodes_to_area(self, coco_val):
        mask_utils = pytest.importorskip('pycocotools.mask')
        data = _load(osp.join(coco_val, 'annotations', 'person_keypoints_val.json'))
        width, height = SMALL
        on_mask = total = 0
        for ann in data['annotations']:
            # compressed RLE of the image size, as pycocotools' annToRLE reads it
            assert ann['segmentation']['size'] == [height, width]
            assert isinstance(ann['segmentation']['counts'], str)
            mask = mask_utils.decode(ann['segmentation'])
            assert mask.sum() == ann['area']
            x, y, w, h = ann['bbox']
            ys, xs = np.nonzero(mask)
            assert xs.min() >= x and xs.max() < x + w and ys.min() >= y and ys.max() < y + h
            kpts = _keypoints(ann)
            for px, py, v in kpts:
                if v == 2:
                    total += 1
                    on_mask += int(mask[int(round(py)), int(round(px))])
        # Visible joints lie on the visible region (a head top on the rim may not).
        assert on_mask / total > 0.95

    def test_detection_file(self, coco_val):
        data = _load(osp.join(coco_val, 'annotations', 'person_keypoints_val.json'))
        dets = _load(osp.join(coco_val, 'person_detection_results', 'val_detections.json'))
        image_ids = {img['id'] for img in data['images']}
        assert isinstance(dets, list) and len(dets) >= len(data['annotations'])
        for det in dets:
            assert set(det) == {'image_id', 'category_id', 'bbox', 'score'}
            assert det['image_id'] in image_ids and det['category_id'] == 1
            x, y, w, h = det['bbox']
            assert x >= 0 and y >= 0 and w > 0 and h > 0
            assert x + w <= SMALL[0] and y + h <= SMALL[1]
            assert 0 < det['score'] < 1
        assert any(det['score'] < 0.35 for det in dets)  # a few false positives

    def test_no_detections_for_train(self, tmp_path):
        generate_coco_style(str(tmp_path), num_images=1, split='train', img_size=SMALL)
        assert not osp.exists(osp.join(tmp_path, 'person_detection_results'))


class TestDeterminism:
    def test_same_seed_same_bytes(self, tmp_path):
        for name in ('a', 'b'):
            generate_coco_style(
                str(tmp_path / name), num_images=3, split='val', seed=7, img_size=SMALL
            )
        first, second = _all_files(tmp_path / 'a'), _all_files(tmp_path / 'b')
        assert list(first) == list(second)
        assert first == second

    def test_different_seed_differs(self, tmp_path):
        paths = [
            generate_coco_style(
                str(tmp_path / str(seed)), num_images=2, split='val', seed=seed, img_size=SMALL
            )
            for seed in (0, 1)
        ]
        assert Path(paths[0]).read_bytes() != Path(paths[1]).read_bytes()
        images = [
            cv2.imread(str(tmp_path / str(seed) / 'images/val/val_000000.jpg')) for seed in (0, 1)
        ]
        assert not np.array_equal(images[0], images[1])

    def test_splits_differ(self, tmp_path):
        generate_all(str(tmp_path), 'coco', num_images=[2], img_size=SMALL, seed=0)
        images = [
            cv2.imread(str(tmp_path / 'images' / split / f'{split}_000000.jpg'))
            for split in ('train', 'val', 'test')
        ]
        assert not np.array_equal(images[0], images[1])
        assert not np.array_equal(images[1], images[2])
        ids = [
            {img['id'] for img in _load(LAYOUTS['coco'].ann_path(str(tmp_path), s))['images']}
            for s in ('train', 'val', 'test')
        ]
        assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])

    def test_image_does_not_depend_on_count(self, tmp_path):
        for name, count in (('a', 1), ('b', 3)):
            generate_coco_style(str(tmp_path / name), num_images=count, split='val', img_size=SMALL)
        assert (tmp_path / 'a/images/val/val_000000.jpg').read_bytes() == (
            tmp_path / 'b/images/val/val_000000.jpg'
        ).read_bytes()


class TestOcclusion:
    def test_occluded_joints_exist(self, tmp_path):
        ann_file = generate_coco_style(
            str(tmp_path), num_images=6, split='train', img_size=SMALL, people=(2, 4), occlusion=0.8
        )
        vis = np.concatenate([_keypoints(a)[:, 2] for a in _load(ann_file)['annotations']])
        assert np.count_nonzero(vis == 1) > 0.1 * np.count_nonzero(vis > 0)

    def test_a_lone_person_hides_only_its_own_joints(self, tmp_path):
        ann_file = generate_coco_style(
            str(tmp_path),
            num_images=10,
            split='train',
            img_size=SMALL,
            people=(1, 1),
            occlusion=0.0,
        )
        data = _load(ann_file)
        assert len(data['annotations']) == 10
        vis = np.concatenate([_keypoints(a)[:, 2] for a in data['annotations']])
        # No other person and no occluder: what is hidden is hidden by the body itself.
        assert 0 < np.count_nonzero(vis == 1) < 0.5 * np.count_nonzero(vis > 0)
        assert np.count_nonzero(vis == 2) > 0.4 * vis.size

    def test_render_scene(self):
        rng = np.random.default_rng(0)
        img, people = render_scene(rng, SMALL, num_people=3, occlusion=0.5)
        assert img.shape == (SMALL[1], SMALL[0], 3) and img.dtype == np.uint8
        assert len(people) == 3
        for person in people:
            assert person.points.shape == (len(FIGURE_POINT_NAMES), 2)
            assert person.visibility.shape == (len(FIGURE_POINT_NAMES),)
            assert person.visible_mask.shape == (SMALL[1], SMALL[0])
            assert person.height >= 0.25 * SMALL[1]
        # Visible regions of different people never share a pixel.
        stacked = np.stack([p.visible_mask for p in people]).sum(0)
        assert stacked.max() <= 1


class TestCrowdPoseLayout:
    def test_keypoints_and_crowd_index(self, crowdpose_test):
        ann_file = osp.join(crowdpose_test, 'annotations', 'mmpose_crowdpose_test.json')
        data = _load(ann_file)
        assert data['categories'][0]['keypoints'] == list(CROWDPOSE_KEYPOINT_NAMES)
        assert all(_keypoints(a).shape == (14, 3) for a in data['annotations'])
        assert all(isinstance(img['crowdIndex'], float) for img in data['images'])
        assert all(img['crowdIndex'] >= 0 for img in data['images'])
        assert max(img['crowdIndex'] for img in data['images']) > 0
        assert osp.isfile(osp.join(crowdpose_test, 'images', data['images'][0]['file_name']))
        assert osp.isfile(
            osp.join(crowdpose_test, 'person_detection_results', 'test_detections.json')
        )

    def test_crowd_index(self):
        a = np.array([[1, 1, 2], [5, 5, 2], [0, 0, 0]], dtype=float)
        b = np.array([[8, 8, 2], [25, 5, 1], [0, 0, 0]], dtype=float)
        # a's box holds one of b's two joints; b's box holds none of a's.
        assert crowd_index([a, b], [[0, 0, 10, 10], [20, 0, 10, 10]]) == pytest.approx(0.25)
        assert crowd_index([a], [[0, 0, 10, 10]]) == 0.0


class TestOCHumanLayout:
    def test_files(self, ochuman_val):
        assert osp.isfile(
            osp.join(ochuman_val, 'annotations', 'ochuman_coco_format_val_range_0.00_1.00.json')
        )
        assert LAYOUTS['ochuman'].splits == ('val', 'test')

    def test_pairs_overlap(self, ochuman_val):
        data = _load(
            osp.join(ochuman_val, 'annotations', 'ochuman_coco_format_val_range_0.00_1.00.json')
        )
        by_image = {}
        for ann in data['annotations']:
            by_image.setdefault(ann['image_id'], []).append(ann['bbox'])
        partnered = total = 0
        for boxes in by_image.values():
            for i, box in enumerate(boxes):
                total += 1
                best = max(
                    (_box_iou(box, other) for j, other in enumerate(boxes) if j != i), default=0.0
                )
                partnered += int(best > 0.3)
        assert total >= 16
        assert partnered / total > 0.8


class TestMaskToRLE:
    @pytest.mark.parametrize('shape', ['pixel', 'line', 'diagonal', 'blob', 'two_parts'])
    def test_decodes_back(self, shape):
        mask_utils = pytest.importorskip('pycocotools.mask')
        mask = np.zeros((20, 24), dtype=np.uint8)
        if shape == 'pixel':
            mask[5, 7] = 1
        elif shape == 'line':
            mask[3, 2:15] = 1
        elif shape == 'diagonal':
            mask[np.arange(2, 15), np.arange(2, 15)] = 1
        elif shape == 'blob':
            cv2.circle(mask, (10, 10), 6, 1, -1)
            mask[5, 16:22] = 1
        else:
            mask[1:4, 1:4] = 1
            mask[10:18, 12:20] = 1
        rle, area = mask_to_rle(mask)
        decoded = mask_utils.decode(rle)
        assert area == mask.sum()
        np.testing.assert_array_equal(decoded, mask)

    def test_holes_are_filled(self):
        mask_utils = pytest.importorskip('pycocotools.mask')
        ring = np.zeros((12, 12), dtype=np.uint8)
        ring[2:10, 2:10] = 1
        ring[4:8, 4:8] = 0
        rle, area = mask_to_rle(ring)
        assert area == 64
        assert mask_utils.decode(rle)[5, 5] == 1

    def test_empty(self):
        rle, area = mask_to_rle(np.zeros((8, 8), dtype=bool))
        assert area == 0 and rle['size'] == [8, 8]


class TestArguments:
    @pytest.mark.parametrize(
        'kwargs',
        [
            dict(layout='mpii'),
            dict(split='train', layout='crowdpose'),
            dict(occlusion=1.5),
            dict(people=(3, 2)),
            dict(img_size=(16, 16)),
            dict(seed=-1),
            dict(variety='sideways'),
            dict(visibility_convention='coco_re'),
            dict(split='test', layout='crowdpose', visibility_convention='coco-re'),
        ],
    )
    def test_bad_arguments(self, tmp_path, kwargs):
        args = dict(num_images=1, split='train', img_size=SMALL)
        args.update(kwargs)
        with pytest.raises(ValueError):
            generate_coco_style(str(tmp_path), **args)

    def test_kept_split_of_another_variety_is_refused(self, tmp_path):
        root = str(tmp_path)
        ann_file = generate_coco_style(root, num_images=1, split='val', img_size=SMALL)
        with open(ann_file) as f:
            assert json.load(f)['info']['variety'] == 'full'
        with pytest.raises(ValueError, match="variety='full', not 'upright'"):
            generate_all(root, 'coco', num_images=[1, 1, 1], img_size=SMALL, variety='upright')
        assert not osp.exists(LAYOUTS['coco'].ann_path(root, 'train'))  # refused before writing
        summaries = generate_all(root, 'coco', num_images=[1, 1, 1], img_size=SMALL)
        assert [s.skipped for s in summaries] == [False, True, False]

    def test_kept_split_of_other_settings_is_refused(self, tmp_path):
        """An existing split of another size or seed was kept silently, so a run asking for
        600 training images could train on 16."""
        root = str(tmp_path)
        generate_all(root, 'coco', num_images=[2, 1, 1], img_size=SMALL)
        for kwargs, named in (
            (dict(num_images=[3, 1, 1]), 'num_images=2, not 3'),
            (dict(num_images=[2, 1, 1], seed=4), 'seed=0, not 4'),
            (dict(num_images=[2, 1, 1], img_size=(64, 96)), 'img_size='),
        ):
            args = dict(img_size=SMALL)
            args.update(kwargs)
            with pytest.raises(ValueError, match=f'generated with .*{named}'):
                generate_all(root, 'coco', **args)
        # the same settings, or no image counts asked for, keep the files
        assert all(
            s.skipped for s in generate_all(root, 'coco', num_images=[2, 1, 1], img_size=SMALL)
        )
        assert all(s.skipped for s in generate_all(root, 'coco', img_size=SMALL))

    def test_kept_split_of_another_visibility_convention_is_refused(self, tmp_path):
        root = str(tmp_path)
        generate_all(root, 'coco', num_images=[1, 1, 1], img_size=SMALL)
        with pytest.raises(ValueError, match="visibility_convention='coco', not 'coco-re'"):
            generate_all(
                root, 'coco', num_images=[1, 1, 1], img_size=SMALL, visibility_convention='coco-re'
            )
        summaries = generate_all(
            root, 'coco', [1, 1, 1], SMALL, visibility_convention='coco-re', force=True
        )
        assert not any(s.skipped for s in summaries)
        with pytest.raises(ValueError, match="visibility_convention='coco-re', not 'coco'"):
            generate_all(root, 'coco', img_size=SMALL)
        with pytest.raises(ValueError, match="'coco' layout only"):
            generate_all(root, 'ochuman', visibility_convention='coco-re')

    def test_generate_all_counts(self, tmp_path):
        with pytest.raises(ValueError, match='one image count'):
            generate_all(str(tmp_path), 'crowdpose', num_images=[1, 2, 3])


class TestCLI:
    def test_main(self, tmp_path, capsys):
        main = runpy.run_path(str(TOOL))['main']
        root = str(tmp_path / 'och')
        argv = [root, '--format', 'ochuman', '--num-images', '2', '--img-size', '96', '128']
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert 'val: wrote' in out and 'test: wrote' in out and '2 images' in out
        assert 'occluded' in out
        stamp = os.stat(LAYOUTS['ochuman'].ann_path(root, 'val')).st_mtime_ns

        assert main(argv) == 0
        out = capsys.readouterr().out
        assert 'kept existing' in out and '--force' in out
        assert os.stat(LAYOUTS['ochuman'].ann_path(root, 'val')).st_mtime_ns == stamp

        assert main(argv + ['--force']) == 0
        assert 'val: wrote' in capsys.readouterr().out

    def test_bad_counts(self, tmp_path):
        main = runpy.run_path(str(TOOL))['main']
        with pytest.raises(SystemExit):
            main([str(tmp_path), '--format', 'coco', '--num-images', '1', '2'])


class TestCocoRe:
    """``visibility_convention='coco-re'``: hidden joints written v=3, as COCO-RE flags them."""

    def test_v3_replaces_v1_and_nothing_else(self, tmp_path):
        args = dict(num_images=4, split='val', seed=0, img_size=SMALL, people=(2, 3))
        coco_file = generate_coco_style(str(tmp_path / 'coco'), **args)
        re_file = generate_coco_style(str(tmp_path / 're'), visibility_convention='coco-re', **args)
        coco, re = _load(coco_file), _load(re_file)
        assert re['info']['visibility_convention'] == 'coco-re'
        assert coco['info']['visibility_convention'] == 'coco'
        assert len(re['annotations']) == len(coco['annotations']) > 0
        hidden = 0
        for a, b in zip(coco['annotations'], re['annotations']):
            ka, kb = _keypoints(a), _keypoints(b)
            np.testing.assert_array_equal(ka[:, :2], kb[:, :2])
            assert set(np.unique(kb[:, 2])) <= {0, 2, 3}
            np.testing.assert_array_equal(kb[:, 2], np.where(ka[:, 2] == 1, 3, ka[:, 2]))
            # v=3 joints are labelled: num_keypoints counts them
            assert b['num_keypoints'] == a['num_keypoints'] == np.count_nonzero(kb[:, 2] > 0)
            hidden += int(np.count_nonzero(kb[:, 2] == 3))
        assert hidden > 0
        images = tmp_path / 're' / 'images' / 'val'
        assert _all_files(images) == _all_files(tmp_path / 'coco' / 'images' / 'val')

        summary = summarize_annotations(re_file, 'val', visibility_convention='coco-re')
        plain = summarize_annotations(coco_file, 'val')
        assert summary.num_occluded == plain.num_occluded == hidden
        assert summary.num_labelled == plain.num_labelled
        with pytest.raises(ValueError, match=r'labelled v=3 .*--visibility-convention coco-re'):
            summarize_annotations(re_file, 'val')

    def test_loads_in_mmpose_with_every_person(self, tmp_path):
        pytest.importorskip('mmpose.datasets')
        from mmpose.registry import DATASETS

        root = str(tmp_path)
        ann_file = generate_coco_style(
            root, num_images=3, split='val', img_size=SMALL, visibility_convention='coco-re'
        )
        dataset = DATASETS.build(synthetic_dataset_cfg(root, 'coco', 'val', pipeline=[]))
        anns = _load(ann_file)['annotations']
        assert len(dataset) == len(anns)
        for i, ann in enumerate(anns):
            info = dataset.get_data_info(i)
            np.testing.assert_array_equal(info['keypoints_visible'][0], _keypoints(ann)[:, 2] > 0)

    def test_cli(self, tmp_path, capsys):
        main = runpy.run_path(str(TOOL))['main']
        root = str(tmp_path / 'coco_re')
        argv = [root, '--num-images', '2', '--img-size', '96', '128']
        assert main(argv + ['--visibility-convention', 'coco-re']) == 0
        out = capsys.readouterr().out
        assert "visibility_convention='coco-re'" in out and 'occluded' in out
        flags = np.concatenate(
            [
                _keypoints(a)[:, 2]
                for a in _load(LAYOUTS['coco'].ann_path(root, 'val'))['annotations']
            ]
        )
        assert (flags == 3).any() and not (flags == 1).any()
        with pytest.raises(SystemExit, match="visibility_convention='coco-re', not 'coco'"):
            main(argv)
        with pytest.raises(SystemExit):
            main([str(tmp_path / 'o'), '--format', 'ochuman', '--visibility-convention', 'coco-re'])


class TestMMPoseIntegration:
    """The files load through mmpose's datasets and evaluate through ``CocoMetric``."""

    @pytest.mark.parametrize('layout', sorted(LAYOUTS))
    def test_names_match_mmpose_metainfo(self, layout):
        pytest.importorskip('mmpose.datasets')
        from mmpose.registry import DATASETS

        spec = LAYOUTS[layout]
        meta = DATASETS.get(spec.dataset_type)._load_metainfo()
        names = [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]
        assert names == list(spec.keypoint_names)
        links = {tuple(sorted(link)) for link in meta['skeleton_links']}
        assert links == {tuple(sorted((a - 1, b - 1))) for a, b in spec.skeleton}

    @pytest.mark.parametrize(
        'layout,fixture,split',
        [
            ('coco', 'coco_val', 'val'),
            ('crowdpose', 'crowdpose_test', 'test'),
            ('ochuman', 'ochuman_val', 'val'),
        ],
    )
    def test_datasets_load(self, request, layout, fixture, split):
        pytest.importorskip('mmpose.datasets')
        from mmpose.registry import DATASETS

        root = request.getfixturevalue(fixture)
        dataset = DATASETS.build(synthetic_dataset_cfg(root, layout, split, pipeline=[]))
        data = _load(LAYOUTS[layout].ann_path(root, split))
        assert len(dataset) == len(data['annotations'])
        sample = dataset[0]
        assert osp.isfile(sample['img_path'])
        assert sample['keypoints'].shape == (1, len(LAYOUTS[layout].keypoint_names), 2)
        if layout == 'crowdpose':
            assert 'crowd_index' in sample

    @pytest.mark.parametrize(
        'layout,fixture,split',
        [
            ('coco', 'coco_val', 'val'),
            ('crowdpose', 'crowdpose_test', 'test'),
        ],
    )
    def test_detections_load(self, request, layout, fixture, split):
        pytest.importorskip('mmpose.datasets')
        from mmpose.registry import DATASETS

        root = request.getfixturevalue(fixture)
        dataset = DATASETS.build(
            synthetic_dataset_cfg(root, layout, split, detections=True, pipeline=[])
        )
        dets = _load(LAYOUTS[layout].detection_path(root, split))
        assert len(dataset) == len(dets)

    @staticmethod
    def _evaluate_ground_truth(dataset, metric) -> dict:
        metric.dataset_meta = dataset.metainfo
        samples = []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            num_keypoints = info['keypoints'].shape[1]
            x0, y0, x1, y1 = info['bbox'][0]
            samples.append(
                dict(
                    id=info['id'],
                    img_id=info['img_id'],
                    pred_instances=dict(
                        keypoints=info['keypoints'],
                        keypoint_scores=np.ones((1, num_keypoints), dtype=np.float32),
                    ),
                    gt_instances=dict(
                        bbox_scores=np.ones(1, dtype=np.float32),
                        bbox_scales=np.array([[(x1 - x0) * 1.25, (y1 - y0) * 1.25]]),
                    ),
                )
            )
        metric.process([], samples)
        return metric.evaluate(len(samples))

    def test_coco_metric_ground_truth_is_perfect(self, coco_val):
        pytest.importorskip('mmpose.evaluation')
        from mmpose.datasets import CocoDataset
        from mmpose.evaluation import CocoMetric

        cfg = synthetic_dataset_cfg(coco_val, 'coco', 'val', pipeline=[], test_mode=True)
        cfg.pop('type')
        dataset = CocoDataset(**cfg)
        metric = CocoMetric(ann_file=LAYOUTS['coco'].ann_path(coco_val, 'val'))
        results = self._evaluate_ground_truth(dataset, metric)
        assert results['coco/AP'] == pytest.approx(1.0)
        assert results['coco/AR'] == pytest.approx(1.0)

    def test_crowdpose_metric_ground_truth_is_perfect(self, crowdpose_test):
        pytest.importorskip('mmpose.evaluation')
        from mmpose.datasets import CrowdPoseDataset
        from mmpose.evaluation import CocoMetric

        cfg = synthetic_dataset_cfg(
            crowdpose_test, 'crowdpose', 'test', pipeline=[], test_mode=True
        )
        cfg.pop('type')
        dataset = CrowdPoseDataset(**cfg)
        ann_file = LAYOUTS['crowdpose'].ann_path(crowdpose_test, 'test')
        metric = CocoMetric(
            ann_file=ann_file, use_area=False, iou_type='keypoints_crowd', prefix='crowdpose'
        )
        results = self._evaluate_ground_truth(dataset, metric)
        assert results['crowdpose/AP'] == pytest.approx(1.0)
        # xtcocotools groups images by crowdIndex: easy < 0.2 <= medium < 0.8 <= hard.
        crowd = [img['crowdIndex'] for img in _load(ann_file)['images']]
        groups = {
            'AP(E)': [c for c in crowd if c < 0.2],
            'AP(M)': [c for c in crowd if 0.2 <= c < 0.8],
            'AP(H)': [c for c in crowd if c >= 0.8],
        }
        for key, members in groups.items():
            assert members, f'the fixture should fill every crowd group ({key} is empty)'
            assert results[f'crowdpose/{key}'] == pytest.approx(1.0), key


def _lone_figure(seed: int, pose: str, yaw: float):
    """A figure painted alone on a plain canvas; (figure, points hidden by itself)."""
    fig = sample_figure(np.random.default_rng(seed), 100.0, pose=pose, yaw=yaw)
    size = (160, 160)
    fig.offset = np.array([80.0, 80.0]) - fig.points.mean(0)
    img = np.zeros(size + (3,), np.uint8)
    owner = np.zeros(size, np.uint8)
    zbuf = np.full(size, -np.inf, np.float32)
    paint_figure(img, owner, zbuf, np.zeros(size, np.uint8), fig, 1)
    return fig, hidden_by_itself(fig, zbuf)


class TestFigures:
    @pytest.mark.parametrize('seed', range(4))
    def test_views_hide_what_a_body_hides(self, seed):
        point = {name: i for i, name in enumerate(FIGURE_POINT_NAMES)}
        _, front = _lone_figure(seed, 'stand', 0.0)
        torso = [
            point[f'{side}_{joint}'] for side in ('left', 'right') for joint in ('hip', 'shoulder')
        ]
        assert not front[[point['nose'], *torso]].any()
        _, back = _lone_figure(seed, 'stand', np.pi)
        assert back[point['nose']]
        # Turned a quarter to its right, the person's left side faces away from the camera.
        _, profile = _lone_figure(seed, 'stand', np.pi / 2)
        assert profile[[point['left_ear'], point['left_shoulder']]].all()
        assert not profile[point['right_ear']]

    @pytest.mark.parametrize('seed', range(6))
    def test_left_and_right_look_the_same(self, seed):
        fig = sample_figure(np.random.default_rng(seed), 100.0)

        def looks(side: str) -> dict:
            return {
                tuple(name.replace(side, 'side_') for name in part.points): (
                    part.texture,
                    part.width,
                )
                for part in fig.parts
                if all(name.startswith(side) for name in part.points)
            }

        left, right = looks('left_'), looks('right_')
        assert len(left) == 6 and left == right

    def test_poses_and_bad_pose(self):
        rng = np.random.default_rng(0)
        for pose in POSES:
            fig = sample_figure(rng, 80.0, pose=pose)
            assert fig.pose == pose and np.isfinite(fig.points).all()
        lying = sample_figure(rng, 80.0, pose='lie', yaw=0.0)
        x0, y0, x1, y1 = lying.extent
        assert x1 - x0 > y1 - y0  # lying people are wider than tall
        with pytest.raises(ValueError, match='pose must be one of'):
            sample_figure(rng, 80.0, pose='dance')

    def test_upright_variety_draws_no_profiles_and_no_low_poses(self):
        point = {name: i for i, name in enumerate(FIGURE_POINT_NAMES)}

        def shoulder_spans(variety):
            rng = np.random.default_rng(0)
            figs = [sample_figure(rng, 100.0, variety=variety) for _ in range(200)]
            spans = [
                abs(f.points[point['left_shoulder'], 0] - f.points[point['right_shoulder'], 0])
                for f in figs
                if f.pose != 'lie'
            ]
            return {f.pose for f in figs}, np.array(spans)

        poses, spans = shoulder_spans('upright')
        assert poses == {'stand', 'walk', 'raise', 'reach'}
        # Seen from the front or the back, the shoulders are always apart (>= 0.1 height).
        assert spans.min() > 10.0
        poses, spans = shoulder_spans('full')
        assert {'sit', 'bend', 'lie'} <= poses
        assert spans.min() < 3.0  # profiles put one shoulder behind the other
        with pytest.raises(ValueError, match='variety must be one of'):
            sample_figure(np.random.default_rng(0), 80.0, variety='sideways')
