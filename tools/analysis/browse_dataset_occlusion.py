# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Draw the first images of a COCO-format keypoint dataset with each labelled joint marked
by its visibility flag: one PNG grid, each image shown plain and annotated side by side.

Green dots are visible joints (v=2), red rings occluded ones (v=1), thin lines the
skeleton of the file's ``categories``; works on the generated sets and on real ones::

    python tools/analysis/browse_dataset_occlusion.py \\
        data/synthetic_coco/annotations/person_keypoints_test.json \\
        data/synthetic_coco/images/test --num-images 6 --out docs/synthetic_benchmark.png
"""

import argparse
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np
from pycocotools.coco import COCO

VISIBLE = (60, 220, 60)  # BGR
OCCLUDED = (40, 40, 240)
LINK = (235, 235, 235)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ann_file', help='COCO-format keypoint json')
    parser.add_argument('img_dir', help='folder the file names are relative to')
    parser.add_argument('--num-images', type=int, default=6)
    parser.add_argument('--columns', type=int, default=3, help='image pairs per grid row')
    parser.add_argument('--height', type=int, default=256, help='panel height in pixels')
    parser.add_argument('--out', default='dataset_occlusion.png')
    return parser.parse_args(argv)


def annotate(img: np.ndarray, anns: List[dict], skeleton: List[List[int]]) -> np.ndarray:
    """``img`` with every annotation's skeleton and joints drawn by visibility."""
    out = img.copy()
    for ann in anns:
        joints = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        pixel = [(int(round(x)), int(round(y))) for x, y, _ in joints]
        for a, b in skeleton:
            if joints[a - 1, 2] > 0 and joints[b - 1, 2] > 0:
                cv2.line(out, pixel[a - 1], pixel[b - 1], LINK, 1, cv2.LINE_AA)
        for (x, y), v in zip(pixel, joints[:, 2]):
            if v == 2:
                cv2.circle(out, (x, y), 2, VISIBLE, -1, cv2.LINE_AA)
            elif v == 1:
                cv2.circle(out, (x, y), 3, OCCLUDED, 1, cv2.LINE_AA)
    return out


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    coco = COCO(args.ann_file)
    skeleton = coco.loadCats(coco.getCatIds())[0].get('skeleton', [])
    panels = []
    for img_info in coco.loadImgs(sorted(coco.getImgIds())[: args.num_images]):
        path = osp.join(args.img_dir, img_info['file_name'])
        img = cv2.imread(path)
        if img is None:
            sys.exit(f'cannot read image {path} (listed in {args.ann_file})')
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_info['id'], iscrowd=False))
        pair = np.concatenate([img, annotate(img, anns, skeleton)], 1)
        scale = args.height / pair.shape[0]
        panels.append(cv2.resize(pair, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    if not panels:
        sys.exit(f'{args.ann_file} lists no images')
    width = max(p.shape[1] for p in panels)
    panels = [np.pad(p, ((0, 0), (0, width - p.shape[1] + 4), (0, 0))) for p in panels]
    while len(panels) % args.columns:
        panels.append(np.zeros_like(panels[0]))
    rows = [
        np.concatenate(panels[i : i + args.columns], 1) for i in range(0, len(panels), args.columns)
    ]
    cv2.imwrite(args.out, np.concatenate(rows, 0))
    print(f'wrote {args.out}: {len(rows)} rows of {args.columns} image pairs')


if __name__ == '__main__':
    main()
