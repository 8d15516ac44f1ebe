"""Native ReLU (csrc/activation.cpp) and the fused `LinearOp` (nn/functional/linear.py).

ReLU: the fast kernel against its `_naive` twin and numpy for every ISA, odd sizes and views,
special values, bad input, native against the numpy backend, and second order. Linear: float64
gradchecks (with and without bias, 1-D / 2-D / 3-D inputs, second order), native against numpy,
PyTorch parity, the weight's gradient landing in its own row-major array, and bad shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.nn import Linear
from tinytorch.nn import functional as F
from tinytorch.nn.functional.activation import ReLUBackwardOp
from tinytorch.tensor import dispatch

_C = pytest.importorskip("tinytorch.tensor._C")
RNG = np.random.default_rng(5)


@pytest.fixture(params=_C.available_isas())
def isa(request):
    """Run the test with each available vector width (avx512 / avx2 / baseline)."""
    before = _C.isa()
    _C.set_isa(request.param)
    try:
        yield request.param
    finally:
        _C.set_isa(before)


@pytest.mark.parametrize("shape", [(0,), (1,), (15,), (17,), (3, 5, 7), (100_003,)], ids=str)
def test_relu_kernels_match_naive_and_numpy(isa, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    g = RNG.standard_normal(shape).astype(np.float32)
    y, dx = _C.relu(x), _C.relu_backward(x, g)
    assert y.shape == shape and y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_array_equal(y, _C.relu_naive(x))
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(dx, _C.relu_backward_naive(x, g))
    np.testing.assert_array_equal(dx, np.where(x > 0, g, 0))


def test_relu_kernels_on_views():
    x = RNG.standard_normal((9, 6)).astype(np.float32)
    g = RNG.standard_normal((6, 9)).astype(np.float32)
    np.testing.assert_array_equal(_C.relu(x.T), np.maximum(x.T, 0))
    np.testing.assert_array_equal(_C.relu(x[::2, 1:]), np.maximum(x[::2, 1:], 0))
    np.testing.assert_array_equal(_C.relu_backward(x.T, g), np.where(x.T > 0, g, 0))


def test_relu_special_values(isa):
    x = np.array([0.0, -0.0, 1e-38, -1e-38, np.inf, -np.inf, np.nan, 3.0], np.float32)
    g = np.full_like(x, 2.0)
    y = _C.relu(x)
    np.testing.assert_array_equal(
        y[[0, 2, 3, 4, 5, 7]], np.float32([0.0, 1e-38, 0.0, np.inf, 0.0, 3.0])
    )
    assert np.isnan(y[6])  # NaN propagates, as np.maximum and torch.relu do
    # the gradient flows only where x > 0: not at 0, not at NaN
    np.testing.assert_array_equal(_C.relu_backward(x, g), [0, 0, 2, 0, 2, 0, 0, 2])


def test_relu_kernels_reject_bad_input():
    with pytest.raises(TypeError, match=r"relu: x must be float32, got float64 of shape \(2, 3\)"):
        _C.relu(np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=r"relu_backward: x and grad must have the same shape, got \(2, 3\) and \(3, 2\)",
    ):
        _C.relu_backward(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))


def _relu_fwd_bwd(x_np, g_np, backend):
    with tt.use_backend(backend):
        x = tt.tensor(x_np, requires_grad=True)
        y = F.relu(x)
        y.backward(tt.tensor(g_np))
        return y.numpy(), x.grad.numpy()


@pytest.mark.parametrize("shape", [(1,), (7, 13), (2, 3, 33)], ids=str)
def test_relu_native_matches_numpy_backend(shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    g = RNG.standard_normal(shape).astype(np.float32)
    y, dx = _relu_fwd_bwd(x, g, "native")
    y_np, dx_np = _relu_fwd_bwd(x, g, "numpy")
    np.testing.assert_array_equal(y, y_np)
    np.testing.assert_array_equal(dx, dx_np)


def test_relu_non_contiguous_input():
    x = tt.tensor(RNG.standard_normal((6, 8)).astype(np.float32), requires_grad=True)
    y = F.relu(x.T)  # a transposed view
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), np.maximum(x.numpy().T, 0))
    np.testing.assert_array_equal(x.grad.numpy(), (x.numpy() > 0).astype(np.float32))


def test_relu_second_order():
    # x away from 0, where the finite differences do not straddle the kink
    x_np = RNG.uniform(0.1, 1.0, (4, 5)) * RNG.choice([-1.0, 1.0], (4, 5))
    mask = (x_np > 0).astype(np.float64)
    x = tt.tensor(x_np, dtype=tt.float64, requires_grad=True)
    g = tt.tensor(RNG.standard_normal((4, 5)), dtype=tt.float64, requires_grad=True)
    assert gradcheck(lambda g: dispatch.apply(ReLUBackwardOp(), x, g), (g,))
    # d/dx sum(relu(x) * w) = mask * w, recorded; its gradient with respect to w is mask * v
    w = tt.tensor(RNG.standard_normal((4, 5)), dtype=tt.float64, requires_grad=True)
    v = RNG.standard_normal((4, 5))
    (F.relu(x) * w).sum().backward(create_graph=True)
    gx = x.grad
    np.testing.assert_allclose(gx.numpy(), mask * w.numpy())
    x.grad = w.grad = None
    (gx * tt.tensor(v)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), mask * v)


# --- linear ---------------------------------------------------------------------------------------


def _f64(*shape, grad=True):
    return tt.tensor(RNG.standard_normal(shape), dtype=tt.float64, requires_grad=grad)


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 5, 3), (3,), (1, 3)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_gradcheck(x_shape, with_bias):
    x, w, b = _f64(*x_shape), _f64(4, 3), _f64(4)
    if with_bias:
        assert gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))
    else:
        assert gradcheck(lambda x, w: F.linear(x, w), (x, w))


def test_linear_second_order():
    # L = sum(linear(x, w, b) * u): dL/dx = u @ w and dL/dw = u^T @ x, both recorded. Then
    # M = sum(dL/dw * V) + sum(dL/dx * Q) has dM/dx = u @ V and dM/dw = u^T @ Q.
    x, w, b = _f64(5, 3), _f64(4, 3), _f64(4)
    u, V, Q = RNG.standard_normal((5, 4)), RNG.standard_normal((4, 3)), RNG.standard_normal((5, 3))
    (F.linear(x, w, b) * tt.tensor(u)).sum().backward(create_graph=True)
    gx, gw = x.grad, w.grad
    np.testing.assert_allclose(gx.numpy(), u @ w.numpy())
    np.testing.assert_allclose(gw.numpy(), u.T @ x.numpy())
    x.grad = w.grad = b.grad = None
    ((gw * tt.tensor(V)).sum() + (gx * tt.tensor(Q)).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), u @ V)
    np.testing.assert_allclose(w.grad.numpy(), u.T @ Q)


@pytest.mark.parametrize("x_shape", [(64, 50), (1, 7), (3, 4, 50), (50,)], ids=str)
def test_linear_native_matches_numpy_backend(x_shape):
    x_np = RNG.standard_normal(x_shape).astype(np.float32)
    w_np = RNG.standard_normal((33, x_shape[-1])).astype(np.float32)
    b_np = RNG.standard_normal(33).astype(np.float32)
    out = {}
    for backend in ("native", "numpy"):
        with tt.use_backend(backend):
            x = tt.tensor(x_np, requires_grad=True)
            w = tt.tensor(w_np, requires_grad=True)
            b = tt.tensor(b_np, requires_grad=True)
            y = F.linear(x, w, b)
            (y * y).sum().backward()
            out[backend] = [y.numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()]
    for a, r in zip(out["native"], out["numpy"], strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4)


def test_linear_weight_grad_is_its_own_row_major_array():
    layer = Linear(300, 20)
    x = tt.tensor(RNG.standard_normal((8, 300)).astype(np.float32))
    layer(x).sum().backward()
    g = layer.weight.grad.numpy()
    assert g.shape == (20, 300) and g.flags.c_contiguous and g.flags.owndata
    np.testing.assert_allclose(g, np.broadcast_to(x.numpy().sum(0), (20, 300)), rtol=1e-5)


def test_linear_non_contiguous_input():
    x_np = RNG.standard_normal((7, 12)).astype(np.float32)
    w = tt.tensor(RNG.standard_normal((5, 7)).astype(np.float32), requires_grad=True)
    x = tt.tensor(x_np, requires_grad=True)
    y = F.linear(x.T, w)  # (12, 7) transposed view
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), x_np.T @ w.numpy().T, rtol=1e-5, atol=1e-5)
    # d/dx of sum(x.T @ w.T) = (ones(12, 5) @ w).T
    np.testing.assert_allclose(
        x.grad.numpy(), (np.ones((12, 5)) @ w.numpy()).T, rtol=1e-5, atol=1e-5
    )


def test_linear_torch_parity():
    torch = pytest.importorskip("torch")
    x_np = RNG.standard_normal((6, 9, 10)).astype(np.float32)
    w_np = RNG.standard_normal((4, 10)).astype(np.float32)
    b_np = RNG.standard_normal(4).astype(np.float32)
    x, w, b = (tt.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    y = F.linear(x, w, b)
    ty = torch.nn.functional.linear(tx, tw, tb)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    for a, t in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_linear_bad_shapes():
    w = tt.zeros(4, 3)
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5\) has 5 features"):
        F.linear(tt.zeros(2, 5), w)
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\) does not match the weight"):
        F.linear(tt.zeros(2, 3), w, tt.zeros(3))
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D"):
        F.linear(tt.zeros(2, 3), tt.zeros(3))
