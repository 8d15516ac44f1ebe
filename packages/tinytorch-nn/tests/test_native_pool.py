"""The native pooling kernels (csrc/pool.cpp) and the pooling ops that use them.

Fast C++ vs the ``_naive`` references (strides, padding, dilation, odd and size-1 shapes,
non-contiguous input, 1 and 2 threads); native vs numpy backend through autograd; int32
per-plane indices, ties and NaN; float64 gradcheck including second order; PyTorch parity;
errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from tinytorch.autograd import enable_grad, gradcheck
from tinytorch.nn.functional.conv import AvgPool2dOp, MaxPool2dOp, avg_pool2d, max_pool2d

_C = pytest.importorskip("tinytorch.tensor._C")


@pytest.fixture(params=[1, 2])
def threads(request):
    before = _C.num_threads()
    _C.set_num_threads(request.param)
    try:
        yield request.param
    finally:
        _C.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# (x shape, kernel, stride, padding, dilation)
POOLS = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1)),
    ((2, 3, 7, 8), (3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 2, 7, 7), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 2, 9, 9), (3, 3), (1, 1), (1, 1), (2, 2)),
    ((2, 2, 5, 6), (3, 2), (1, 2), (1, 1), (1, 1)),
    ((3, 4, 1, 1), (1, 1), (1, 1), (0, 0), (1, 1)),
    ((1, 1, 5, 5), (5, 5), (1, 1), (2, 2), (1, 1)),
    ((2, 2, 13, 11), (5, 3), (3, 2), (2, 1), (1, 2)),
    ((64, 8, 32, 32), (2, 2), (2, 2), (0, 0), (1, 1)),  # big enough to run threaded
    ((2, 3, 9, 37), (3, 3), (2, 2), (1, 1), (1, 1)),  # vectorised stride-2 rows, odd width
    ((1, 2, 5, 40), (2, 3), (1, 2), (0, 1), (1, 2)),
    ((2, 2, 6, 33), (3, 3), (1, 1), (1, 1), (1, 1)),  # vectorised stride-1 rows
]


def _check(x, k, s, p, d):
    out, idx = _C.max_pool2d_forward(x, k, s, p, d)
    out_n, idx_n = _C.max_pool2d_forward_naive(x, k, s, p, d)
    assert idx.dtype == np.int32 and out.dtype == np.float32
    np.testing.assert_array_equal(out, out_n)
    np.testing.assert_array_equal(idx, idx_n)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    hw = x.shape[2:]
    np.testing.assert_allclose(
        _C.max_pool2d_backward(g, idx, hw), _C.max_pool2d_backward_naive(g, idx, hw), atol=1e-6
    )
    if d != (1, 1):
        return
    for cip in (True, False):
        a = _C.avg_pool2d_forward(x, k, s, p, cip)
        np.testing.assert_allclose(a, _C.avg_pool2d_forward_naive(x, k, s, p, cip), atol=1e-6)
        np.testing.assert_allclose(
            _C.avg_pool2d_backward(g, hw, k, s, p, cip),
            _C.avg_pool2d_backward_naive(g, hw, k, s, p, cip),
            atol=1e-6,
        )


@pytest.mark.parametrize("xs, k, s, p, d", POOLS)
def test_fast_matches_naive(threads, rng, xs, k, s, p, d):
    _check(f32(rng, *xs), k, s, p, d)


@pytest.mark.parametrize("xs, k, s, p, d", POOLS[-3:])
def test_nans_and_infinities_in_long_rows(rng, xs, k, s, p, d):
    x = f32(rng, *xs)
    x.reshape(-1)[rng.choice(x.size, x.size // 7, replace=False)] = np.nan
    x.reshape(-1)[rng.choice(x.size, x.size // 7, replace=False)] = -np.inf
    _check(x, k, s, p, d)


def test_non_contiguous_input(rng):
    x = f32(rng, 2, 9, 10, 3).transpose(0, 3, 1, 2)  # (2, 3, 9, 10) channels innermost
    _check(x, (3, 3), (2, 2), (1, 1), (1, 1))
    out, _ = _C.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
    out_c, _ = _C.max_pool2d_forward(np.ascontiguousarray(x), (3, 3), (2, 2), (1, 1))
    np.testing.assert_array_equal(out, out_c)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    h=st.integers(1, 11),
    w=st.integers(1, 11),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    dh=st.integers(1, 2),
    dw=st.integers(1, 2),
    pad=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_fast_matches_naive(n, c, h, w, kh, kw, sh, sw, dh, dw, pad, seed):
    ph, pw = (kh // 2, kw // 2) if pad else (0, 0)
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 3, (n, c, h, w)).astype(np.float32)  # many ties
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    rows_ok = all(any(0 <= o * sh + i * dh - ph < h for i in range(kh)) for o in range(oh))
    cols_ok = all(any(0 <= o * sw + j * dw - pw < w for j in range(kw)) for o in range(ow))
    if not (rows_ok and cols_ok):  # a dilated window entirely in the padding: refused
        with pytest.raises(ValueError, match="lies entirely in the padding"):
            _C.max_pool2d_forward(x, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
        with pytest.raises(ValueError, match="max_pool2d: the window of output"):
            max_pool2d(tt.tensor(x), (kh, kw), (sh, sw), (ph, pw), (dh, dw))
        return
    _check(x, (kh, kw), (sh, sw), (ph, pw), (dh, dw))


def test_indices_are_int32_per_plane_and_ties_go_first():
    x = np.zeros((2, 3, 4, 4), np.float32)
    x[1, 2, 3, 3] = 5.0
    _, idx = _C.max_pool2d_forward(x, (2, 2), (2, 2))
    assert idx.dtype == np.int32
    # All-zero windows: the first element of each window (row-major), as a position in its plane.
    assert idx[0, 0].tolist() == [[0, 2], [8, 10]]
    assert idx[1, 2, 1, 1] == 15


def test_nan_wins_and_padding_never_does():
    x = np.full((1, 1, 3, 3), -np.inf, np.float32)
    out, idx = _C.max_pool2d_forward(x, (3, 3), (1, 1), (1, 1))
    assert np.all(np.isneginf(out))
    assert np.all((idx >= 0) & (idx < 9))  # a real element, never the padding
    x[0, 0, 1, 1] = np.nan
    out, idx = _C.max_pool2d_forward(x, (3, 3), (1, 1), (1, 1))
    assert np.all(np.isnan(out)) and np.all(idx == 4)


def _pool_grads(backend, kind, x0, k, s, p, extra):
    with tt.use_backend(backend):
        x = tt.tensor(x0, requires_grad=True)
        fn = max_pool2d if kind == "max" else avg_pool2d
        y = fn(x, k, s, p, **extra)
        (y * y).sum().backward()
        return y.data, x.grad.data


@pytest.mark.parametrize(
    "kind, xs, k, s, p, d",
    [
        (kind, *pool)
        for pool in POOLS[:6]
        for kind in ("max", "avg_in", "avg_ex")
        if kind == "max" or pool[4] == (1, 1)
    ],  # average pooling has no dilation
)
def test_native_matches_numpy_backend(rng, kind, xs, k, s, p, d):
    extra = {"dilation": d} if kind == "max" else {"count_include_pad": kind == "avg_in"}
    x0 = f32(rng, *xs)
    base = "max" if kind == "max" else "avg"
    for a, r in zip(
        _pool_grads("native", base, x0, k, s, p, extra),
        _pool_grads("numpy", base, x0, k, s, p, extra),
        strict=True,
    ):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)


def test_native_backend_runs_native_ops(rng):
    seen = []
    handle = tt.dispatch.add_hook(lambda op, inputs, out: seen.append(op.name))
    try:
        _pool_grads("native", "avg", f32(rng, 2, 2, 6, 6), 2, 2, 0, {})
        _pool_grads("native", "max", f32(rng, 2, 2, 6, 6), 2, 2, 0, {})
    finally:
        handle.remove()
    assert {"avg_pool2d", "avg_pool2d_grad", "max_pool2d", "max_pool2d_scatter"} <= set(seen)
    assert "im2col" not in seen


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_gradcheck_first_and_second_order(rng, k, s, p, count_include_pad):
    x = tt.tensor(rng.standard_normal((2, 2, 6, 7)), dtype="float64", requires_grad=True)
    assert gradcheck(lambda x: avg_pool2d(x, k, s, p, count_include_pad), [x])

    a0 = rng.standard_normal(x.shape)

    def grad_of(x):  # d/da of sum(avg_pool(a * x)^2), a function of x through the grad op
        with enable_grad():
            xx = tt.tensor(a0, dtype="float64", requires_grad=True)
            (avg_pool2d(xx * x, k, s, p, count_include_pad) ** 2).sum().backward(create_graph=True)
            return xx.grad

    assert gradcheck(grad_of, [x])


def test_max_pool_second_order_native(rng):
    x0 = f32(rng, 2, 2, 6, 6)
    res = {}
    for backend in ("native", "numpy"):
        with tt.use_backend(backend):
            x = tt.tensor(x0, requires_grad=True)
            (max_pool2d(x, 3, 1, 1) ** 2).sum().backward(create_graph=True)
            g = x.grad
            x.grad = None
            (g * g).sum().backward()
            res[backend] = x.grad.data
    np.testing.assert_allclose(res["native"], res["numpy"], rtol=1e-5)


@pytest.mark.parametrize("kind", ["max", "avg", "avg_ex"])
@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1)])
def test_pytorch_parity(rng, kind, k, s, p):
    torch = pytest.importorskip("torch")
    x0 = f32(rng, 4, 3, 11, 10)
    extra = {} if kind == "max" else {"count_include_pad": kind == "avg"}
    y, gx = _pool_grads("native", kind[:3], x0, k, s, p, extra)
    xt = torch.tensor(x0, requires_grad=True)
    fn = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    yt = fn(xt, k, s, p, **extra)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_ops_expose_their_geometry():
    op = MaxPool2dOp((1, 1, 4, 4), 2, 2, 0)
    assert op.index is None
    op.native(np.ones((1, 1, 4, 4), np.float32))
    assert op.index.dtype == np.int32 and op.index.shape == (1, 1, 2, 2)
    assert AvgPool2dOp((1, 1, 4, 4), 2, 2, 0, False).count_include_pad is False


def test_errors():
    x = np.ones((1, 2, 6, 6), np.float32)
    with pytest.raises(TypeError, match="max_pool2d_forward: expected float32 arrays, got float64"):
        _C.max_pool2d_forward(x.astype(np.float64), (2, 2), (2, 2))
    with pytest.raises(ValueError, match=r"max_pool2d_forward: expected x of shape \(N, C, H, W\)"):
        _C.max_pool2d_forward(x[0], (2, 2), (2, 2))
    with pytest.raises(ValueError, match="at most half the kernel size"):
        _C.max_pool2d_forward(x, (2, 2), (2, 2), (2, 2))
    with pytest.raises(ValueError, match="avg_pool2d_forward: kernel_size .* does not fit"):
        _C.avg_pool2d_forward(x, (7, 7), (1, 1))
    out, idx = _C.max_pool2d_forward(x, (2, 2), (2, 2))
    with pytest.raises(TypeError, match="max_pool2d_backward: expected int32 indices, got int64"):
        _C.max_pool2d_backward(out, idx.astype(np.int64), (6, 6))
    with pytest.raises(ValueError, match=r"indices of shape \(1, 2, 3, 2\) do not match"):
        _C.max_pool2d_backward(out, idx[..., :2], (6, 6))
    bad = idx.copy()
    bad[0, 0, 0, 0] = 36
    with pytest.raises(ValueError, match=r"index 36 is outside a plane of size \(6, 6\)"):
        _C.max_pool2d_backward(out, bad, (6, 6))
    bad[0, 0, 0, 0] = 0
    bad[0, 1, 2, 1] = -1
    for fn in (_C.max_pool2d_backward, _C.max_pool2d_backward_naive):
        with pytest.raises(ValueError, match=r"index -1 is outside"):
            fn(out, bad, (6, 6))
    with pytest.raises(ValueError, match=r"avg_pool2d_backward: expected grad_out of shape"):
        _C.avg_pool2d_backward(out, (9, 9), (2, 2), (2, 2))


def test_stub_lists_every_pool_function():
    from pathlib import Path

    stub = (Path(tt.__file__).parent / "_C.pyi").read_text()
    section = stub[stub.index("# --- pool:") : stub.index("# (end of pool)")]
    names = [line[4 : line.index("(")] for line in section.splitlines() if line.startswith("def ")]
    bound = sorted(n for n in dir(_C) if "_pool2d_" in n)
    assert sorted(names) == bound
