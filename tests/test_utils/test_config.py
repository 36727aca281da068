# Copyright (c) dag_mmpose contributors. All rights reserved.
from unittest import TestCase

from dag_mmpose.utils import drop_pretrained


class TestDropPretrained(TestCase):
    def test_nested_dicts_and_lists(self):
        model = dict(
            backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='http://x/w.pth')),
            head=dict(
                init_cfg=[
                    dict(type='Pretrained', checkpoint='y'),
                    dict(type='Normal', layer='Conv2d'),
                ]
            ),
            extra=[dict(init_cfg=[dict(type='Pretrained', checkpoint='z')])],
            neck=dict(init_cfg=dict(type='Kaiming')),
        )
        self.assertIs(drop_pretrained(model), model)
        self.assertIsNone(model['backbone']['init_cfg'])
        self.assertEqual(model['head']['init_cfg'], [dict(type='Normal', layer='Conv2d')])
        self.assertIsNone(model['extra'][0]['init_cfg'])
        self.assertEqual(model['neck']['init_cfg'], dict(type='Kaiming'))

    def test_gnet_checkpoint_is_dropped(self):
        model = dict(type='DualSampleEstimator', enet=dict(), gnet_checkpoint='https://x/w.pth')
        drop_pretrained(model)
        self.assertIsNone(model['gnet_checkpoint'])
        self.assertEqual(drop_pretrained(dict(gnet_checkpoint=None)), dict(gnet_checkpoint=None))
