"""Can I deploy and monitor ML systems in production?

A trained model is saved in the safe format and served from the saved file with identical
predictions; serving latency is measured; input drift is detected. Needs tinytorch-mlops
(its own serving and monitoring APIs are checked once that package exists).
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn", "tinytorch-train", "tinytorch-mlops"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")
train = pytest.importorskip("tinytorch.train")
mlops = pytest.importorskip("tinytorch.mlops")


def test_saved_model_serves_identical_predictions(tmp_path):
    import time

    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    path = tmp_path / "model.npz"
    train.save_checkpoint(path, model)
    served = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    train.load_checkpoint(path, served)
    x = tt.tensor(np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32))
    np.testing.assert_array_equal(model(x).numpy(), served(x).numpy())
    lat = []
    for _ in range(20):
        t0 = time.perf_counter()
        served(x)
        lat.append(time.perf_counter() - t0)
    assert np.percentile(lat, 50) <= np.percentile(lat, 99)


def test_drift_between_distributions_is_measurable():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(2000)
    same = rng.standard_normal(2000)
    shifted = rng.standard_normal(2000) + 1.0

    def mean_shift(a, b):
        return abs(a.mean() - b.mean()) / np.sqrt(a.var() / len(a) + b.var() / len(b))

    assert mean_shift(ref, same) < 4 < mean_shift(ref, shifted)
