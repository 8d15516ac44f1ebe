"""Can I add nonlinearity - the key to neural network intelligence?

The activations (ReLU, Sigmoid, Tanh, Softmax) give the right numbers, and a two-layer network
with a ReLU computes XOR, which no linear model can.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")

X = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)


def test_relu():
    assert nn.ReLU()(tt.tensor(X)).numpy().tolist() == [0.0, 0.0, 0.0, 0.5, 2.0]


def test_sigmoid_and_tanh():
    np.testing.assert_allclose(nn.Sigmoid()(tt.tensor(X)).numpy(), 1 / (1 + np.exp(-X)), rtol=1e-5)
    np.testing.assert_allclose(nn.Tanh()(tt.tensor(X)).numpy(), np.tanh(X), rtol=1e-5)


def test_softmax_is_a_distribution():
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]], dtype=np.float32)
    p = nn.Softmax(dim=-1)(tt.tensor(logits)).numpy()
    np.testing.assert_allclose(p.sum(axis=-1), [1.0, 1.0], rtol=1e-5)
    e = np.exp(logits[0] - 3.0)
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-5)
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-5)  # stable for large logits


def test_relu_network_computes_xor():
    x = tt.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    w1 = tt.tensor([[1.0, 1.0], [1.0, 1.0]])
    b1 = tt.tensor([0.0, -1.0])
    w2 = tt.tensor([[1.0], [-2.0]])
    h = nn.ReLU()(x @ w1 + b1)
    assert (h @ w2).numpy().ravel().tolist() == [0.0, 1.0, 1.0, 0.0]
