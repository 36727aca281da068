# Copyright (c) dag_mmpose contributors. All rights reserved.
import io
import pickle
from unittest import TestCase

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import dag_mmpose  # noqa: F401  (registers the safe globals)


def _save(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


class _Evil:
    """Pickles as ``getattr(HistoryBuffer, '__init__')`` - a getattr outside the allow-list."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


class TestCheckpointSafeGlobals(TestCase):

    def test_runner_style_checkpoint_loads_weights_only(self):
        hub = MessageHub.get_instance('dag_test_checkpoint')
        hub.update_scalar('train/loss', 0.5)
        hub.update_scalar('train/loss', np.float64(0.25))
        checkpoint = dict(
            meta=dict(
                dataset_meta=dict(sigmas=np.array([0.1, 0.2], dtype=np.float32),
                                  flip_indices=[1, 0]),
                seed=np.int64(3),
                epoch=2,
                iter=10),
            state_dict=dict(weight=torch.ones(2)),
            message_hub=hub.state_dict())
        loaded = torch.load(_save(checkpoint), weights_only=True)
        np.testing.assert_array_equal(loaded['meta']['dataset_meta']['sigmas'],
                                      checkpoint['meta']['dataset_meta']['sigmas'])
        self.assertEqual(loaded['meta']['seed'], 3)
        buffer = loaded['message_hub']['log_scalars']['train/loss']
        self.assertIsInstance(buffer, HistoryBuffer)
        self.assertAlmostEqual(buffer.mean(), 0.375)

    def test_other_getattr_is_refused(self):
        with self.assertRaisesRegex(pickle.UnpicklingError, 'refuses getattr'):
            torch.load(_save(dict(x=_Evil())), weights_only=True)
