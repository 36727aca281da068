# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Synthetic occluded-pose datasets in COCO, CrowdPose and OCHuman layouts, for tests,
benchmarks and the demo.

Modules: :mod:`.layout` (joint names, skeletons, file layout), :mod:`.figure` (one person),
:mod:`.scene` (people, occluders and visibility), :mod:`.write` (images and json of a
split), :mod:`.splits` (every split of a layout, kept or written, and counted),
:mod:`.demo` (the README's main-job data).

Draws people as posed 3D skeletons seen from any side (front, profile, back) in varied poses
(standing, walking, arms raised, reaching across the body, sitting, bending, lying) and
proportions, with textured clothing per person and no joint markers: left and right limbs
look the same, so a joint is found from the shapes of the parts and the context, never from
a color. Parts are painted far to near, so bodies hide their own joints. People overlap each
other, textured irregular object occluders go on top, and backgrounds are cluttered with
objects and limb-like strokes. Writes JPEG images plus COCO-format keypoint json with
visibility labels (2 visible; 1 hidden by a later person, an occluder or the person's own
nearer parts; 0 outside the image with x = y = 0), amodal person boxes and RLE segmentations
of each person's visible region. The files load with mmpose's ``CocoDataset``,
``CrowdPoseDataset`` and ``OCHumanDataset``, so the whole pipeline can be trained and
evaluated end to end in minutes on a CPU.

``visibility_convention='coco-re'`` (``'coco'`` layout) writes the hidden joints v=3 instead
of v=1, as COCO-RE (the DAG paper's relabelled COCO val2017) flags its "labelled and occluded"
joints, so that its evaluation setting can be run end to end.

``variety='upright'`` keeps all of that but draws only upright poses (standing, walking, arms
raised, reaching across the body) seen from the front or the back: the benchmark's fast
setting, which a tiny model learns on a short CPU schedule (the demo and the CPU ablation).

Everything is seeded: the same arguments give byte-identical json and identical images.
Each image draws from its own random stream derived from (seed, layout, split, index), so
splits never share images and image ``i`` does not depend on how many images are written.

Example:
    >>> import tempfile
    >>> from dag_mmpose.benchmark.synthetic import generate_coco_style
    >>> with tempfile.TemporaryDirectory() as root:
    ...     ann_file = generate_coco_style(root, num_images=2, split='val', seed=0)
"""

from .demo import DEMO_POOL_FILTERS, generate_demo_data, limited_train_data
from .figure import VARIETIES
from .layout import (
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    CROWDPOSE_KEYPOINT_NAMES,
    CROWDPOSE_SKELETON,
    FIGURE_POINT_NAMES,
    LAYOUTS,
    OCPOSE_KEYPOINT_NAMES,
    OCPOSE_SKELETON,
    LayoutSpec,
    SplitSummary,
    SyntheticPerson,
)
from .scene import render_scene
from .splits import generate_all, summarize_annotations
from .write import crowd_index, generate_coco_style, mask_to_rle, write_ocpose_raw

__all__ = [
    'COCO_KEYPOINT_NAMES',
    'COCO_SKELETON',
    'CROWDPOSE_KEYPOINT_NAMES',
    'CROWDPOSE_SKELETON',
    'DEMO_POOL_FILTERS',
    'FIGURE_POINT_NAMES',
    'LAYOUTS',
    'LayoutSpec',
    'OCPOSE_KEYPOINT_NAMES',
    'OCPOSE_SKELETON',
    'SplitSummary',
    'SyntheticPerson',
    'VARIETIES',
    'crowd_index',
    'generate_all',
    'generate_coco_style',
    'generate_demo_data',
    'limited_train_data',
    'mask_to_rle',
    'render_scene',
    'summarize_annotations',
    'write_ocpose_raw',
]
