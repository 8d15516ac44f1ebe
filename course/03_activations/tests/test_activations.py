"""Module 03 (activations): ReLU, sigmoid, tanh, softmax forwards and their backward rules.

The backward rules are called directly (``op.backward(inputs, out, grad)``), so these tests
need no autograd engine: only tensors (module 02) and the activations (module 03).
"""

import warnings

import numpy as np
import pytest
import tinytorch.nn.functional as F
import tinytorch.nn.functional.activation as A
import tinytorch.tensor as tt
from tinytorch import nn


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


def _x():
    return tt.tensor([[-3.0, -0.5, 0.0], [0.5, 2.0, 7.0]])


def _numeric_vjp(f, x, g, eps=1e-6):
    """sum(g * f(x)) differentiated by central differences, in float64."""
    x = x.astype(np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        out[i] = ((g * f(x + d)).sum() - (g * f(x - d)).sum()) / (2 * eps)
    return out


def test_relu_forward():
    out = F.relu(_x())
    assert out.dtype == np.float32
    assert out.tolist() == [[0.0, 0.0, 0.0], [0.5, 2.0, 7.0]]
    assert nn.ReLU()(_x()).tolist() == out.tolist()


def test_relu_backward_passes_grad_where_positive():
    x = _x()
    g = tt.ones(2, 3) * 3.0
    (gx,) = A.ReLUOp().backward((x,), F.relu(x), g)
    assert gx.tolist() == [[0.0, 0.0, 0.0], [3.0, 3.0, 3.0]]  # 0 at x == 0, as PyTorch
    assert gx.dtype == np.float32


def test_sigmoid_forward_is_stable():
    x = tt.tensor([-100.0, -1.0, 0.0, 1.0, 100.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from exp
        s = F.sigmoid(x)
    assert s.dtype == np.float32
    np.testing.assert_allclose(
        s.data, 1 / (1 + np.exp(-x.data.astype(np.float64))), rtol=1e-6, atol=1e-30
    )
    assert s.tolist()[0] >= 0.0 and s.tolist()[-1] == 1.0
    assert not np.isnan(s.data).any()


def test_sigmoid_backward_uses_the_output():
    x = tt.tensor([[-2.0, 0.0, 3.0]], dtype="float64")
    g = tt.tensor([[1.0, 2.0, -1.0]], dtype="float64")
    out = F.sigmoid(x)
    (gx,) = A.SigmoidOp().backward((x,), out, g)
    want = _numeric_vjp(lambda a: 1 / (1 + np.exp(-a)), x.data, g.data)
    np.testing.assert_allclose(gx.data, want, rtol=1e-6)


def test_tanh_forward_and_backward():
    x = tt.tensor([[-2.0, 0.0, 0.7]], dtype="float64")
    out = F.tanh(x)
    np.testing.assert_allclose(out.data, np.tanh(x.data))
    g = tt.tensor([[1.0, -2.0, 0.5]], dtype="float64")
    (gx,) = A.TanhOp().backward((x,), out, g)
    np.testing.assert_allclose(gx.data, _numeric_vjp(np.tanh, x.data, g.data), rtol=1e-6)
    assert nn.Tanh()(x).tolist() == out.tolist()


def test_softmax_rows_sum_to_one_and_do_not_overflow():
    x = tt.tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    p = F.softmax(x, dim=-1)
    np.testing.assert_allclose(p.data.sum(axis=-1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(p.data[1], [1 / 3] * 3, rtol=1e-6)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(p.data[0], e / e.sum(), rtol=1e-6)


def test_softmax_along_axis_zero():
    x = tt.tensor([[0.0, 1.0], [0.0, 3.0]])
    p = F.softmax(x, dim=0)
    np.testing.assert_allclose(p.data.sum(axis=0), [1.0, 1.0], rtol=1e-6)
    assert p.tolist()[0][0] == pytest.approx(0.5)


def test_softmax_backward_is_the_jacobian_vector_product():
    rng = np.random.default_rng(1)
    x = tt.tensor(rng.standard_normal((2, 4)), dtype="float64")
    g = tt.tensor(rng.standard_normal((2, 4)), dtype="float64")
    out = F.softmax(x, dim=1)
    (gx,) = A.SoftmaxOp(1).backward((x,), out, g)

    def sm(a):
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    np.testing.assert_allclose(gx.data, _numeric_vjp(sm, x.data, g.data), rtol=1e-5, atol=1e-9)
