# Copyright (c) dag_mmpose contributors. All rights reserved.
import contextlib
import copy
import importlib.util
import io
import json
import os
import os.path as osp
import pickle
import shutil
import tempfile
from typing import Dict, Optional
from unittest import TestCase

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from dag_mmpose.benchmark.synthetic import generate_coco_style
from dag_mmpose.datasets import InstancePool, build_instance_pool
from dag_mmpose.datasets.instance_pool import INDEX_FILE, InstancePoolWriter
from dag_mmpose.datasets.instance_pool_builder import SKIP_REASONS, format_summary
from dag_mmpose.testing.repo import REPO_ROOT

K = 17
# pycocotools under numpy 2 warns on every decode of the reference masks
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
# keep every person: the filters are tested on their own
ALL = dict(
    min_area=0, min_keypoints=0, max_overlap=1.0, min_on_mask=0.0, max_border=1.0, progress=False
)


def _on_mask(mask: np.ndarray, x: float, y: float) -> bool:
    """A mask pixel among the (up to) 4 around (x, y)."""
    col, row = int(np.floor(x)), int(np.floor(y))
    return bool(mask[max(row, 0) : max(row + 2, 0), max(col, 0) : max(col + 2, 0)].any())


def _decode(ann: dict, height: int, width: int) -> np.ndarray:
    """The (H, W) mask of an annotation, decoded independently of the builder."""
    segm = ann['segmentation']
    if isinstance(segm, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    elif isinstance(segm['counts'], list):
        rle = mask_utils.frPyObjects(segm, height, width)
    else:
        rle = segm
    return mask_utils.decode(rle)


def _uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE (column-major run lengths, zeros first) of a mask."""
    flat = (mask.T.reshape(-1) > 0).astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return {'size': list(mask.shape), 'counts': counts}


def _load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def _dump(data: dict, path: str) -> str:
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


class TestInstancePool(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = cls._tmp.name
        cls.ann_file = generate_coco_style(cls.root, num_images=6, split='train', seed=3)
        cls.img_dir = osp.join(cls.root, 'images', 'train')
        cls.data = _load(cls.ann_file)
        cls.images = {img['id']: img for img in cls.data['images']}

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def setUp(self) -> None:
        self.out = tempfile.mkdtemp(dir=self.root)

    def _build(self, ann_file: Optional[str] = None, **kwargs) -> Dict:
        args = dict(ALL)
        args.update(kwargs)
        return build_instance_pool(ann_file or self.ann_file, self.img_dir, self.out, **args)

    def _expected_crop(self, ann: dict, margin: int):
        """Crop and keypoints of one annotation, computed from the json and the image."""
        img_info = self.images[ann['image_id']]
        img = cv2.imread(osp.join(self.img_dir, img_info['file_name']))
        mask = _decode(ann, *img.shape[:2])
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        x0, y0 = cols[0] - margin, rows[0] - margin
        x1, y1 = cols[-1] + margin + 1, rows[-1] + margin + 1
        padded = cv2.copyMakeBorder(img, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
        color = padded[y0 + margin : y1 + margin, x0 + margin : x1 + margin]
        alpha = np.pad(mask, margin)[y0 + margin : y1 + margin, x0 + margin : x1 + margin] * 255
        keypoints = np.array(ann['keypoints'], dtype=np.float32).reshape(K, 3)
        kept = np.array([v > 0 and _on_mask(mask, x, y) for x, y, v in keypoints])
        keypoints[kept, :2] -= (x0, y0)
        keypoints[~kept] = 0  # unlabelled, or off the person's mask
        return np.dstack([color, alpha]).astype(np.uint8), keypoints

    def test_round_trip(self):
        summary = self._build(margin=3)
        anns = self.data['annotations']
        pool = InstancePool(self.out)
        self.assertEqual(len(pool), len(anns))
        self.assertEqual(summary['num_kept'], len(anns))
        self.assertEqual(summary['num_keypoints'], K)
        self.assertEqual(pool.num_keypoints, K)
        self.assertEqual(pool.margin, 3)
        self.assertEqual(pool.keypoint_names, self.data['categories'][0]['keypoints'])
        self.assertEqual(pool.meta['filters']['margin'], 3)
        self.assertEqual(sorted(pool.ann_ids), sorted(a['id'] for a in anns))
        by_id = {a['id']: a for a in anns}
        for i in range(len(pool)):
            rgba, keypoints = pool[i]
            ann = by_id[pool.ann_ids[i]]
            self.assertEqual(pool.image_ids[i], ann['image_id'])
            self.assertEqual(rgba.dtype, np.uint8)
            self.assertEqual(keypoints.dtype, np.float32)
            expected, expected_kpts = self._expected_crop(ann, margin=3)
            np.testing.assert_array_equal(rgba, expected)
            np.testing.assert_allclose(keypoints, expected_kpts, atol=0.01)
            # the margin is transparent on every side
            self.assertFalse(
                rgba[:3, :, 3].any()
                or rgba[-3:, :, 3].any()
                or rgba[:, :3, 3].any()
                or rgba[:, -3:, 3].any()
            )
        self.assertFalse(pool[0][0].flags.writeable)
        self.assertEqual(summary['data_bytes'], osp.getsize(pool.data_file))
        self.assertIn('kept', format_summary(summary))
        with self.assertRaises(IndexError):
            pool[len(pool)]

    def test_only_joints_on_the_mask_stay_labelled(self):
        summary = self._build()
        pool = InstancePool(self.out)
        by_id = {a['id']: a for a in self.data['annotations']}
        dropped = 0
        for i in range(len(pool)):
            rgba, keypoints = pool[i]
            ann = by_id[pool.ann_ids[i]]
            labelled = np.array(ann['keypoints'][2::3]) > 0
            kept = keypoints[:, 2] > 0
            dropped += int(np.count_nonzero(labelled & ~kept))
            for x, y, _ in keypoints[kept]:
                self.assertTrue(_on_mask(rgba[..., 3], x, y), (pool.ann_ids[i], x, y))
        # the generator's occluded joints (v=1) lie off the visible-region masks
        self.assertGreater(dropped, 0)
        self.assertEqual(summary['dropped_keypoints'], dropped)
        self.assertIn(f'{dropped} labelled keypoints off their mask', format_summary(summary))

    def test_border_and_hidden_filters(self):
        anns = self.data['annotations']
        shares, on_mask = {}, {}
        for a in anns:
            img = self.images[a['image_id']]
            mask = _decode(a, img['height'], img['width'])
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            shares[a['id']] = max(
                max(mask[0].sum(), mask[-1].sum()) / (cols[-1] - cols[0] + 1),
                max(mask[:, 0].sum(), mask[:, -1].sum()) / (rows[-1] - rows[0] + 1),
            )
            points = np.array(a['keypoints'], dtype=np.float64).reshape(K, 3)
            labelled = points[points[:, 2] > 0]
            hits = [_on_mask(mask, x, y) for x, y, _ in labelled]
            on_mask[a['id']] = (float(np.mean(hits)) if hits else 1.0, sum(hits))

        summary = self._build(max_border=0.1)
        cut = sum(share > 0.1 for share in shares.values())
        self.assertGreater(cut, 0, 'the generator truncates some people at the border')
        self.assertEqual(summary['skipped']['border'], cut)
        self.assertTrue(all(shares[i] <= 0.1 for i in InstancePool(self.out).ann_ids))

        summary = self._build(min_on_mask=0.8, min_keypoints=4)
        hidden = sum(share < 0.8 or n < 4 for share, n in on_mask.values())
        self.assertGreater(hidden, 0)
        self.assertEqual(summary['skipped']['hidden'], hidden)
        for ann_id in InstancePool(self.out).ann_ids:
            self.assertGreaterEqual(on_mask[ann_id][0], 0.8)
        with self.assertRaisesRegex(ValueError, r'min_on_mask must be a finite number in \[0, 1\]'):
            self._build(min_on_mask=1.5)

    def test_rle_segmentations(self):
        data = copy.deepcopy(self.data)
        for i, ann in enumerate(data['annotations']):
            img = self.images[ann['image_id']]
            mask = _decode(ann, img['height'], img['width'])
            if i % 2 == 0:
                rle = mask_utils.encode(np.asfortranarray(mask))
                ann['segmentation'] = dict(size=rle['size'], counts=rle['counts'].decode())
            else:
                ann['segmentation'] = _uncompressed_rle(mask)
        ann_file = _dump(data, osp.join(self.root, 'rle.json'))
        self._build(ann_file=ann_file)
        rle_pool = InstancePool(self.out)
        self.out = tempfile.mkdtemp(dir=self.root)
        self._build()
        poly_pool = InstancePool(self.out)
        self.assertEqual(len(rle_pool), len(poly_pool))
        for i in range(len(rle_pool)):
            np.testing.assert_array_equal(rle_pool[i][0], poly_pool[i][0])
            np.testing.assert_array_equal(rle_pool[i][1], poly_pool[i][1])

    def test_filters_and_summary(self):
        anns = self.data['annotations']
        labelled = {a['id']: sum(v > 0 for v in a['keypoints'][2::3]) for a in anns}
        summary = self._build(min_keypoints=15)
        few = sum(n < 15 for n in labelled.values())
        self.assertGreater(few, 0)
        self.assertEqual(summary['skipped']['few_keypoints'], few)
        # of the rest, those with fewer than 15 joints on their mask count as hidden
        self.assertEqual(summary['num_kept'] + summary['skipped']['hidden'], len(anns) - few)
        self.assertEqual(list(summary['skipped']), list(SKIP_REASONS))

        areas = {}
        for a in anns:
            img = self.images[a['image_id']]
            areas[a['id']] = int(_decode(a, img['height'], img['width']).sum())
        threshold = float(np.median(list(areas.values())))
        summary = self._build(min_area=threshold)
        self.assertEqual(summary['skipped']['small'], sum(v < threshold for v in areas.values()))
        self.assertTrue(all(areas[i] >= threshold for i in InstancePool(self.out).ann_ids))

        # overlap: the fraction of a mask inside the other people's boxes
        summary = self._build(max_overlap=0.0)
        kept = InstancePool(self.out).ann_ids
        self.assertGreater(summary['skipped']['overlap'], 0)
        self.assertEqual(summary['num_kept'] + summary['skipped']['overlap'], len(anns))
        for ann_id in kept:
            ann = next(a for a in anns if a['id'] == ann_id)
            img = self.images[ann['image_id']]
            mask = _decode(ann, img['height'], img['width'])
            for other in anns:
                if other['image_id'] == ann['image_id'] and other is not ann:
                    x, y, w, h = other['bbox']
                    inside = mask[
                        int(np.floor(y)) : int(np.ceil(y + h)),
                        int(np.floor(x)) : int(np.ceil(x + w)),
                    ]
                    self.assertFalse(inside.any(), f'{ann_id} overlaps {other["id"]}')

        summary = self._build(max_instances=3)
        self.assertEqual(summary['num_kept'], 3)
        self.assertEqual(summary['skipped']['max_instances'], len(anns) - 3)
        self.assertEqual(len(InstancePool(self.out)), 3)

    def test_skip_reasons(self):
        data = copy.deepcopy(self.data)
        anns = data['annotations']
        anns[0]['iscrowd'] = 1
        anns[1]['category_id'] = 2
        del anns[2]['segmentation']
        anns[3]['keypoints'] = anns[3]['keypoints'][:-3]
        anns[4]['segmentation'] = dict(size=[1, 1], counts='1')  # not the image's size
        # polygons of a 3x larger copy of the image: pycocotools would clip them silently
        image = next(img for img in data['images'] if img['id'] == anns[5]['image_id'])
        w3, h3 = 3 * image['width'], 3 * image['height']
        anns[5]['segmentation'] = [[10, 10, w3, 10, w3, h3, 10, h3]]
        data['categories'].append(dict(id=2, name='dog', supercategory='animal'))
        data['images'][-1] = dict(data['images'][-1], file_name='missing.jpg')
        last_id = data['images'][-1]['id']
        self.assertNotIn(last_id, [a['image_id'] for a in anns[:6]])
        missing = sum(a['image_id'] == last_id for a in anns)
        ann_file = _dump(data, osp.join(self.root, 'reasons.json'))
        summary = self._build(ann_file=ann_file)
        skipped = summary['skipped']
        self.assertEqual(skipped['crowd'], 1)
        self.assertEqual(skipped['not_person'], 1)
        self.assertEqual(skipped['no_segmentation'], 1)
        self.assertEqual(skipped['bad_keypoints'], 1)
        self.assertEqual(skipped['bad_segmentation'], 2)
        self.assertEqual(skipped['missing_image'], missing)
        self.assertEqual(summary['num_kept'] + sum(skipped.values()), len(anns))
        self.assertEqual(summary['num_annotations'], len(anns))

    def test_keypoint_free_annotations(self):
        data = copy.deepcopy(self.data)
        for ann in data['annotations']:
            del ann['keypoints']
        del data['categories'][0]['keypoints']
        ann_file = _dump(data, osp.join(self.root, 'no_kpts.json'))
        with self.assertRaisesRegex(ValueError, 'min-keypoints 0'):
            self._build(ann_file=ann_file, min_keypoints=1)
        summary = self._build(ann_file=ann_file)
        pool = InstancePool(self.out)
        self.assertEqual(summary['num_keypoints'], 0)
        self.assertEqual(pool[0][1].shape, (0, 3))

    def test_errors(self):
        missing = osp.join(self.root, 'nope.json')
        with self.assertRaisesRegex(FileNotFoundError, 'nope.json'):
            build_instance_pool(missing, self.img_dir, self.out)
        with self.assertRaisesRegex(FileNotFoundError, 'no_images'):
            build_instance_pool(self.ann_file, osp.join(self.root, 'no_images'), self.out)
        with self.assertRaisesRegex(ValueError, 'max_overlap'):
            self._build(max_overlap=2.0)

        data = copy.deepcopy(self.data)
        for ann in data['annotations']:
            del ann['segmentation']
        ann_file = _dump(data, osp.join(self.root, 'crowdpose_like.json'))
        with self.assertRaises(ValueError) as error:
            self._build(ann_file=ann_file)
        self.assertIn('CrowdPose', str(error.exception))
        self.assertIn('COCO', str(error.exception))

        with self.assertRaisesRegex(ValueError, 'no person .* passed the filters'):
            self._build(min_area=10**9)
        # a failed build leaves no pool behind
        self.assertEqual(os.listdir(self.out), [])

        not_coco = _dump({'foo': 1}, osp.join(self.root, 'not_coco.json'))
        with self.assertRaisesRegex(ValueError, 'not a COCO-format'):
            self._build(ann_file=not_coco)

    def _malformed(self, edit) -> str:
        """A copy of a valid pool whose index ``edit`` changed; returns its folder."""
        self._build(max_instances=2)
        index = _load(osp.join(self.out, INDEX_FILE))
        edit(index)
        _dump(index, osp.join(self.out, INDEX_FILE))
        return self.out

    def test_reader_errors(self):
        with self.assertRaisesRegex(FileNotFoundError, 'directory not found'):
            InstancePool(osp.join(self.root, 'no_pool'))
        with self.assertRaisesRegex(FileNotFoundError, INDEX_FILE):
            InstancePool(self.out)

        def set_key(key, value):
            return lambda index: index.__setitem__(key, value)

        def set_item(key, value):
            return lambda index: index['instances'][1].__setitem__(key, value)

        def drop_item_key(index):
            del index['instances'][0]['width']

        cases = [
            (set_key('version', 99), 'version 99'),
            (set_key('format', 'other'), 'format'),
            (lambda index: index.pop('num_keypoints'), "missing keys \\['num_keypoints'\\]"),
            (drop_item_key, "instance 0 misses keys \\['width'\\]"),
            (set_item('keypoints', [[1, 2, 2]] * 3), 'instance 1: keypoints'),
            (set_item('height', -4), 'instance 1: height'),
            (set_item('offset', 10**9), 'instance 1 ends at byte'),
            (set_key('instances', {}), 'must be a list'),
            (set_key('data_file', '../crops.u8'), 'data_file'),
            (set_key('keypoint_names', ['a']), 'keypoint_names'),
        ]
        for edit, message in cases:
            with self.subTest(message=message):
                pool_dir = self._malformed(edit)
                with self.assertRaisesRegex(ValueError, message) as error:
                    InstancePool(pool_dir)
                self.assertIn(INDEX_FILE, str(error.exception))
            self.out = tempfile.mkdtemp(dir=self.root)

        pool_dir = self._malformed(set_key('instances', []))
        with self.assertRaisesRegex(ValueError, 'empty'):
            InstancePool(pool_dir)
        with open(osp.join(pool_dir, INDEX_FILE), 'w') as f:
            f.write('{not json')
        with self.assertRaisesRegex(ValueError, 'not valid json'):
            InstancePool(pool_dir)
        self.out = tempfile.mkdtemp(dir=self.root)
        self._build(max_instances=1)
        data_file = InstancePool(self.out).data_file
        with open(data_file, 'ab') as f:  # not the file the index was written with
            f.write(b'\0' * 4)
        with self.assertRaisesRegex(ValueError, 'has .* bytes, but the index was written with'):
            InstancePool(self.out)
        os.truncate(data_file, osp.getsize(data_file) - 8)
        with self.assertRaisesRegex(ValueError, osp.basename(data_file)):
            InstancePool(self.out)
        os.remove(data_file)
        with self.assertRaisesRegex(FileNotFoundError, osp.basename(data_file)):
            InstancePool(self.out)

    def test_lazy_loading_and_pickle(self):
        self._build()
        pool = InstancePool(self.out)
        self.assertIsNone(pool._data)  # nothing mapped before the first access
        rgba, keypoints = pool[1]
        self.assertIsInstance(pool._data, np.memmap)
        data_size = osp.getsize(pool.data_file)
        blob = pickle.dumps(pool)
        self.assertLess(len(blob), 20000)
        self.assertLess(len(blob), data_size / 5)
        clone = pickle.loads(blob)
        self.assertIsNone(clone._data)
        np.testing.assert_array_equal(clone[1][0], rgba)
        np.testing.assert_array_equal(clone[1][1], keypoints)
        self.assertIn('InstancePool(', repr(clone))

    def test_rebuild_is_atomic(self):
        self._build(max_instances=2)
        old = InstancePool(self.out)
        old_crops = [old[i][0].copy() for i in range(len(old))]

        def files():
            return sorted(os.listdir(self.out))

        # a rebuild that fails when its index is serialized (an id json cannot write)
        # commits nothing: the old pool reads as before and no file of the new one is left
        before = files()
        with self.assertRaises(TypeError):
            with InstancePoolWriter(self.out, num_keypoints=K) as writer:
                writer.add(np.full((8, 8, 4), 9, np.uint8), [[0, 0, 0]] * K, object(), 1)
        self.assertEqual(files(), before)
        same = InstancePool(self.out)
        self.assertEqual((same.ann_ids, same.data_file), (old.ann_ids, old.data_file))
        for i, crop in enumerate(old_crops):
            np.testing.assert_array_equal(same[i][0], crop)

        # a rebuild that succeeds names its own data file and removes the old one
        stale = InstancePool(self.out)  # index parsed, data not mapped yet
        summary = self._build(max_instances=1)
        new = InstancePool(self.out)
        self.assertNotEqual(new.data_file, old.data_file)
        self.assertFalse(osp.exists(old.data_file))
        self.assertEqual(files(), sorted([INDEX_FILE, osp.basename(new.data_file)]))
        self.assertEqual(len(new), summary['num_kept'])
        # a reader holding the old index when the data file went fails clearly
        with self.assertRaisesRegex(FileNotFoundError, 'rebuilt after this reader'):
            stale[0]
        np.testing.assert_array_equal(old[0][0], old_crops[0])  # mapped before: still whole

    def test_two_builds_at_once(self):
        # two writers on one folder (e.g. two processes building a missing pool): neither
        # removes the other's unfinished data; the last to commit leaves a whole pool
        first = InstancePoolWriter(self.out, num_keypoints=1)
        second = InstancePoolWriter(self.out, num_keypoints=1)
        first.add(np.full((4, 4, 4), 1, np.uint8), [[1, 1, 2]], 'a', 1)
        second.add(np.full((6, 5, 4), 2, np.uint8), [[2, 2, 2]], 'b', 2)
        first.close()
        self.assertTrue(osp.isfile(osp.join(self.out, second.data_file)))
        second.close()
        pool = InstancePool(self.out)
        self.assertEqual((pool.ann_ids, pool[0][0].shape), ([2], (6, 5, 4)))
        self.assertEqual(int(pool[0][0].max()), 2)
        self.assertEqual(sorted(os.listdir(self.out)), sorted([INDEX_FILE, second.data_file]))

    def test_progress_output(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self._build(progress=True)
        num_images = len(self.data['images'])
        self.assertIn(f'{num_images}/{num_images}', out.getvalue())
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self._build(progress=False)
        self.assertEqual(out.getvalue(), '')

    def test_writer(self):
        with self.assertRaisesRegex(ValueError, 'no room'):
            with InstancePoolWriter(self.out, num_keypoints=1, margin=2) as writer:
                writer.add(np.zeros((4, 9, 4), np.uint8), [[0, 0, 0]])
        self.assertEqual(os.listdir(self.out), [])
        writer = InstancePoolWriter(self.out, num_keypoints=2)
        with self.assertRaisesRegex(ValueError, 'expected 2 keypoints'):
            writer.add(np.zeros((4, 4, 4), np.uint8), [[0, 0, 0]])
        with self.assertRaisesRegex(ValueError, r'\(h, w, 4\) uint8'):
            writer.add(np.zeros((4, 4, 3), np.uint8), [[0, 0, 0]] * 2)
        writer.add(np.full((4, 4, 4), 7, np.uint8), [[1, 2, 2], [0, 0, 0]], 'img', 'ann')
        writer.close()
        pool = InstancePool(self.out)
        self.assertEqual((pool.image_ids, pool.ann_ids), (['img'], ['ann']))
        self.assertEqual(int(pool[0][0].sum()), 7 * 64)

    def test_writer_refuses_non_finite_keypoints(self):
        with InstancePoolWriter(self.out, num_keypoints=2) as writer:
            with self.assertRaisesRegex(ValueError, "image 'img', annotation 5 .* NaN"):
                writer.add(np.zeros((4, 4, 4), np.uint8), [[1, np.nan, 2], [0, 0, 0]], 'img', 5)
            writer.add(np.zeros((4, 4, 4), np.uint8), [[1, 1, 2], [0, 0, 0]], 'img', 6)
        self.assertEqual(len(InstancePool(self.out)), 1)

    def test_a_foreign_index_is_never_replaced_nor_its_files_deleted(self):
        """A folder holding somebody else's index.json (naming a crops-*.u8 file of theirs)
        is refused; it used to be overwritten and the file it named deleted."""
        index = osp.join(self.out, INDEX_FILE)
        theirs = osp.join(self.out, 'crops-theirs.u8')
        with open(theirs, 'wb') as f:
            f.write(b'their data')
        _dump(dict(data_file='crops-theirs.u8', note='not a pool'), index)
        before = _load(index)
        with self.assertRaisesRegex(ValueError, 'is not an instance pool index'):
            self._build()
        with self.assertRaisesRegex(ValueError, 'is not an instance pool index'):
            InstancePoolWriter(self.out, num_keypoints=0)
        self.assertEqual(_load(index), before)
        with open(theirs, 'rb') as f:
            self.assertEqual(f.read(), b'their data')
        self.assertEqual(sorted(os.listdir(self.out)), ['crops-theirs.u8', INDEX_FILE])

    def _image_variant(self, name: str, data: bytes) -> dict:
        """A copy of the annotations whose first annotated image is the file ``name`` with
        ``data`` as its bytes; returns the new annotation data."""
        data_json = copy.deepcopy(self.data)
        first = data_json['annotations'][0]['image_id']
        image = next(img for img in data_json['images'] if img['id'] == first)
        image['file_name'] = name
        if data is not None:
            with open(osp.join(self.img_dir, name), 'wb') as f:
                f.write(data)
        return data_json

    def test_unreadable_images_are_counted_apart_from_missing_ones(self):
        """A JPEG cut short decodes with grey rows (OpenCV only warns); it is skipped as
        unreadable, not cut out with the grey."""
        first = self.data['annotations'][0]['image_id']
        source = osp.join(self.img_dir, self.images[first]['file_name'])
        with open(source, 'rb') as f:
            jpeg = f.read()
        people = sum(a['image_id'] == first for a in self.data['annotations'])
        for name, content, reason in (
            ('cut_short.jpg', jpeg[: len(jpeg) // 2], 'unreadable_image'),
            ('not_an_image.jpg', b'hello', 'unreadable_image'),
            ('absent.jpg', None, 'missing_image'),
        ):
            with self.subTest(name=name):
                data = self._image_variant(name, content)
                ann_file = _dump(data, osp.join(self.root, f'{name}.json'))
                summary = self._build(ann_file=ann_file)
                self.assertEqual(summary['skipped'][reason], people)
                other = 'missing_image' if reason == 'unreadable_image' else 'unreadable_image'
                self.assertEqual(summary['skipped'][other], 0)
        # the complete file is read as before
        self.assertEqual(self._build()['skipped']['unreadable_image'], 0)

    def test_bad_boxes_and_non_finite_keypoints_are_counted(self):
        data = copy.deepcopy(self.data)
        anns = data['annotations']
        anns[0]['bbox'] = [10, 10, 0, 50]
        anns[1]['bbox'] = [10, 10, -5, 50]
        anns[2]['bbox'] = [10, float('nan'), 20, 50]
        anns[3]['keypoints'][0] = float('nan')
        anns[4]['keypoints'][1] = float('inf')
        summary = self._build(ann_file=_dump(data, osp.join(self.root, 'bad_boxes.json')))
        self.assertEqual(summary['skipped']['bad_box'], 3)
        self.assertEqual(summary['skipped']['bad_keypoints'], 2)
        self.assertEqual(summary['num_kept'] + sum(summary['skipped'].values()), len(anns))

    def test_repeated_image_entries_store_nobody_twice(self):
        data = copy.deepcopy(self.data)
        data['images'] = data['images'] + copy.deepcopy(data['images'][:2])
        summary = self._build(ann_file=_dump(data, osp.join(self.root, 'repeated.json')))
        reference = self._build()
        self.assertEqual(summary['num_kept'], reference['num_kept'])
        self.assertEqual(summary['repeated_images'], 2)
        ann_ids = InstancePool(self.out).ann_ids
        self.assertEqual(len(ann_ids), len(set(ann_ids)))
        # one id naming two files cannot be resolved
        data['images'][-1] = dict(data['images'][-1], file_name='other.jpg')
        with self.assertRaisesRegex(ValueError, 'names two files'):
            self._build(ann_file=_dump(data, osp.join(self.root, 'conflict.json')))

    def test_links_that_do_not_resolve_have_their_own_message(self):
        data = copy.deepcopy(self.data)
        for ann in data['annotations']:
            ann['image_id'] += 1000
        ann_file = _dump(data, osp.join(self.root, 'unlinked.json'))
        with self.assertRaisesRegex(
            ValueError, 'annotations name image ids that `images` does not'
        ):
            self._build(ann_file=ann_file)
        data = copy.deepcopy(self.data)
        data['annotations'][0]['image_id'] = 'nowhere'
        summary = self._build(ann_file=_dump(data, osp.join(self.root, 'one_unlinked.json')))
        self.assertEqual(summary['skipped']['no_image_entry'], 1)
        self.assertEqual(
            summary['num_kept'] + sum(summary['skipped'].values()), len(data['annotations'])
        )

    def test_bad_files_and_arguments_name_the_problem(self):
        broken = osp.join(self.root, 'broken.json')
        with open(broken, 'w') as f:
            f.write('{"images": [')
        with self.assertRaisesRegex(ValueError, 'broken.json is not valid JSON'):
            self._build(ann_file=broken)
        for kwargs, name in (
            (dict(max_overlap=float('nan')), 'max_overlap'),
            (dict(min_on_mask=float('nan')), 'min_on_mask'),
            (dict(min_area=float('nan')), 'min_area'),
            (dict(margin=1.5), 'margin'),
        ):
            with self.subTest(name=name):
                with self.assertRaisesRegex(ValueError, f'build_instance_pool: {name}'):
                    self._build(**kwargs)

    def test_cli(self):
        spec = importlib.util.spec_from_file_location(
            'build_instance_pool_cli', osp.join(REPO_ROOT, 'tools', 'build_instance_pool.py')
        )
        cli = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cli)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(
                [
                    self.ann_file,
                    self.img_dir,
                    self.out,
                    '--min-area',
                    '0',
                    '--min-keypoints',
                    '0',
                    '--max-overlap',
                    '1',
                    '--min-on-mask',
                    '0',
                    '--max-border',
                    '1',
                    '--margin',
                    '1',
                ]
            )
        self.assertEqual(status, 0, err.getvalue())
        self.assertIn(f'kept {len(self.data["annotations"])} of', out.getvalue())
        self.assertEqual(InstancePool(self.out).margin, 1)
        shutil.rmtree(self.out)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            status = cli.main([self.ann_file, self.img_dir, self.out, '--min-area', '1e9'])
        self.assertEqual(status, 1)
        self.assertIn('error: no person', err.getvalue())
        self.assertFalse(osp.exists(osp.join(self.out, INDEX_FILE)))
