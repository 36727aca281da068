# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Puts ``dag_mmcv_ext.pth`` beside the package in site-packages (as pytest-cov does with its
``.pth``): the line in it installs the ``mmcv._ext`` finder at interpreter start."""

import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = 'dag_mmcv_ext.pth'


class BuildWithPth(build_py):
    def run(self) -> None:
        super().run()
        here = osp.dirname(osp.abspath(__file__))
        shutil.copyfile(osp.join(here, PTH), osp.join(self.build_lib, PTH))


setup(cmdclass={'build_py': BuildWithPth})
