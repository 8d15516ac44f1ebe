"""Activations: values against independent numpy formulas, stability, gradcheck, second order."""

import math
import warnings

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.nn import functional as F

RNG = np.random.default_rng(0)
X = RNG.uniform(-3, 3, size=(4, 5))


def _erf(a):
    return np.vectorize(math.erf)(a)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


REFERENCE = {
    "relu": (nn.ReLU(), lambda a: np.where(a > 0, a, 0.0)),
    "leaky_relu": (nn.LeakyReLU(0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    "sigmoid": (nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    "tanh": (nn.Tanh(), np.tanh),
    "gelu_tanh": (
        nn.GELU(),
        lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3))),
    ),
    "gelu_exact": (nn.GELU("none"), lambda a: 0.5 * a * (1 + _erf(a / np.sqrt(2)))),
    "silu": (nn.SiLU(), lambda a: a / (1 + np.exp(-a))),
    "softmax_1": (nn.Softmax(dim=1), lambda a: _softmax(a, 1)),
    "softmax_0": (nn.Softmax(dim=0), lambda a: _softmax(a, 0)),
    "log_softmax": (nn.LogSoftmax(dim=-1), lambda a: np.log(_softmax(a, -1))),
    "identity": (nn.Identity(), lambda a: a),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_forward_matches_numpy(name):
    module, ref = REFERENCE[name]
    x = tt.tensor(X, dtype="float64")
    np.testing.assert_allclose(module(x).numpy(), ref(X), rtol=1e-12, atol=1e-12)
    y32 = module(tt.tensor(X, dtype="float32"))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), ref(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_gradcheck(name):
    module, _ = REFERENCE[name]
    x = tt.tensor(X + 0.01, dtype="float64", requires_grad=True)  # away from relu's kink at 0
    assert gradcheck(module, [x])


@pytest.mark.parametrize("fn", [F.logsigmoid, F.softplus, F.erf])
def test_functional_only_ops(fn):
    x = tt.tensor(X, dtype="float64", requires_grad=True)
    assert gradcheck(fn, [x])
    ref = {
        F.logsigmoid: lambda a: -np.log1p(np.exp(-a)),
        F.softplus: lambda a: np.log1p(np.exp(a)),
        F.erf: _erf,
    }[fn]
    np.testing.assert_allclose(fn(x).numpy(), ref(X), rtol=1e-12)


def test_relu_gradient_at_zero_is_zero_like_pytorch():
    x = tt.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    F.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_extreme_inputs_do_not_overflow():
    big = tt.tensor([[-1000.0, 0.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning either
        s = F.sigmoid(big).numpy()
        np.testing.assert_allclose(s, [[0.0, 0.5, 1.0]])
        sm = F.softmax(big, dim=1).numpy()
        np.testing.assert_allclose(sm, [[0.0, 0.0, 1.0]])
        ls = F.log_softmax(big, dim=1).numpy()
        np.testing.assert_allclose(ls, [[-2000.0, -1000.0, 0.0]])
        lsig = F.logsigmoid(big).numpy()
        np.testing.assert_allclose(lsig, [[-1000.0, -np.log(2), 0.0]], rtol=1e-6)
    assert np.isfinite(F.tanh(big).numpy()).all()


def test_softmax_rows_sum_to_one_any_dim():
    x = tt.randn(2, 3, 4, dtype="float64")
    for dim in (0, 1, 2, -1):
        np.testing.assert_allclose(F.softmax(x, dim).numpy().sum(axis=dim), 1.0)
    with pytest.raises(IndexError):
        F.softmax(x, 3)


def test_gelu_approximations_are_close():
    x = tt.linspace(-5, 5, 101, dtype="float64")
    assert np.abs(F.gelu(x).numpy() - F.gelu(x, "none").numpy()).max() < 1e-3
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_bad_arguments():
    with pytest.raises(TypeError):
        nn.LeakyReLU("0.1")
    with pytest.raises(TypeError):
        nn.Softmax(dim=1.0)
    with pytest.raises(TypeError, match="relu: expected a floating-point"):
        F.relu(tt.tensor([1, 2]))
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


def _hessian_vector_check(f, x0, v):
    """Second order: d/dx <grad f(x), v> against central differences of grad f."""

    def grad_at(a, create_graph=False):
        x = tt.tensor(a, dtype="float64", requires_grad=True)
        f(x).sum().backward(create_graph=create_graph)
        return x

    x = grad_at(x0, create_graph=True)
    g = x.grad
    x.grad = None
    (g * tt.tensor(v)).sum().backward()
    eps = 1e-6
    numerical = (grad_at(x0 + eps * v).grad.numpy() - grad_at(x0 - eps * v).grad.numpy()) / (
        2 * eps
    )
    np.testing.assert_allclose(x.grad.numpy(), numerical, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "fn",
    [
        F.sigmoid,
        F.tanh,
        F.gelu,
        F.logsigmoid,
        lambda x: F.leaky_relu(x, 0.2) ** 2,
        lambda x: F.softmax(x, 1) * tt.tensor(X),
        lambda x: F.log_softmax(x, 0) ** 2,
        lambda x: F.gelu(x, "none"),
    ],
)
def test_second_order_gradients(fn):
    _hessian_vector_check(fn, X.copy(), RNG.standard_normal(X.shape))
