"""The native conv2d kernels (csrc/conv.cpp) and the fused conv ops that use them.

- fast C++ vs the direct-loop ``_naive`` C++ references, for every ISA, at odd shapes, size 1,
  strides, padding, dilation, non-contiguous and broadcast inputs, 1 and 2 threads;
- native vs numpy backend through autograd (forward, dx, dw, db, and second order);
- float64 gradcheck of the three ops and their double backward;
- PyTorch parity; errors name the op and the shapes; skipped gradients are not computed.
"""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from tinytorch.autograd import enable_grad, gradcheck
from tinytorch.nn.functional.conv import (
    Conv2dGradBias,
    Conv2dGradInput,
    Conv2dGradWeight,
    Conv2dOp,
    conv2d,
)

_C = pytest.importorskip("tinytorch.tensor._C")

ISAS = _C.available_isas()


@pytest.fixture(params=ISAS)
def isa(request):
    before = _C.isa()
    _C.set_isa(request.param)
    try:
        yield request.param
    finally:
        _C.set_isa(before)


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
    return np.random.default_rng(7)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def close(actual, expected, k):
    """float32 sums of k terms: the error grows like sqrt(k) * eps relative to the magnitudes."""
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=4e-6 * np.sqrt(k + 1) * scale * 4)


# (x shape, weight shape, stride, padding, dilation)
GEOMETRIES = [
    ((2, 3, 7, 7), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 7), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 2, 8, 6), (3, 2, 3, 2), (2, 2), (1, 1), (1, 1)),
    ((2, 1, 9, 7), (2, 1, 3, 3), (2, 1), (0, 2), (1, 1)),
    ((1, 2, 9, 9), (2, 2, 3, 3), (1, 1), (2, 2), (2, 2)),
    ((3, 4, 5, 5), (5, 4, 1, 1), (1, 1), (0, 0), (1, 1)),
    ((1, 1, 4, 4), (1, 1, 4, 4), (1, 1), (0, 0), (1, 1)),  # one output pixel
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0), (1, 1)),  # everything size 1
    ((3, 17, 11, 13), (33, 17, 3, 5), (2, 3), (1, 2), (2, 1)),
    ((5, 19, 9, 11), (21, 19, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((4, 32, 8, 8), (64, 32, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 3, 33, 35), (7, 3, 3, 3), (1, 1), (1, 1), (1, 1)),  # rows that straddle panels
    ((1, 20, 6, 6), (300, 20, 3, 3), (1, 1), (1, 1), (1, 1)),  # K > one k-block, N = 1
    ((2, 3, 10, 10), (4, 3, 5, 5), (3, 3), (2, 2), (1, 1)),  # stride leaves rows unused
    ((3, 1, 12, 5), (2, 1, 2, 4), (1, 2), (0, 1), (3, 1)),
]


def _check_all(x, w, b, stride, padding, dilation, gy=None):
    o, c, kh, kw = w.shape
    y = _C.conv2d_forward(x, w, b, stride, padding, dilation)
    close(y, _C.conv2d_forward_naive(x, w, b, stride, padding, dilation), c * kh * kw)
    if gy is None:
        gy = np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)
    hw = x.shape[2:]
    dx = _C.conv2d_grad_input(gy, w, hw, stride, padding, dilation)
    close(dx, _C.conv2d_grad_input_naive(gy, w, hw, stride, padding, dilation), o * kh * kw)
    dw = _C.conv2d_grad_weight(x, gy, (kh, kw), stride, padding, dilation)
    npix = y.shape[0] * y.shape[2] * y.shape[3]
    close(dw, _C.conv2d_grad_weight_naive(x, gy, (kh, kw), stride, padding, dilation), npix)
    close(_C.conv2d_grad_bias(gy), _C.conv2d_grad_bias_naive(gy), npix)
    return y


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", GEOMETRIES)
def test_fast_matches_naive(isa, threads, rng, xs, ws, stride, padding, dilation):
    x, w, b = f32(rng, *xs), f32(rng, *ws), f32(rng, ws[0])
    y = _check_all(x, w, b, stride, padding, dilation)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    _check_all(x, w, None, stride, padding, dilation)


