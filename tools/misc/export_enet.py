# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Export the expert network (ENet) of a D-Slope checkpoint as a plain model checkpoint.

The result loads into the ENet's own config (``load_from``, ``tools/test.py``,
``init_model``), without GNet and without ``DualSampleEstimator``::

    python tools/misc/export_enet.py work_dirs/dslope/epoch_210.pth work_dirs/dslope/enet.pth
"""

import argparse

import dag_mmpose  # noqa: F401  (the weights_only allow-list for Runner checkpoints)
from dag_mmpose.models.distillers import export_enet_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='a DualSampleEstimator checkpoint')
    parser.add_argument('out', help='where the ENet checkpoint goes')
    args = parser.parse_args()
    print(f'wrote {export_enet_checkpoint(args.checkpoint, args.out)}')


if __name__ == '__main__':
    main()
