# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Build the instance pool of ``InstancePaste`` from a COCO-format dataset.

Examples::

    python tools/build_instance_pool.py data/coco/annotations/person_keypoints_train2017.json \\
        data/coco/train2017 data/instance_pool/coco_train2017
    python tools/build_instance_pool.py \\
        data/synthetic_coco/annotations/person_keypoints_train.json \\
        data/synthetic_coco/images/train data/instance_pool/synthetic --min-area 1000

The annotations need person segmentations (polygons or RLE): COCO, OCHuman and the
synthetic data have them, CrowdPose does not. See ``docs/instance_pool.md`` for the filters
and the pool format.
"""

import argparse
import sys
from typing import List, Optional

from dag_mmpose.datasets import build_instance_pool, format_summary


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Cut segmented people out of a COCO-format dataset into an instance '
        'pool for InstancePaste.'
    )
    parser.add_argument('ann_file', help='COCO-format annotation json with segmentations')
    parser.add_argument('img_dir', help="folder the images' file_name are relative to")
    parser.add_argument('out_dir', help='pool folder to write (index.json + a data file)')
    parser.add_argument(
        '--min-area', type=float, default=4096, help='minimum mask area in pixels (default: 4096)'
    )
    parser.add_argument(
        '--min-keypoints',
        type=int,
        default=8,
        help='minimum number of labelled keypoints (default: 8)',
    )
    parser.add_argument(
        '--max-overlap',
        type=float,
        default=0.2,
        help="maximum fraction of the mask inside other people's boxes (default: 0.2)",
    )
    parser.add_argument(
        '--min-on-mask',
        type=float,
        default=0.7,
        help='minimum share of the labelled keypoints on the mask (default: 0.7)',
    )
    parser.add_argument(
        '--max-border',
        type=float,
        default=0.1,
        help='maximum share of a mask box side on the image border (default: 0.1)',
    )
    parser.add_argument(
        '--max-instances', type=int, default=None, help='stop after this many people'
    )
    parser.add_argument(
        '--margin', type=int, default=2, help='context pixels around each mask box (default: 2)'
    )
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Build the pool and print its summary.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        int: The exit status.
    """
    args = parse_args(argv)
    try:
        summary = build_instance_pool(
            args.ann_file,
            args.img_dir,
            args.out_dir,
            min_area=args.min_area,
            min_keypoints=args.min_keypoints,
            max_overlap=args.max_overlap,
            max_instances=args.max_instances,
            margin=args.margin,
            progress=not args.no_progress,
            min_on_mask=args.min_on_mask,
            max_border=args.max_border,
        )
    except (FileNotFoundError, ValueError) as e:
        print(f'build_instance_pool: error: {e}', file=sys.stderr)
        return 1
    print(format_summary(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