def test_non_contiguous_and_broadcast_inputs(isa, rng):
    # x as a transposed view, a sliced view; grad_out broadcast (what sum() gives), transposed.
    w = f32(rng, 6, 5, 3, 3)
    x_t = f32(rng, 4, 9, 10, 5).transpose(0, 3, 2, 1)  # (4, 5, 10, 9), channels innermost
    x_s = f32(rng, 8, 5, 20, 9)[::2, :, ::2]  # (4, 5, 10, 9), every other image and row
    for x in (x_t, x_s):
        assert not x.flags.c_contiguous
        _check_all(x, w, None, (1, 1), (1, 1), (1, 1))
        y_shape = (4, 6, 10, 9)
        bcast = np.broadcast_to(np.float32(1.5), y_shape)
        _check_all(x, w, None, (1, 1), (1, 1), (1, 1), gy=bcast)
        gy_t = f32(rng, 4, 6, 9, 10).transpose(0, 1, 3, 2)  # pixels not one run: copied
        _check_all(x, w, None, (1, 1), (1, 1), (1, 1), gy=gy_t)
        gy_c = np.ascontiguousarray(f32(rng, 6, 4, 10, 9).transpose(1, 0, 2, 3))
        _check_all(x, w, None, (1, 1), (1, 1), (1, 1), gy=gy_c)
    # A (1, 1)-column image: the pixel stride is the row stride.
    _check_all(f32(rng, 2, 3, 6, 1), f32(rng, 2, 3, 3, 1), None, (1, 1), (1, 0), (1, 1))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 6),
    o=st.integers(1, 20),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    ph=st.integers(0, 2),
    pw=st.integers(0, 2),
    dh=st.integers(1, 2),
    dw=st.integers(1, 2),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_fast_matches_naive(n, c, o, h, w, kh, kw, sh, sw, ph, pw, dh, dw, seed):
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        return  # the kernel does not fit (tested in test_errors)
    rng = np.random.default_rng(seed)
    _check_all(
        f32(rng, n, c, h, w), f32(rng, o, c, kh, kw), f32(rng, o), (sh, sw), (ph, pw), (dh, dw)
    )


def _run(backend, x0, w0, b0, stride, padding, dilation, x_grad=True):
    with tt.use_backend(backend):
        x = tt.tensor(x0, requires_grad=x_grad)
        w = tt.tensor(w0, requires_grad=True)
        b = None if b0 is None else tt.tensor(b0, requires_grad=True)
        y = conv2d(x, w, b, stride, padding, dilation)
        (y * y).sum().backward()
        grads = [None if t is None or t.grad is None else t.grad.data for t in (x, w, b)]
        return (y.data, *grads)


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", GEOMETRIES[:10])
def test_native_matches_numpy_backend_through_autograd(rng, xs, ws, stride, padding, dilation):
    x0, w0, b0 = f32(rng, *xs), f32(rng, *ws), f32(rng, ws[0])
    nat = _run("native", x0, w0, b0, stride, padding, dilation)
    ref = _run("numpy", x0, w0, b0, stride, padding, dilation)
    k = ws[1] * ws[2] * ws[3]
    for a, r in zip(nat, ref, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=2e-4, atol=2e-4 * np.sqrt(k))


def test_native_backend_runs_the_fused_ops(rng):
    seen = []
    handle = tt.dispatch.add_hook(lambda op, inputs, out: seen.append(op.name))
    try:
        _run("native", f32(rng, 2, 3, 6, 6), f32(rng, 4, 3, 3, 3), f32(rng, 4), 1, 1, 1)
    finally:
        handle.remove()
    for name in ("conv2d", "conv2d_grad_input", "conv2d_grad_weight", "conv2d_grad_bias"):
        assert name in seen
    assert "im2col" not in seen and "matmul" not in seen


