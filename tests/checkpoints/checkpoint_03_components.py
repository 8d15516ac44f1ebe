"""Can I build the fundamental building blocks of neural networks?

A Linear layer holds a weight and a bias as parameters, computes ``x @ W.T + b``, and its
parameters can be listed, counted and reloaded.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")


def test_linear_forward_is_affine():
    tt.manual_seed(0)
    layer = nn.Linear(4, 3)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    out = layer(tt.tensor(x)).numpy()
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, x @ w.T + b, rtol=1e-5, atol=1e-5)


def test_parameters_are_registered():
    layer = nn.Linear(10, 5)
    names = dict(layer.named_parameters())
    assert set(names) == {"weight", "bias"}
    assert sum(p.numpy().size for p in layer.parameters()) == 10 * 5 + 5
    assert all(p.requires_grad for p in layer.parameters())


def test_state_dict_round_trip():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    x = tt.tensor(np.ones((1, 3), dtype=np.float32))
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
