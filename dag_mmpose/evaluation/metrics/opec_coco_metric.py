# Copyright (c) dag_mmpose contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS
from xtcocotools.cocoeval import COCOeval


@METRICS.register_module()
class OPECCocoMetric(CocoMetric):
    """mmpose's :class:`~mmpose.evaluation.metrics.CocoMetric` that also reports the AP at
    stricter OKS thresholds, as OPEC-Net's tables do (``AP .8``, ``AP .9`` by default).

    Everything else is ``CocoMetric``'s: with ``gt_converter`` / ``pred_converter``
    (mmpose's ``KeypointConverter`` mappings) a 14- or 17-joint model is scored on a subset
    of joints, e.g. OPEC-Net's 12 (CrowdPose joints 0-11, COCO joints 5-16) with the
    sigmas converted alike; OPEC-Net scores CrowdPose and OCPose with ``use_area=False``.
    Unlike ``CocoMetric`` (mmpose 1.3), it converts a copy of the dataset's metainfo: an
    evaluator hands one metainfo dict to all its metrics, and converting it in place gave a
    ``CocoMetric`` on all joints beside this one the 12 sigmas.
    Configs: ``configs/body_2d_keypoint/opec/``; the protocol: ``docs/opec_net.md``.

    Args:
        extra_iou_thrs (Sequence[float]): OKS thresholds of the extra APs; each must be one
            of COCOeval's (0.50, 0.55, ..., 0.95). Defaults to ``(0.8, 0.9)``.
        **kwargs: The arguments of ``CocoMetric``.
    """

    def __init__(self, extra_iou_thrs: Sequence[float] = (0.8, 0.9), **kwargs) -> None:
        super().__init__(**kwargs)
        thresholds = np.linspace(0.5, 0.95, 10)
        for thr in extra_iou_thrs:
            if not np.isclose(thresholds, thr).any():
                raise ValueError(
                    f"OPECCocoMetric: extra_iou_thrs {thr} is not one of COCOeval's OKS "
                    f'thresholds {np.round(thresholds, 2).tolist()}'
                )
        self.extra_iou_thrs = tuple(float(t) for t in extra_iou_thrs)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The dataset's metainfo, with the converted sigmas and joint count."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        # CocoMetric's setter reassigns 'sigmas' / 'num_keypoints' of the dict it is given
        CocoMetric.dataset_meta.fset(self, dict(dataset_meta))

    def _do_python_keypoint_eval(self, outfile_prefix: str) -> list:
        """CocoMetric's statistics, then ``AP .8`` ... at ``extra_iou_thrs``."""
        coco_det = self.coco.loadRes(f'{outfile_prefix}.keypoints.json')
        coco_eval = COCOeval(
            self.coco, coco_det, self.iou_type, self.dataset_meta['sigmas'], self.use_area
        )
        coco_eval.params.useSegm = None
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
        if self.iou_type == 'keypoints_crowd':
            names = ['AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75', 'AP(E)', 'AP(M)', 'AP(H)']
        else:
            names = ['AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75']
            names += ['AR (M)', 'AR (L)']
        info = list(zip(names, coco_eval.stats))
        # precision: [T thresholds, R recalls, K categories, A areas, M max detections]
        precision = coco_eval.eval['precision']
        for thr in self.extra_iou_thrs:
            index = int(np.argmin(np.abs(coco_eval.params.iouThrs - thr)))
            values = precision[index, :, :, 0, -1]
            values = values[values > -1]
            info.append(
                (f'AP {thr:g}'.replace('0.', '.'), float(values.mean()) if values.size else -1.0)
            )
        return info