def test_gradients_of_inputs_that_do_not_need_them_are_skipped(rng):
    # The first layer of a CNN: x is data, so dx (a whole col2im pass) must not be computed.
    seen = []
    handle = tt.dispatch.add_hook(lambda op, inputs, out: seen.append(op.name))
    try:
        _, gx, gw, gb = _run(
            "native", f32(rng, 2, 3, 6, 6), f32(rng, 4, 3, 3, 3), f32(rng, 4), 1, 1, 1, False
        )
    finally:
        handle.remove()
    assert gx is None and gw is not None and gb is not None
    assert "conv2d_grad_input" not in seen


def test_non_contiguous_tensor_input_through_autograd(rng):
    base = f32(rng, 3, 8, 9, 4)
    w0 = f32(rng, 5, 4, 3, 3)
    outs = {}
    for backend in ("native", "numpy"):
        with tt.use_backend(backend):
            xb = tt.tensor(base, requires_grad=True)
            x = xb.permute(0, 3, 2, 1)  # (3, 4, 9, 8): a transposed view
            w = tt.tensor(w0, requires_grad=True)
            conv2d(x, w, padding=1, stride=(2, 1)).sum().backward()
            outs[backend] = (xb.grad.data, w.grad.data)
    for a, r in zip(outs["native"], outs["numpy"], strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4)


def leaf64(rng, *shape):
    return tt.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)


@pytest.mark.parametrize(
    "stride, padding, dilation", [(1, 0, 1), (1, 1, 1), (2, 1, 1), ((2, 1), (0, 2), (1, 2))]
)
def test_ops_gradcheck(rng, stride, padding, dilation):
    x, w, b = leaf64(rng, 2, 2, 6, 5), leaf64(rng, 3, 2, 3, 2), leaf64(rng, 3)
    assert gradcheck(lambda x, w, b: conv2d(x, w, b, stride, padding, dilation), [x, w, b])
    args = Conv2dOp(x.shape, (3, 2), stride, padding, dilation).geometry.args()
    gy = leaf64(rng, *conv2d(x, w, None, stride, padding, dilation).shape)
    assert gradcheck(lambda g, w: tt.dispatch.apply(Conv2dGradInput(*args), g, w), [gy, w])
    assert gradcheck(lambda x, g: tt.dispatch.apply(Conv2dGradWeight(*args), x, g), [x, gy])
    assert gradcheck(lambda g: tt.dispatch.apply(Conv2dGradBias(), g), [gy])


def test_second_order_gradcheck(rng):
    # dL/dx as a function of w, and dL/dw as a function of x: every backward of the three ops
    # (grad input -> conv and grad weight, grad weight -> conv and grad input) runs.
    x0, w0 = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))

    def loss_grads(x, w):
        (conv2d(x, w, padding=1, stride=(1, 2)) ** 2).sum().backward(create_graph=True)
        return x.grad, w.grad

    def dx_of_w(w):
        with enable_grad():
            return loss_grads(tt.tensor(x0, dtype="float64", requires_grad=True), w)[0]

    def dw_of_x(x):
        with enable_grad():
            return loss_grads(x, tt.tensor(w0, dtype="float64", requires_grad=True))[1]

    assert gradcheck(dx_of_w, [tt.tensor(w0, dtype="float64", requires_grad=True)])
    assert gradcheck(dw_of_x, [tt.tensor(x0, dtype="float64", requires_grad=True)])


