# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Convert OCPose annotations in dag_mmpose's documented raw layout to COCO format.

The layout (docs/opec_net.md, ``dag_mmpose.datasets.ocpose``): one JSON file
``{"images": [{"file_name", "width", "height", "persons": [{"bbox": [x, y, w, h],
"keypoints": [[x, y, v] x 12]}]}]}``, and optionally a text file of image names per split.

Example::

    python tools/dataset_converters/ocpose2coco.py data/ocpose/raw/ocpose.json \\
        data/ocpose/annotations/ocpose_train.json --split-file data/ocpose/raw/train.txt
"""

import argparse
import os
import os.path as osp
from typing import List, Optional

from dag_mmpose.datasets import convert_ocpose


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('raw_file', help='OCPose annotations in the raw layout')
    parser.add_argument('out_file', help='the COCO-format JSON to write')
    parser.add_argument('--split-file', help='keep only the images named in this list')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    os.makedirs(osp.dirname(osp.abspath(args.out_file)), exist_ok=True)
    coco = convert_ocpose(args.raw_file, args.out_file, split_file=args.split_file)
    print(f'wrote {args.out_file}: {len(coco["images"])} images, {len(coco["annotations"])} people')


if __name__ == '__main__':
    main()
