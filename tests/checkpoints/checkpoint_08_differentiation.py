"""Can I automatically compute gradients for learning?

Reverse-mode autograd gives the analytic gradients of composite expressions, accumulates
through shared subexpressions and broadcasting, and passes a finite-difference gradcheck.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-autograd"]

tt = pytest.importorskip("tinytorch.tensor")
autograd = pytest.importorskip("tinytorch.autograd")


def test_gradient_of_a_polynomial():
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x * 3 + x * 2).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([1.0, 2.0, 3.0]) + 2)


def test_matmul_and_broadcast_gradients():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal((4, 2)).astype(np.float32)
    b = rng.standard_normal((2,)).astype(np.float32)
    A = tt.tensor(a, requires_grad=True)
    W = tt.tensor(w, requires_grad=True)
    B = tt.tensor(b, requires_grad=True)
    (A @ W + B).sum().backward()
    np.testing.assert_allclose(W.grad.numpy(), a.T @ np.ones((3, 2)), rtol=1e-5)
    np.testing.assert_allclose(A.grad.numpy(), np.ones((3, 2)) @ w.T, rtol=1e-5)
    np.testing.assert_allclose(B.grad.numpy(), [3.0, 3.0])


def test_gradcheck_float64():
    rng = np.random.default_rng(1)
    x = tt.tensor(rng.standard_normal((3, 3)), dtype="float64", requires_grad=True)
    w = tt.tensor(rng.standard_normal((3, 2)), dtype="float64", requires_grad=True)
    assert autograd.gradcheck(lambda x, w: (x @ w) * (x @ w), (x, w))


def test_no_grad_records_nothing():
    x = tt.tensor([1.0], requires_grad=True)
    with autograd.no_grad():
        y = x * 2
    assert not y.requires_grad
