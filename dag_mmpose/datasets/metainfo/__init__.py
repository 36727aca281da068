# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Dataset meta information files of dag_mmpose (mmpose's ``dataset_info`` format), read
with ``parse_pose_metainfo(dict(from_file=metainfo_file('ocpose')))``."""

import os.path as osp

__all__ = ['metainfo_file']


def metainfo_file(name: str) -> str:
    """Absolute path of the meta information file ``<name>.py`` of this folder."""
    path = osp.join(osp.dirname(osp.abspath(__file__)), f'{name}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'dag_mmpose has no dataset meta information {name!r} ({path})')
    return path
