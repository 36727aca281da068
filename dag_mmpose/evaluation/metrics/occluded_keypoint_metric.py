# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Keypoint accuracy split by occlusion: occluded (v=1; v=1 and v=3 in COCO-RE) vs visible
(v=2) joints, and by how much of the person others overlap."""

import contextlib
import io
import warnings
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpose.registry import METRICS
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from ...utils.checks import check_finite, check_interval, check_number
from ...utils.json_io import load_json
from ...utils.visibility import (
    check_visibility_convention,
    check_visibility_flags,
    labelled_flags,
    occluded_flags,
)
from ..occlusion_statistics import max_box_ious

__all__ = ['OccludedKeypointMetric']

# torso diagonals, by mmpose keypoint names (COCO, CrowdPose, OCHuman, ...)
TORSO = (('left_shoulder', 'right_hip'), ('right_shoulder', 'left_hip'))


@METRICS.register_module()
class OccludedKeypointMetric(BaseMetric):
    """PCK, per-joint OKS and normalized error of occluded vs visible joints, and OKS-AP over
    the occluded joints alone. Use it beside ``CocoMetric``::

        val_evaluator = [
            dict(type='CocoMetric', ann_file=ann_file),
            dict(type='OccludedKeypointMetric', ann_file=ann_file),
        ]

    Every labelled ground-truth joint is scored by its visibility flag (``occ``: v=1, and
    v=3 with ``visibility_convention='coco-re'``; ``vis``: v=2; ``all``: every labelled
    joint). Predictions are matched to the ground-truth people of their image as COCO does:
    by score, greedily, each to the unmatched person with the highest OKS, if that OKS
    reaches ``match_oks_thr`` (with ground-truth boxes every prediction finds its own
    person). Joints of an unmatched person count as misses (PCK and OKS 0) and are left out
    of the error. Reported, for each group ``g``:

    - ``g/PCK@t``: share of joints within ``t`` times the longer side of the person's box;
    - ``g/PCK@t-torso``: the same relative to the torso (mean of the labelled shoulder-to-
      opposite-hip distances), where the dataset names those joints and the person has one;
    - ``g/OKS``: mean per-joint OKS (the dataset's sigmas, COCO's area convention);
    - ``g/err``: mean distance divided by the longer box side, matched people only;
    - the same with ``iou<a/``, ``iou[a,b)/`` and ``iou>=b/`` in front, by the person's largest
      box IoU with another annotated person of the image (``iou_buckets=(a, b)``);
    - ``occ/AP``: COCO OKS-AP of the people with an occluded joint, computed on their
      occluded joints only (xtcocotools ``COCOeval``; visible joints are unlabelled for it).

    A dataset (or bucket) without any occluded joint has no ``occ`` figures: they are left
    out with a warning, never reported as 0.

    COCO-RE (the DAG paper's relabelling of COCO val2017) adds the occluded joints COCO left
    unlabelled as v=3, "labelled and occluded": evaluate it with
    ``visibility_convention='coco-re'``, where v=3 joints are occluded joints everywhere above
    (the ``occ`` / ``all`` figures, the people of ``occ/AP`` and their joints in it).

    Bad input: the annotation file is checked when the metric is built. Repeated annotation
    ids, NaN / infinite keypoints, visibility flags the convention does not know (v=3 under
    the default ``'coco'``, where it would silently drop out of ``occ``; anything but 0-3
    under both) and (``use_area=True``) labelled people without a positive ``area`` raise a
    ``ValueError`` naming the file and the ids; labelled people whose box has no positive
    size cannot be scaled and are left out of every figure, with a warning giving their
    count. Predictions whose joint count is not the dataset's raise; predicted
    joints that are NaN or infinite are misses (PCK and OKS 0, left out of the error and
    unmatched in ``occ/AP``), with a warning giving their count.

    Args:
        ann_file (str): COCO-format keypoint annotations with visibility flags.
        pck_thrs (Sequence[float]): PCK thresholds. Defaults to ``(0.05, 0.1)``.
        iou_buckets (Tuple[float, float]): Bucket edges of the overlap with others. Defaults
            to ``(0.3, 0.5)``, as in the OCPose / CrowdPose tables.
        match_oks_thr (float): Least OKS for a prediction to match a person. Defaults to 0.5.
        use_area (bool): OKS scale from the annotation's ``area`` (COCO), else from
            ``0.53 * box area`` (xtcocotools, CrowdPose). Defaults to ``True``.
        keypoint_score_thr (float): Keypoint scores above it make the instance score
            (``bbox_score * mean``, CocoMetric's rescoring). Defaults to 0.2.
        visibility_convention (str): What the ground truth's visibility flags mean:
            ``'coco'`` (v=0, 1, 2; occluded: v=1) or ``'coco-re'`` (also v=3, "labelled and
            occluded"; occluded: v=1 and v=3). See :mod:`dag_mmpose.utils.visibility`.
            Defaults to ``'coco'``.
        per_image_file (str, optional): Also write, per evaluation, the per-image records
            the figures are made of (``.npz``; read by
            :func:`dag_mmpose.benchmark.stats.load_per_image`, which bootstraps the figures
            over images): every labelled joint with its image, flag and OKS, the ``occ/AP``
            evaluation per detection and ground-truth person, and each image's count of
            predicted joints scored below ``keypoint_score_thr``. Defaults to ``None``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to ``None``.
    """

    default_prefix: Optional[str] = None

    def __init__(
        self,
        ann_file: str,
        pck_thrs: Sequence[float] = (0.05, 0.1),
        iou_buckets: Tuple[float, float] = (0.3, 0.5),
        match_oks_thr: float = 0.5,
        use_area: bool = True,
        keypoint_score_thr: float = 0.2,
        visibility_convention: str = 'coco',
        per_image_file: Optional[str] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        owner = 'OccludedKeypointMetric'
        low, high = check_interval(iou_buckets, 'iou_buckets', owner, gt=0, le=1)
        if not low < high:
            raise ValueError(f'iou_buckets must be (a, b) with 0 < a < b <= 1, got {iou_buckets}')
        self.ann_file = ann_file
        self.use_area = bool(use_area)
        convention = check_visibility_convention(visibility_convention, owner)
        self.visibility_convention = convention
        self.occluded_flags = occluded_flags(convention)
        # joint groups by ground-truth visibility flag
        self._groups = (
            ('all', labelled_flags(convention)),
            ('occ', self.occluded_flags),
            ('vis', (2,)),
        )
        self.coco, self._unscaled = self._load_ground_truth(ann_file, self.use_area, convention)
        self.pck_thrs = tuple(check_number(t, 'pck_thrs', owner, gt=0) for t in pck_thrs)
        self.iou_buckets = (low, high)
        self.match_oks_thr = check_number(match_oks_thr, 'match_oks_thr', owner, ge=0, le=1)
        self.keypoint_score_thr = check_number(keypoint_score_thr, 'keypoint_score_thr', owner)
        self.per_image_file = per_image_file

    @staticmethod
    def _load_ground_truth(
        ann_file: str, use_area: bool, convention: str = 'coco'
    ) -> Tuple[COCO, set]:
        """The annotations as an xtcocotools ``COCO``, checked, and the ids of the labelled
        people without a usable box (left out of every figure, with a warning).

        Raises:
            ValueError: The file is not COCO-format, annotation ids repeat, keypoints are not
                finite, a visibility flag is not the ``convention``'s or (``use_area=True``)
                a labelled person has no positive ``area``.
        """
        data = load_json(ann_file)
        if not isinstance(data, dict) or not all(
            isinstance(data.get(key), list) for key in ('images', 'annotations')
        ):
            raise ValueError(
                f'{ann_file} is not a COCO-format keypoint file: it needs `images` and '
                '`annotations` lists'
            )
        counts = Counter(ann.get('id') for ann in data['annotations'] if isinstance(ann, dict))
        repeated = [ann_id for ann_id, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(
                f'{ann_file}: {len(repeated)} annotation ids are used more than once (e.g. '
                f'{repeated[:5]}); COCO tools index annotations by id and would score every '
                'person of a repeated id as the last of them: give each annotation its own id'
            )
        unscaled, no_area = [], []
        for index, ann in enumerate(data['annotations']):
            if not isinstance(ann, dict) or ann.get('iscrowd', 0):
                continue
            where = f'{ann_file}: annotation {ann.get("id", f"#{index}")}'
            joints = check_finite(ann.get('keypoints', []), f'{where} "keypoints"')
            if joints.size % 3 or not (joints.reshape(-1, 3)[:, 2] > 0).any():
                continue
            bbox = np.asarray(ann.get('bbox', []), dtype=np.float64)
            if bbox.shape != (4,) or not np.isfinite(bbox).all() or min(bbox[2:]) <= 0:
                unscaled.append(ann.get('id'))
            elif use_area and not (
                isinstance(ann.get('area'), (int, float)) and np.isfinite(ann['area'])
                and ann['area'] > 0
            ):  # fmt: skip
                no_area.append(ann.get('id'))
        check_visibility_flags(data['annotations'], convention, ann_file)
        if no_area:
            raise ValueError(
                f'{ann_file}: {len(no_area)} labelled annotations have no positive `area` '
                f'(e.g. ids {no_area[:5]}), which OKS needs with use_area=True: set '
                'use_area=False to scale by 0.53 x the box area as CrowdPose does'
            )
        if unscaled:
            warnings.warn(
                f'OccludedKeypointMetric: {len(unscaled)} labelled people of {ann_file} have '
                f'no box of positive size (e.g. ids {unscaled[:5]}); without a scale they are '
                'left out of every figure',
                stacklevel=3,
            )
        coco = COCO()
        coco.dataset = data
        with contextlib.redirect_stdout(io.StringIO()):
            coco.createIndex()
        return coco, set(unscaled)

    def _sigmas(self) -> np.ndarray:
        """The dataset's OKS sigmas (K,), from ``dataset_meta``."""
        if not self.dataset_meta or 'sigmas' not in self.dataset_meta:
            raise ValueError(
                'OccludedKeypointMetric has no `dataset_meta` with `sigmas`: an Evaluator '
                "sets it from the dataset; used alone, set metric.dataset_meta = the dataset's "
                'metainfo (parse_pose_metainfo)'
            )
        return np.asarray(self.dataset_meta['sigmas'], dtype=np.float64)

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        """Keep each sample's image id, keypoints (N, K, 2) and instance scores (N,)."""
        num_keypoints = len(self._sigmas())
        for sample in data_samples:
            if 'pred_instances' not in sample:
                raise ValueError('OccludedKeypointMetric needs `pred_instances` in the samples')
            pred = sample['pred_instances']
            keypoints = np.asarray(pred['keypoints'], dtype=np.float64)
            if keypoints.ndim != 3 or keypoints.shape[1:] != (num_keypoints, 2):
                raise ValueError(
                    f'OccludedKeypointMetric: the predicted keypoints of image '
                    f'{sample.get("img_id")} have shape {keypoints.shape}, the dataset '
                    f'{num_keypoints} joints: expected (N, {num_keypoints}, 2)'
                )
            scores = np.asarray(pred['keypoint_scores'], dtype=np.float64)
            if 'bbox_scores' in pred:
                bbox_scores = np.asarray(pred['bbox_scores'], dtype=np.float64)
            else:
                bbox_scores = np.asarray(
                    sample.get('gt_instances', {}).get('bbox_scores', np.ones(len(keypoints)))
                )
            if len(bbox_scores) != len(keypoints):
                bbox_scores = np.ones(len(keypoints))
            high = scores > self.keypoint_score_thr
            mean = np.where(high.any(1), (scores * high).sum(1) / np.maximum(high.sum(1), 1), 0)
            self.results.append(
                dict(
                    img_id=sample['img_id'],
                    keypoints=keypoints,
                    scores=bbox_scores * mean,
                    low_scores=int((scores < self.keypoint_score_thr).sum()),
                    num_joints=int(scores.size),
                )
            )

    # ------------------------------------------------------------------ ground truth

    def _people(self, img_id) -> List[dict]:
        """Non-crowd people of an image with at least one labelled joint, each with its joints
        (K, 3), box (xywh), OKS area and largest box IoU with another person."""
        anns = [
            a
            for a in self.coco.loadAnns(self.coco.getAnnIds(imgIds=img_id))
            if not a.get('iscrowd', 0)
        ]
        ious = max_box_ious([a['bbox'] for a in anns])
        people = []
        for index, ann in enumerate(anns):
            joints = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
            if not (joints[:, 2] > 0).any() or ann.get('id') in self._unscaled:
                continue
            w, h = ann['bbox'][2], ann['bbox'][3]
            area = ann['area'] if self.use_area else w * h * 0.53
            people.append(
                dict(ann=ann, joints=joints, size=max(w, h), area=area, iou=float(ious[index]))
            )
        return people

    def _torso(self, joints: np.ndarray) -> Optional[float]:
        name2id = self.dataset_meta.get('keypoint_name2id', {}) if self.dataset_meta else {}
        lengths = [
            float(np.linalg.norm(joints[name2id[a], :2] - joints[name2id[b], :2]))
            for a, b in TORSO
            if a in name2id
            and b in name2id
            and joints[name2id[a], 2] > 0
            and joints[name2id[b], 2] > 0
        ]
        return float(np.mean(lengths)) if lengths else None

    def _oks(self, pred: np.ndarray, person: dict, sigmas: np.ndarray) -> np.ndarray:
        """Per-joint OKS (K,) of a prediction (K, 2) with a person, as xtcocotools computes."""
        d2 = ((pred - person['joints'][:, :2]) ** 2).sum(1)
        return np.exp(-d2 / (2 * sigmas) ** 2 / (person['area'] + np.spacing(1)) / 2)

    # ---------------------------------------------------------------------- metrics

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        sigmas = self._sigmas()
        by_image = defaultdict(list)
        non_finite = 0
        for result in results:
            for keypoints, score in zip(result['keypoints'], result['scores']):
                bad = ~np.isfinite(keypoints).all(axis=1)
                if bad.any():
                    # a NaN joint is a miss, infinitely far from every person
                    non_finite += int(bad.sum())
                    keypoints = keypoints.copy()
                    keypoints[bad] = np.inf
                by_image[result['img_id']].append((float(score), keypoints))
        if non_finite:
            warnings.warn(
                f'OccludedKeypointMetric: {non_finite} predicted joints are NaN or infinite; '
                'they are scored as misses (CocoMetric passes them to xtcocotools unchecked)',
                stacklevel=2,
            )

        joints, joint_images = [], []  # one row per labelled joint: see _joint_rows
        occ_gt, occ_dt = [], []
        for img_id in self.coco.getImgIds():
            people = self._people(img_id)
            matches = self._match(people, by_image.get(img_id, []), sigmas)
            for person, match in zip(people, matches):
                rows = self._joint_rows(person, match, sigmas)
                joints.extend(rows)
                joint_images.extend([img_id] * len(rows))
                if np.isin(person['joints'][:, 2], self.occluded_flags).any():
                    occ_gt.append(person['ann'])
                    if match is not None:
                        occ_dt.append((img_id, match[0], match[1]))

        joints = np.array(joints).reshape(-1, 6)
        metrics = self._aggregate(joints, '')
        evaluation = None
        if any(k.startswith('occ/') for k in metrics):
            evaluation = self._occluded_evaluation(occ_gt, occ_dt, sigmas)
            metrics['occ/AP'] = float(evaluation.stats[0]) if evaluation is not None else 0.0
        else:
            flags = ' or '.join(f'v={v}' for v in self.occluded_flags)
            warnings.warn(
                f'OccludedKeypointMetric: {self.ann_file} has no occluded ({flags}) joints; '
                'the occ/ figures are left out',
                stacklevel=2,
            )
        if self.per_image_file:
            self._write_per_image(results, joints, np.array(joint_images), evaluation)
        return metrics

    def _write_per_image(
        self,
        results: List[dict],
        joints: np.ndarray,
        joint_images: np.ndarray,
        evaluation: Optional[COCOeval],
    ) -> None:
        """``per_image_file``: the records behind the figures, each row with its image id.

        ``joints`` (J, 7): image id, then :meth:`_joint_rows`' ``v, matched, dist / size,
        dist / torso, oks, iou``; ``occ_dets`` (D, 2 + 2T): image id, score, then per OKS
        threshold whether the detection matched and whether it is ignored (``occ/AP``'s
        evaluation at area 'all', as ``COCOeval.accumulate`` reads it); ``occ_gts`` (G, 2):
        image id, ignored; ``low_scores`` (I, 3): image id, predicted joints scored below
        ``keypoint_score_thr``, predicted joints.
        """
        thrs = np.linspace(0.5, 0.95, 10)
        dets, gts = np.zeros((0, 2 + 2 * len(thrs))), np.zeros((0, 2))
        if evaluation is not None:
            params = evaluation.params
            thrs = np.asarray(params.iouThrs)
            det_rows, gt_rows = [], []
            for entry in evaluation.evalImgs:
                if entry is None or list(entry['aRng']) != list(params.areaRng[0]):
                    continue
                count = min(len(entry['dtScores']), entry['maxDet'])
                for d in range(count):
                    det_rows.append([entry['image_id'], entry['dtScores'][d],
                                     *(entry['dtMatches'][:, d] > 0),
                                     *entry['dtIgnore'][:, d]])  # fmt: skip
                gt_rows.extend([entry['image_id'], g] for g in entry['gtIgnore'])
            dets = np.array(det_rows, dtype=np.float64).reshape(-1, 2 + 2 * len(thrs))
            gts = np.array(gt_rows, dtype=np.float64).reshape(-1, 2)
        low = np.array(
            [[r['img_id'], r['low_scores'], r['num_joints']] for r in results], dtype=np.float64
        ).reshape(-1, 3)
        np.savez_compressed(
            self.per_image_file,
            img_ids=np.array(self.coco.getImgIds(), dtype=np.float64),
            joints=np.column_stack([joint_images, joints]) if len(joints) else np.zeros((0, 7)),
            occluded_flags=np.array(self.occluded_flags, dtype=np.float64),
            iou_thrs=thrs,
            occ_dets=dets,
            occ_gts=gts,
            low_scores=low,
            keypoint_score_thr=np.float64(self.keypoint_score_thr),
        )

    def _match(self, people: List[dict], preds: List[tuple], sigmas: np.ndarray) -> List:
        """Greedy matching by score: per person ``(score, keypoints)`` or ``None``."""
        matches = [None] * len(people)
        for score, keypoints in sorted(preds, key=lambda p: -p[0]):
            best, best_oks = None, self.match_oks_thr
            for index, person in enumerate(people):
                if matches[index] is not None:
                    continue
                labelled = person['joints'][:, 2] > 0
                oks = float(self._oks(keypoints, person, sigmas)[labelled].mean())
                if oks >= best_oks:
                    best, best_oks = index, oks
            if best is not None:
                matches[best] = (score, keypoints)
        return matches

    def _joint_rows(self, person: dict, match, sigmas: np.ndarray) -> List[List[float]]:
        """``[v, matched, dist / size, dist / torso (nan: none), oks, iou]`` per joint."""
        gt = person['joints']
        torso = self._torso(gt)
        oks = self._oks(match[1], person, sigmas) if match is not None else np.zeros(len(gt))
        rows = []
        for j in np.flatnonzero(gt[:, 2] > 0):
            dist = float(np.linalg.norm(match[1][j] - gt[j, :2])) if match is not None else np.inf
            rel_torso = dist / torso if torso else np.nan
            # a joint predicted as NaN / inf is a miss, left out of the error like those of
            # an unmatched person
            rows.append([gt[j, 2], np.isfinite(dist), dist / person['size'], rel_torso,
                         oks[j], person['iou']])  # fmt: skip
        return rows

    def _aggregate(self, rows: np.ndarray, key_prefix: str, buckets: bool = True) -> dict:
        metrics = {}
        for group, flags in self._groups:
            sel = rows[np.isin(rows[:, 0], flags)]
            if not len(sel):
                continue
            for t in self.pck_thrs:
                metrics[f'{key_prefix}{group}/PCK@{t:g}'] = float(np.mean(sel[:, 2] <= t))
                torso = sel[~np.isnan(sel[:, 3])]
                if len(torso):
                    metrics[f'{key_prefix}{group}/PCK@{t:g}-torso'] = float(
                        np.mean(torso[:, 3] <= t)
                    )
            metrics[f'{key_prefix}{group}/OKS'] = float(sel[:, 4].mean())
            matched = sel[sel[:, 1] > 0]
            if len(matched):
                metrics[f'{key_prefix}{group}/err'] = float(matched[:, 2].mean())
        if buckets:
            low, high = self.iou_buckets
            for name, keep in (
                (f'iou<{low:g}/', rows[:, 5] < low),
                (f'iou[{low:g},{high:g})/', (rows[:, 5] >= low) & (rows[:, 5] < high)),
                (f'iou>={high:g}/', rows[:, 5] >= high),
            ):
                if keep.any():
                    metrics.update(self._aggregate(rows[keep], key_prefix + name, buckets=False))
        return metrics

    def _occluded_evaluation(
        self, gt_anns: List[dict], dets: List[tuple], sigmas: np.ndarray
    ) -> Optional[COCOeval]:
        """The ``COCOeval`` (evaluated, accumulated, summarized) of the people with an
        occluded joint, on their occluded joints only; ``None`` without detections (AP 0).

        The other joints are made unlabelled (v=0); the occluded ones keep their flag, which
        xtcocotools counts as labelled for any v > 0 (v=3 of COCO-RE included)."""
        annotations = []
        for ann in gt_anns:
            joints = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3).copy()
            # visible joints do not count
            joints[~np.isin(joints[:, 2], self.occluded_flags), 2] = 0
            annotations.append(
                dict(
                    ann,
                    keypoints=joints.reshape(-1).tolist(),
                    num_keypoints=int((joints[:, 2] > 0).sum()),
                )
            )
        if not dets:
            return None
        img_ids = sorted({a['image_id'] for a in annotations})
        gt = COCO()
        gt.dataset = dict(
            images=[dict(id=i) for i in img_ids],
            annotations=annotations,
            categories=[dict(id=1, name='person')],
        )
        results = [
            dict(image_id=img_id, category_id=1, score=score,
                 keypoints=np.column_stack([kpts, np.ones(len(kpts))]).reshape(-1).tolist())
            for img_id, score, kpts in dets
        ]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()):
            gt.createIndex()
            detections = gt.loadRes(results)
            for det in detections.anns.values():
                # loadRes sizes a detection by its keypoints' extent and the area range
                # would ignore one with a miss (inf) joint: size it by its finite joints
                points = np.asarray(det['keypoints'], dtype=np.float64).reshape(-1, 3)[:, :2]
                points = points[np.isfinite(points).all(axis=1)]
                det['area'] = float(np.prod(np.ptp(points, axis=0))) if len(points) else 0.0
            evaluator = COCOeval(gt, detections, 'keypoints', sigmas, self.use_area)
            evaluator.params.useSegm = None
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        return evaluator
