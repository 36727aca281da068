# Copyright (c) dag_mmpose contributors. All rights reserved.
from unittest import TestCase
from unittest.mock import patch

import mmpose

from dag_mmpose.utils import check_openmmlab_versions, check_version


class TestCheckVersion(TestCase):
    def test_in_range(self):
        check_version('mmpose', '1.3.2', ('1.3.0', '1.4.0'))
        check_version('mmcv', '2.1.0', ('2.0.1', '2.2.0'))
        check_version('torch', '2.15.0+cu132', ('2.0.0', '3.0.0'))

    def test_out_of_range_names_package_and_range(self):
        with self.assertRaisesRegex(ImportError, r'mmpose>=1\.3\.0,<1\.4\.0.*mmpose==1\.4\.0'):
            check_version('mmpose', '1.4.0', ('1.3.0', '1.4.0'))
        with self.assertRaisesRegex(ImportError, r'mmcv==2\.2\.0'):
            check_version('mmcv', '2.2.0', ('2.0.1', '2.2.0'))
        with self.assertRaisesRegex(ImportError, 'mmpose==0.29.0'):
            check_version('mmpose', '0.29.0', ('1.3.0', '1.4.0'))

    def test_pre_release_is_below_release(self):
        with self.assertRaisesRegex(ImportError, 'mmcv==2.0.0rc4'):
            check_version('mmcv', '2.0.0rc4', ('2.0.1', '2.2.0'))
        # the pre-release of the floor itself is below the floor
        with self.assertRaisesRegex(ImportError, 'mmcv==2.0.1rc1'):
            check_version('mmcv', '2.0.1rc1', ('2.0.1', '2.2.0'))
        check_version('mmcv', '2.0.1', ('2.0.1', '2.2.0'))

    def test_installed_stack_passes(self):
        check_openmmlab_versions()

    def test_installed_stack_out_of_range(self):
        with patch.object(mmpose, '__version__', '1.4.1'):
            with self.assertRaisesRegex(ImportError, 'mmpose==1.4.1'):
                check_openmmlab_versions()


class TestInstalledPackage(TestCase):
    def test_metadata_names_dag_mmpose(self):
        # tools/install.sh must register the package under its own name and version
        # (a non-isolated build with an old setuptools registers it as "UNKNOWN").
        import importlib.metadata

        import dag_mmpose

        self.assertEqual(importlib.metadata.version('dag_mmpose'), dag_mmpose.__version__)


class TestMMCVRoute(TestCase):
    def test_route_names_what_serves_mmcv_ext(self):
        import importlib.util

        from dag_mmpose.utils.version_check import check_mmcv_ops, mmcv_route

        origin = importlib.util.find_spec('mmcv._ext').origin
        expected = 'lite' if origin.endswith('dag_mmcv_ext/ops.py') else 'full'
        self.assertEqual(mmcv_route(), expected)
        self.assertEqual(check_mmcv_ops(), expected)
        with patch('importlib.util.find_spec', return_value=None):
            self.assertEqual(mmcv_route(), 'missing')
            with self.assertRaisesRegex(ImportError, r'--mmcv full'):
                check_mmcv_ops()
