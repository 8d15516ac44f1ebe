"""Module 04 (layers): the linear op, Linear / Dense, and the initialisers."""

import math

import numpy as np
import pytest
import tinytorch.nn.functional as F
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.nn import init


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


def _data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_linear_op_matches_x_wT_plus_b():
    x, w, b = _data(5, 4), _data(3, 4, seed=1), _data(3, seed=2)
    out = F.linear(tt.tensor(x), tt.tensor(w), tt.tensor(b))
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out.data, x @ w.T + b, rtol=1e-5, atol=1e-6)
    no_bias = F.linear(tt.tensor(x), tt.tensor(w))
    np.testing.assert_allclose(no_bias.data, x @ w.T, rtol=1e-5, atol=1e-6)


def test_linear_keeps_leading_dimensions():
    x, w = _data(2, 5, 4), _data(3, 4, seed=1)
    out = F.linear(tt.tensor(x), tt.tensor(w))
    assert out.shape == (2, 5, 3)
    np.testing.assert_allclose(out.data, x @ w.T, rtol=1e-5, atol=1e-6)


def test_linear_layer_forward_and_shapes():
    tt.manual_seed(0)
    layer = nn.Linear(4, 3)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    x = _data(6, 4)
    out = layer(tt.tensor(x))
    np.testing.assert_allclose(
        out.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="expected 4"):
        layer(tt.ones(2, 5))


def test_dense_flattens_images():
    tt.manual_seed(0)
    dense = nn.Dense(2 * 3 * 3, 5)
    x = _data(4, 2, 3, 3)
    out = dense(tt.tensor(x))
    assert out.shape == (4, 5)
    np.testing.assert_allclose(
        out.data, x.reshape(4, -1) @ dense.weight.data.T + dense.bias.data, rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="values per sample"):
        dense(tt.ones(4, 2, 3, 4))


def test_fan_in_and_fan_out():
    assert init.calculate_fan_in_and_fan_out(tt.zeros(16, 3, 5, 5)) == (75, 400)
    assert init.calculate_fan_in_and_fan_out(tt.zeros(10, 784)) == (784, 10)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.calculate_fan_in_and_fan_out(tt.zeros(5))


def test_xavier_uniform_bound_and_spread():
    w = tt.zeros(200, 300)
    init.xavier_uniform_(w, generator=tt.Generator(0))
    bound = math.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.95 * bound
    assert w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_kaiming_uniform_bound():
    w = tt.zeros(64, 32, 3, 3)
    init.kaiming_uniform_(w, nonlinearity="relu", generator=tt.Generator(0))
    bound = math.sqrt(2) * math.sqrt(3 / (32 * 9))
    assert np.abs(w.data).max() <= bound
    assert w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_linear_default_init_is_pytorchs():
    tt.manual_seed(0)
    layer = nn.Linear(400, 50)
    bound = 1 / math.sqrt(400)
    assert np.abs(layer.weight.data).max() <= bound + 1e-7
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