def test_second_order_native_matches_numpy(rng):
    x0, w0 = f32(rng, 2, 3, 7, 7), f32(rng, 4, 3, 3, 3)
    res = {}
    for backend in ("native", "numpy"):
        with tt.use_backend(backend):
            x = tt.tensor(x0, requires_grad=True)
            w = tt.tensor(w0, requires_grad=True)
            (conv2d(x, w, padding=1) ** 2).sum().backward(create_graph=True)
            gx, gw = x.grad, w.grad
            x.grad = w.grad = None
            ((gx**2).sum() + (gw**2).sum()).backward()
            res[backend] = (x.grad.data, w.grad.data)
    for a, r in zip(res["native"], res["numpy"], strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize(
    "xs, ws, stride, padding, dilation",
    [
        ((4, 3, 16, 16), (8, 3, 3, 3), 1, 1, 1),
        ((2, 8, 11, 9), (6, 8, 3, 5), (2, 1), (1, 2), (1, 2)),
        ((1, 16, 8, 8), (32, 16, 1, 1), 1, 0, 1),
    ],
)
def test_pytorch_parity(rng, xs, ws, stride, padding, dilation):
    torch = pytest.importorskip("torch")
    x0, w0, b0 = f32(rng, *xs), f32(rng, *ws), f32(rng, ws[0])
    y, gx, gw, gb = _run("native", x0, w0, b0, stride, padding, dilation)
    xt = torch.tensor(x0, requires_grad=True)
    wt = torch.tensor(w0, requires_grad=True)
    bt = torch.tensor(b0, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation)
    (yt * yt).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(gx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-4, atol=1e-2)


def test_errors_name_the_op_and_shapes():
    x, w = np.ones((2, 3, 8, 8), np.float32), np.ones((4, 3, 3, 3), np.float32)
    with pytest.raises(TypeError, match="conv2d_forward: expected float32 arrays, got float64"):
        _C.conv2d_forward(x.astype(np.float64), w)
    with pytest.raises(
        ValueError,
        match=r"conv2d_forward: the weight \(4, 3, 3, 3\) expects input with 3 channels, "
        r"got shape \(2, 5, 8, 8\)",
    ):
        _C.conv2d_forward(np.ones((2, 5, 8, 8), np.float32), w)
    with pytest.raises(ValueError, match=r"conv2d_forward: expected x of shape \(N, C, H, W\)"):
        _C.conv2d_forward(np.ones((3, 8, 8), np.float32), w)
    with pytest.raises(ValueError, match=r"conv2d_forward: expected a bias of shape \(4,\)"):
        _C.conv2d_forward(x, w, np.ones(5, np.float32))
    with pytest.raises(ValueError, match="conv2d_forward: stride must be >= 1"):
        _C.conv2d_forward(x, w, None, (0, 1))
    with pytest.raises(ValueError, match=r"does not fit an input of size \(2, 2\)"):
        _C.conv2d_forward(np.ones((1, 3, 2, 2), np.float32), w)
    with pytest.raises(ValueError, match="negative strides"):
        _C.conv2d_forward(x[:, :, ::-1], w)
    with pytest.raises(
        ValueError,
        match=r"conv2d_grad_input: expected grad_out of shape \(2, 4, 8, 8\), "
        r"got shape \(2, 4, 6, 6\)",
    ):
        _C.conv2d_grad_input(np.ones((2, 4, 6, 6), np.float32), w, (8, 8), (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"conv2d_grad_input: grad_out \(2, 5, 8, 8\) has 5"):
        _C.conv2d_grad_input(np.ones((2, 5, 8, 8), np.float32), w, (8, 8), (1, 1), (1, 1))
    with pytest.raises(ValueError, match="conv2d_grad_weight: x .* have different batch sizes"):
        _C.conv2d_grad_weight(x, np.ones((3, 4, 6, 6), np.float32), (3, 3))
    with pytest.raises(TypeError, match="conv2d_grad_bias: expected float32"):
        _C.conv2d_grad_bias(np.ones((2, 4, 6, 6)))


def test_stub_lists_every_conv_function():
    from pathlib import Path

    stub = (Path(tt.__file__).parent / "_C.pyi").read_text()
    section = stub[stub.index("# --- conv:") : stub.index("# (end of conv)")]
    names = [line[4 : line.index("(")] for line in section.splitlines() if line.startswith("def ")]
    bound = sorted(n for n in dir(_C) if n.startswith("conv2d_"))
    assert sorted(names) == bound
