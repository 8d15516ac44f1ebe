"""Can I build complete multi-layer neural networks?

Layers compose into a Sequential network whose forward pass, parameter count and train/eval
modes are those of its parts.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")


def test_sequential_composes():
    tt.manual_seed(0)
    l1, l2 = nn.Linear(4, 8), nn.Linear(8, 2)
    net = nn.Sequential(l1, nn.ReLU(), l2)
    x = tt.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    expected = l2(nn.ReLU()(l1(x))).numpy()
    np.testing.assert_allclose(net(x).numpy(), expected, rtol=1e-6)
    assert net(x).shape == (5, 2)


def test_parameter_count_of_a_deep_network():
    net = nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    assert sum(p.numpy().size for p in net.parameters()) == (
        784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    )
    assert len(list(net.parameters())) == 6


def test_train_eval_modes_propagate():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
