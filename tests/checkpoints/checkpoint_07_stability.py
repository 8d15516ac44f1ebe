"""Can I stabilize training with normalization techniques?

Inputs are normalized in the data pipeline (per-channel ``Normalize`` in a ``DataLoader``:
zero mean, unit spread per channel) and BatchNorm normalizes activations per feature in
training mode and uses its running statistics in evaluation mode.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-data", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
data = pytest.importorskip("tinytorch.data")
nn = pytest.importorskip("tinytorch.nn")


def test_normalize_in_the_loader_standardizes_channels():
    rng = np.random.default_rng(0)
    scale = np.array([1.0, 5.0, 20.0], dtype=np.float32)[None, :, None, None]
    shift = np.array([0.0, 10.0, -3.0], dtype=np.float32)[None, :, None, None]
    x = rng.standard_normal((64, 3, 4, 4)).astype(np.float32) * scale + shift
    y = np.zeros(64, dtype=np.int64)
    mean = x.mean(axis=(0, 2, 3))
    std = x.std(axis=(0, 2, 3))
    loader = data.DataLoader(x, y, batch_size=64, transform=data.Normalize(mean, std))
    xb, _ = next(iter(loader))
    out = xb.numpy() if hasattr(xb, "numpy") else np.asarray(xb)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1.0, atol=1e-3)


def test_batchnorm_normalizes_in_training_and_tracks_running_stats():
    bn = nn.BatchNorm1d(4)
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((256, 4)) * [1, 2, 3, 4] + [0, 1, 2, 3]).astype(np.float32)
    out = bn(tt.tensor(x)).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-3)
    bn.eval()
    before = bn(tt.tensor(x[:2])).numpy()
    after = bn(tt.tensor(x[:2])).numpy()
    np.testing.assert_array_equal(before, after)  # eval mode: running stats, no update
