# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Occlusion statistics of keypoint datasets, as a markdown table beside published ones.

For each COCO-format annotation file: images, people, the share of labelled joints that are
occluded (v=1; v=1 and v=3 with ``--visibility-convention coco-re``), the mean of each
person's largest box IoU with another person, the share of people whose largest IoU exceeds
0.3 / 0.5 / 0.75, and the share of images whose largest IoU between two people does (the
unit of OCPose's Table 1)::

    python tools/analysis/dataset_stats.py \\
        data/synthetic_coco/annotations/person_keypoints_test.json \\
        data/ochuman/annotations/ochuman_coco_format_test_range_0.00_1.00.json \\
        --names generated OCHuman

COCO-RE files (the DAG paper's relabelled COCO val2017, where v=3 is "labelled and
occluded") need ``--visibility-convention coco-re``; without it a file holding v=3 is refused
with a message, not counted::

    python tools/analysis/dataset_stats.py \\
        data/coco/annotations/person_keypoints_val2017_re.json --visibility-convention coco-re

``--published`` adds the rows of OCPose's paper (OPEC-Net, ECCV 2020, Table 1: images with a
largest IoU above each threshold, and the average IoU), which were counted on the full
datasets by that paper, not by this command.
"""

import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

from dag_mmpose.evaluation import occlusion_statistics
from dag_mmpose.evaluation.occlusion_statistics import IOU_THRESHOLDS
from dag_mmpose.utils.visibility import VISIBILITY_CONVENTIONS

# OPEC-Net paper, Table 1: (images, image_iou>0.3, >0.5, >0.75, average IoU)
PUBLISHED = {
    'CrowdPose (OPEC-Net Table 1)': (20000, 0.44, 0.15, 0.02, 0.27),
    'OCHuman (OPEC-Net Table 1)': (4773, 0.68, 0.68, 0.23, 0.46),
    'OCPose (OPEC-Net Table 1)': (9000, 0.90, 0.76, 0.27, 0.47),
    'MSCOCO (OPEC-Net Table 1)': (118287, 0.05, 0.01, 0.00, 0.06),
}
COLUMNS = (
    ['dataset', 'images', 'people', 'occluded joints', 'mean IoU']
    + [f'people IoU>{t}' for t in IOU_THRESHOLDS]
    + [f'images IoU>{t}' for t in IOU_THRESHOLDS]
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ann_files', nargs='+', help='COCO-format keypoint json files')
    parser.add_argument('--names', nargs='+', help='row names (default: the file names)')
    parser.add_argument('--published', action='store_true', help="add OCPose's Table 1 rows")
    parser.add_argument(
        '--visibility-convention',
        choices=sorted(VISIBILITY_CONVENTIONS),
        default='coco',
        help="what the visibility flags mean: 'coco' (default; occluded: v=1) or 'coco-re' "
        '(COCO-RE: v=3 "labelled and occluded" too; occluded: v=1 and v=3)',
    )
    args = parser.parse_args(argv)
    if args.names and len(args.names) != len(args.ann_files):
        parser.error(f'--names has {len(args.names)} names for {len(args.ann_files)} files')
    return args


def _cell(value: Optional[float], share: bool = True) -> str:
    if value is None:
        return '-'
    return f'{value:.1%}' if share else f'{value:.2f}'


def format_row(name: str, stats: Dict[str, Optional[float]]) -> str:
    """One markdown row of :data:`COLUMNS` from :func:`occlusion_statistics`'s dict."""
    cells = [name, str(stats['images']), str(stats['people'])]
    cells += [_cell(stats['occluded']), _cell(stats['person_iou'], share=False)]
    cells += [_cell(stats[f'person_iou>{t}']) for t in IOU_THRESHOLDS]
    cells += [_cell(stats[f'image_iou>{t}']) for t in IOU_THRESHOLDS]
    return '| ' + ' | '.join(cells) + ' |'


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    names = args.names or [osp.basename(path) for path in args.ann_files]
    print('| ' + ' | '.join(COLUMNS) + ' |')
    print('|' + ' --- |' * len(COLUMNS))
    for name, path in zip(names, args.ann_files):
        if not osp.isfile(path):
            sys.exit(f'annotation file not found: {path}')
        try:
            stats = occlusion_statistics(path, args.visibility_convention)
        except ValueError as err:  # not JSON, or flags of another convention
            sys.exit(f'error: {err}')
        print(format_row(name, stats))
    if args.published:
        for name, (images, *shares, mean_iou) in PUBLISHED.items():
            cells = [name, str(images), '-', '-', f'{mean_iou:.2f}', '-', '-', '-']
            cells += [f'{share:.0%}' for share in shares]
            print('| ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
