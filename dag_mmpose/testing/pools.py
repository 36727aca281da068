# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Instance pools for the paste transforms' tests: a "dots" person whose joints can be found
in a pasted image by colour, and a writer of small pools."""

from typing import List, Tuple

import numpy as np

from ..datasets.instance_pool import InstancePool, InstancePoolWriter

__all__ = ['DOTS', 'DOTS_BODY', 'DOTS_CROP', 'dot_color', 'dots_person', 'write_pool']

#: the dots person's body colour (BGR)
DOTS_BODY = (0, 160, 0)
#: its cut-out: (height, width, margin of transparent pixels)
DOTS_CROP = (60, 30, 2)
#: its 17 COCO keypoints: (x, y) in cut-out pixels, ``None`` for unlabelled
DOTS = [
    (7, 8),
    (15, 8),
    (22, 8),
    None,
    (7, 20),
    (22, 20),
    (15, 30),
    (7, 40),
    (22, 40),
    None,
    (10, 50),
    (20, 50),
    (15, 15),
    (11, 26),
    (19, 26),
    (9, 34),
    (21, 34),
]


def dot_color(joint: int) -> Tuple[int, int, int]:
    """The unique colour (BGR) of ``joint``'s dot."""
    return (10 + 13 * joint, 250 - 11 * joint, 30 + 7 * joint)


def dots_person() -> Tuple[np.ndarray, np.ndarray]:
    """A green person with a 5x5 dot of a unique colour on each labelled joint: its RGBA
    cut-out (H, W, 4) uint8 and keypoints (17, 3) float32 (x, y, v)."""
    height, width, margin = DOTS_CROP
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[margin:-margin, margin:-margin] = DOTS_BODY + (255,)
    keypoints = np.zeros((len(DOTS), 3), np.float32)
    for joint, point in enumerate(DOTS):
        if point is None:
            continue
        x, y = point
        rgba[y - 2 : y + 3, x - 2 : x + 3, :3] = dot_color(joint)
        keypoints[joint] = (x, y, 2)
    return rgba, keypoints


def write_pool(
    pool_dir: str, people: List[Tuple[np.ndarray, np.ndarray]], num_keypoints: int, margin: int
) -> InstancePool:
    """A pool of ``people`` ((rgba, keypoints) pairs) written to ``pool_dir``, opened."""
    with InstancePoolWriter(pool_dir, num_keypoints=num_keypoints, margin=margin) as writer:
        for i, (rgba, keypoints) in enumerate(people):
            writer.add(rgba, keypoints, image_id=1, ann_id=i)
    return InstancePool(pool_dir)
