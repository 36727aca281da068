# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Write a synthetic occluded-pose dataset in COCO, CrowdPose, OCHuman or OCPose layout.

Examples::

    python tools/dataset_converters/generate_synthetic_dataset.py data/synthetic_coco \\
        --format coco --num-images 200 100 100 --img-size 192 256 --seed 0
    python tools/dataset_converters/generate_synthetic_dataset.py data/synthetic_crowdpose \\
        --format crowdpose --num-images 300 100
    python tools/dataset_converters/generate_synthetic_dataset.py data/synthetic_ochuman \\
        --format ochuman --num-images 100 100
    python tools/dataset_converters/generate_synthetic_dataset.py data/synthetic_ocpose \\
        --format ocpose --num-images 100 50
    python tools/dataset_converters/generate_synthetic_dataset.py data/synthetic_coco_re \\
        --format coco --visibility-convention coco-re

``--visibility-convention coco-re`` writes the hidden joints v=3 ("labelled and occluded"), as
COCO-RE, the DAG paper's relabelled COCO val2017, does: evaluate such a set with
``OccludedKeypointMetric(visibility_convention='coco-re')``.

Splits whose annotation file already exists are kept unless ``--force`` is given.
See :mod:`dag_mmpose.benchmark.synthetic` for what is drawn and written.
"""

import argparse
import time
from typing import List, Optional

from dag_mmpose.benchmark import synthetic_dataset_cfg
from dag_mmpose.benchmark.synthetic import LAYOUTS, VARIETIES, generate_all
from dag_mmpose.utils.visibility import VISIBILITY_CONVENTIONS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    split_help = '; '.join(
        f'{name}: {" ".join(spec.splits)} (default {" ".join(map(str, spec.default_num_images))})'
        for name, spec in LAYOUTS.items()
    )
    parser = argparse.ArgumentParser(
        description='Generate a synthetic occluded-pose dataset (COCO-format json + JPEGs).'
    )
    parser.add_argument('root', help='dataset root, e.g. data/synthetic_coco')
    parser.add_argument('--format', choices=sorted(LAYOUTS), default='coco', help='dataset layout')
    parser.add_argument(
        '--num-images',
        type=int,
        nargs='+',
        metavar='N',
        help=f'images per split, one number for all splits or one per split ({split_help})',
    )
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=(192, 256),
        metavar=('W', 'H'),
        help='image width and height (default: 192 256)',
    )
    parser.add_argument(
        '--people',
        type=int,
        nargs=2,
        metavar=('MIN', 'MAX'),
        help='people per image (default: coco 1 4, crowdpose 2 5, ochuman 2 4 in pairs)',
    )
    parser.add_argument(
        '--occlusion',
        type=float,
        help='0..1: how often people overlap and how many / how large object occluders are '
        '(default: coco 0.5, crowdpose 0.6, ochuman 0.6)',
    )
    parser.add_argument(
        '--variety',
        choices=VARIETIES,
        default='full',
        help="'full' (default): every pose and viewing direction, the benchmark; 'upright': "
        'upright poses seen from the front or the back, its fast setting',
    )
    parser.add_argument(
        '--visibility-convention',
        choices=sorted(VISIBILITY_CONVENTIONS),
        default='coco',
        help="how hidden joints are flagged: 'coco' (default) v=1; 'coco-re' v=3, "
        '"labelled and occluded" as in COCO-RE (the DAG paper\'s relabelled COCO val2017; '
        '--format coco only)',
    )
    parser.add_argument('--seed', type=int, default=0, help='base random seed (default: 0)')
    parser.add_argument(
        '--force', action='store_true', help='regenerate splits whose json already exists'
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Generate the dataset and print a summary per split.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        int: Exit status (0).
    """
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        summaries = generate_all(
            args.root,
            layout=args.format,
            num_images=args.num_images,
            img_size=tuple(args.img_size),
            people=tuple(args.people) if args.people else None,
            occlusion=args.occlusion,
            seed=args.seed,
            force=args.force,
            variety=args.variety,
            visibility_convention=args.visibility_convention,
        )
    except ValueError as err:
        raise SystemExit(f'error: {err}') from err
    for summary in summaries:
        print(summary)
    if any(s.skipped for s in summaries):
        print('Existing splits were kept; pass --force to regenerate them.')
    print(f'Done in {time.perf_counter() - start:.1f} s. In an mmpose config:')
    spec = LAYOUTS[args.format]
    for split in spec.splits:
        cfg = synthetic_dataset_cfg(
            args.root, args.format, split, detections=split in spec.detection_splits
        )
        extra = f", bbox_file='{cfg['bbox_file']}'" if 'bbox_file' in cfg else ''
        print(
            f"  {split}: type='{cfg['type']}', data_root='{args.root}', "
            f"ann_file='{cfg['ann_file']}', data_prefix=dict(img='{cfg['data_prefix']['img']}')"
            f'{extra}'
        )
    if args.visibility_convention == 'coco-re':
        print(
            "  occluded joints are v=3 (COCO-RE): evaluate with dict(type='OccludedKeypointMetric'"
            ", ann_file=..., visibility_convention='coco-re')"
        )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
