# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Draw what the FGMH-GCN changed: the initial pose (the base head's own prediction) next
to the refined one."""

import os.path as osp
import re
from typing import Dict, Optional, Sequence, Tuple

import cv2
import mmcv
import mmengine
import mmengine.fileio as fileio
import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS
from mmpose.structures import PoseDataSample

Color = Tuple[int, int, int]

# Orange and blue stay distinguishable with the common color-vision deficiencies; the
# initial joints are also drawn as rings and the refined ones as discs.
INITIAL_COLOR: Color = (255, 140, 0)  # RGB
REFINED_COLOR: Color = (0, 120, 255)  # RGB
OFFSET_COLOR: Color = (255, 255, 255)  # RGB


def initial_keypoints_in_image(
    data_sample: PoseDataSample, keypoint_indices: Optional[Sequence[int]] = None
) -> np.ndarray:
    """Map ``pred_instances.initial_keypoints`` from input-crop to image pixels.

    mmpose's ``TopdownPoseEstimator.add_pred_to_datasample`` maps only ``keypoints``;
    this applies the same mapping (``x / input_size * input_scale + input_center - 0.5 *
    input_scale``) to the initial pose that ``FGMHGCNHead`` returns with
    ``test_cfg['output_initial']=True``. Call it on the per-instance samples that
    ``inference_topdown`` / ``model.test_step`` return, before ``merge_data_samples``
    (a merged sample keeps only the first instance's crop).

    Args:
        data_sample (PoseDataSample): A predicted sample with ``input_center``,
            ``input_scale`` and ``input_size`` in its metainfo and
            ``pred_instances.initial_keypoints`` in shape (N, K, 2).
        keypoint_indices (Sequence[int], optional): ``test_cfg['output_keypoint_indices']``
            when the model selects keypoints (mmpose slices only fields named
            ``keypoint*``). Defaults to ``None``.

    Returns:
        np.ndarray: The initial pose in image pixels, shape (N, K, 2).

    Raises:
        KeyError: When the sample holds no ``initial_keypoints``.
    """
    pred = data_sample.get('pred_instances')
    if pred is None or 'initial_keypoints' not in pred:
        raise KeyError(
            'The prediction holds no `initial_keypoints`: the model head must be '
            "FGMHGCNHead with model.test_cfg['output_initial']=True (and refine=True)"
        )
    initial = np.asarray(pred.initial_keypoints, dtype=np.float32)[..., :2]
    if keypoint_indices is not None:
        initial = initial[:, list(keypoint_indices)]
    meta = data_sample.metainfo
    input_size = np.asarray(meta['input_size'], dtype=np.float32)
    input_scale = np.asarray(meta['input_scale'], dtype=np.float32)
    input_center = np.asarray(meta['input_center'], dtype=np.float32)
    return initial / input_size * input_scale + input_center - 0.5 * input_scale


def _bgr(color: Color) -> Tuple[int, int, int]:
    return int(color[2]), int(color[1]), int(color[0])


def _point(xy: np.ndarray) -> Tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))


def draw_refinement(
    image: np.ndarray,
    initial: np.ndarray,
    refined: np.ndarray,
    skeleton_links: Sequence[Sequence[int]],
    scores: Optional[np.ndarray] = None,
    kpt_thr: float = 0.3,
    bboxes: Optional[np.ndarray] = None,
    radius: int = 3,
    thickness: int = 1,
    initial_color: Color = INITIAL_COLOR,
    refined_color: Color = REFINED_COLOR,
    legend: bool = True,
) -> np.ndarray:
    """Draw an initial and a refined pose of each person on one image.

    The initial pose is drawn as rings and skeleton lines in ``initial_color``, the refined
    pose on top as discs and lines in ``refined_color``, and a thin white line joins each
    joint's two positions. With ``legend`` a strip under the image names both colors and
    gives the mean joint shift in image pixels.

    Args:
        image (np.ndarray): BGR image in shape (H, W, 3), uint8. Not modified.
        initial (np.ndarray): Initial pose in image pixels, shape (N, K, 2).
        refined (np.ndarray): Refined pose in image pixels, shape (N, K, 2).
        skeleton_links (Sequence[Sequence[int]]): (i, j) joint index pairs.
        scores (np.ndarray, optional): Keypoint scores in shape (N, K); joints below
            ``kpt_thr`` are not drawn. Defaults to drawing every joint.
        kpt_thr (float): Score threshold. Defaults to 0.3.
        bboxes (np.ndarray, optional): Person boxes (x1, y1, x2, y2), shape (N, 4), drawn
            in gray. Defaults to ``None``.
        radius (int): Joint radius in pixels. Defaults to 3.
        thickness (int): Line thickness in pixels. Defaults to 1.
        initial_color (tuple): RGB color of the initial pose.
        refined_color (tuple): RGB color of the refined pose.
        legend (bool): Append the legend strip. Defaults to ``True``.

    Returns:
        np.ndarray: The drawn BGR image, (H, W, 3) or (H + strip, W, 3) with the legend.
    """
    canvas = np.ascontiguousarray(image.copy())
    initial = np.asarray(initial, dtype=np.float32).reshape(-1, *np.shape(initial)[-2:])
    refined = np.asarray(refined, dtype=np.float32).reshape(initial.shape)
    if scores is None:
        visible = np.ones(initial.shape[:2], dtype=bool)
    else:
        visible = np.asarray(scores).reshape(initial.shape[:2]) >= kpt_thr
    visible &= np.isfinite(initial).all(-1) & np.isfinite(refined).all(-1)
    num_keypoints = initial.shape[1]
    links = [(int(i), int(j)) for i, j in skeleton_links if max(i, j) < num_keypoints]
    aa = cv2.LINE_AA

    if bboxes is not None:
        for box in np.asarray(bboxes, dtype=np.float32).reshape(-1, 4):
            cv2.rectangle(canvas, _point(box[:2]), _point(box[2:]), (160, 160, 160), 1, aa)

    for pose, color, filled in ((initial, initial_color, False), (refined, refined_color, True)):
        color = _bgr(color)
        for person, vis in zip(pose, visible):
            for i, j in links:
                if vis[i] and vis[j]:
                    cv2.line(canvas, _point(person[i]), _point(person[j]), color, thickness, aa)
        if not filled:
            # the shifts go under the refined discs, over the initial skeleton
            for start, end, vis in zip(initial, refined, visible):
                for k in np.flatnonzero(vis):
                    cv2.line(canvas, _point(start[k]), _point(end[k]), _bgr(OFFSET_COLOR), 1, aa)
        for person, vis in zip(pose, visible):
            for k in np.flatnonzero(vis):
                cv2.circle(
                    canvas,
                    _point(person[k]),
                    radius,
                    color,
                    -1 if filled else max(1, thickness),
                    aa,
                )

    if not legend:
        return canvas
    shifts = np.linalg.norm(refined - initial, axis=-1)[visible]
    shift_text = f'mean shift {shifts.mean():.1f} px' if shifts.size else 'no joint drawn'
    return _append_legend(canvas, initial_color, refined_color, shift_text, radius)


def _append_legend(
    canvas: np.ndarray, initial_color: Color, refined_color: Color, shift_text: str, radius: int
) -> np.ndarray:
    """Add a dark strip under the image naming the two poses."""
    height, width = canvas.shape[:2]
    font_scale = float(np.clip(width / 640.0, 0.35, 0.8))
    line_h = int(round(28 * font_scale)) + 4
    strip = np.full((line_h * 3 + 4, width, 3), 32, dtype=np.uint8)
    entries = [
        ('initial (base head)', initial_color, False),
        ('refined (GCN)', refined_color, True),
        (shift_text, None, False),
    ]
    r = max(radius, 3)
    for row, (text, color, filled) in enumerate(entries):
        y = line_h * row + line_h // 2 + 2
        x = 6
        if color is not None:
            cv2.circle(strip, (x + r, y), r, _bgr(color), -1 if filled else 1, cv2.LINE_AA)
            x += 2 * r + 6
        cv2.putText(
            strip,
            text,
            (x, y + int(8 * font_scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (235, 235, 235),
            1,
            cv2.LINE_AA,
        )
    return np.concatenate([canvas, strip], axis=0)


def _safe_name(name: str) -> str:
    """``name`` with every character but letters, digits, ``.``, ``-`` and ``_`` replaced by
    ``_``, and no leading dot (no hidden files, no ``..``)."""
    name = re.sub(r'[^A-Za-z0-9._-]', '_', name)
    return '_' + name[1:] if name.startswith('.') else name


@HOOKS.register_module()
class RefinementVisualizationHook(Hook):
    """Draw the initial and the GCN-refined pose of ``FGMHGCNHead`` during testing.

    Modelled on mmpose's ``PoseVisualizationHook``: after every test iteration each
    ``interval``-th predicted sample (one person, top-down) is drawn on its original image
    with :func:`draw_refinement` and written to ``out_dir``. The model must predict
    ``initial_keypoints``: set ``model.test_cfg.output_initial=True`` (``tools/test.py
    --show-refinement`` does it and registers this hook).

    Args:
        enable (bool): Draw at all. Defaults to ``True``.
        interval (int): Draw every ``interval``-th sample. Defaults to 1.
        kpt_thr (float): Joints whose score is below it are not drawn. Defaults to 0.3.
        out_dir (str, optional): Output folder; a relative path is taken under
            ``<work_dir>/<timestamp>/`` as ``PoseVisualizationHook`` does. Defaults to
            ``'vis_refinement'``.
        radius (int): Joint radius in pixels. Defaults to 3.
        thickness (int): Line thickness in pixels. Defaults to 1.
        initial_color (tuple): RGB color of the initial pose. Defaults to orange.
        refined_color (tuple): RGB color of the refined pose. Defaults to blue.
        image_format (str, optional): ``'png'`` or ``'jpg'``; ``None`` keeps the input
            image's extension. Defaults to ``None``.
        backend_args (dict, optional): File backend arguments to read images.

    Files are named ``{image stem}_{annotation id}.{ext}`` (a running number when the
    sample has no ``id``), so persons of one image do not overwrite each other; characters
    other than letters, digits, ``.``, ``-`` and ``_`` become ``_`` (a name never leaves
    ``out_dir``), and a name already written in the run gets a ``_1``, ``_2`` ... suffix.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        enable: bool = True,
        interval: int = 1,
        kpt_thr: float = 0.3,
        out_dir: Optional[str] = None,
        radius: int = 3,
        thickness: int = 1,
        initial_color: Color = INITIAL_COLOR,
        refined_color: Color = REFINED_COLOR,
        image_format: Optional[str] = None,
        backend_args: Optional[dict] = None,
    ) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if image_format is not None and image_format.lower().lstrip('.') not in (
            'png',
            'jpg',
            'jpeg',
        ):
            raise ValueError(f"image_format must be 'png', 'jpg' or None, got {image_format!r}")
        self.enable = enable
        self.interval = interval
        self.kpt_thr = kpt_thr
        self.out_dir = out_dir
        self.radius = radius
        self.thickness = thickness
        self.initial_color = tuple(initial_color)
        self.refined_color = tuple(refined_color)
        self.image_format = None if image_format is None else image_format.lower().lstrip('.')
        self.backend_args = backend_args
        self._out_dir: Optional[str] = None
        self._test_index = 0
        self._unnamed: Dict[str, int] = {}  # samples without an id, per image stem
        self._written: Dict[str, int] = {}  # file names written, and how often

    def before_test(self, runner) -> None:
        """Resolve the output folder once (relative paths under work_dir/timestamp)."""
        if not self.enable:
            return
        out_dir = self.out_dir if self.out_dir is not None else 'vis_refinement'
        self._out_dir = osp.join(runner.work_dir, runner.timestamp, out_dir)
        mmengine.mkdir_or_exist(self._out_dir)

    @staticmethod
    def _model_test_cfg(runner) -> dict:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return dict(getattr(model, 'test_cfg', None) or {})

    @staticmethod
    def _skeleton_links(runner) -> Sequence[Sequence[int]]:
        meta = getattr(runner.test_evaluator, 'dataset_meta', None) or {}
        if 'skeleton_links' not in meta:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            meta = getattr(model, 'dataset_meta', None) or {}
        return meta.get('skeleton_links', [])

    def _out_file(self, data_sample: PoseDataSample, img_path: str) -> str:
        """``{stem}_{id}{ext}`` inside the output folder: both parts reduced to safe
        characters (an id such as ``'../x'`` cannot leave the folder), and a running suffix
        where a name was already written in this test run (repeated ids)."""
        stem, ext = osp.splitext(osp.basename(img_path))
        ext = f'.{self.image_format}' if self.image_format else (ext or '.png')
        ann_id = data_sample.metainfo.get('id')
        if ann_id is None:
            ann_id = self._unnamed.get(stem, 0)
            self._unnamed[stem] = ann_id + 1
        name = _safe_name(f'{stem}_{ann_id}')
        count = self._written.get(name + ext, 0)
        self._written[name + ext] = count + 1
        if count:
            name = f'{name}_{count}'
        return osp.join(self._out_dir, name + ext)

    def after_test_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: dict,
        outputs: Sequence[PoseDataSample],
    ) -> None:
        """Draw every ``interval``-th sample of the batch.

        Raises:
            KeyError: When a prediction holds no ``initial_keypoints``.
        """
        if not self.enable:
            return
        if self._out_dir is None:  # hook used without before_test (e.g. called directly)
            self.before_test(runner)
        links = self._skeleton_links(runner)
        indices = self._model_test_cfg(runner).get('output_keypoint_indices')
        for data_sample in outputs:
            index = self._test_index
            self._test_index += 1
            if index % self.interval:
                continue
            initial = initial_keypoints_in_image(data_sample, indices)
            pred = data_sample.pred_instances
            img_path = data_sample.metainfo['img_path']
            img = mmcv.imfrombytes(fileio.get(img_path, backend_args=self.backend_args))
            drawn = draw_refinement(
                img,
                initial,
                np.asarray(pred.keypoints)[..., :2],
                links,
                scores=pred.get('keypoint_scores'),
                kpt_thr=self.kpt_thr,
                bboxes=pred.get('bboxes'),
                radius=self.radius,
                thickness=self.thickness,
                initial_color=self.initial_color,
                refined_color=self.refined_color,
            )
            mmcv.imwrite(drawn, self._out_file(data_sample, img_path))
