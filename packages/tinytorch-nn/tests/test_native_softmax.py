"""Native softmax, log-softmax and fused cross-entropy (csrc/softmax.cpp) and the ops that use them.

Kernel level: the fast kernels against their `_naive` twins and float64 numpy, for every ISA
this CPU has, at odd sizes, size 1, empty, rows longer than the online chunk, and with
-inf / inf / NaN. Op level: native against the numpy backend (forward, backward, any dim,
non-contiguous inputs), float64 gradcheck of every backward op (so second order is right),
PyTorch parity (values, gradients, double backward), and every cross-entropy option against
the composed log_softmax + NLL path and torch.nn.functional.cross_entropy.
"""

from __future__ import annotations

import itertools

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import tinytorch.tensor as tt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tinytorch.autograd import gradcheck
from tinytorch.autograd.graph import graph_stats
from tinytorch.nn import functional as F
from tinytorch.nn.functional.activation import (
    LogSoftmaxBackwardOp,
    SoftmaxBackwardOp,
)
from tinytorch.nn.functional.loss import (
    CrossEntropyBackwardOp,
    CrossEntropyOp,
    _cross_entropy_composed,
)
from tinytorch.tensor import dispatch

_C = pytest.importorskip("tinytorch.tensor._C")

ISAS = _C.available_isas()
RNG = np.random.default_rng(7)


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test with each available vector width (avx512 / avx2 / baseline)."""
    before = _C.isa()
    _C.set_isa(request.param)
    try:
        yield request.param
    finally:
        _C.set_isa(before)


def f32(*shape, scale=3.0, rng=RNG):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def softmax64(x, axis=-1):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax64(x, axis=-1):
    x = x.astype(np.float64)
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


# Rows: one element, under one vector, odd, exactly 16, a typical width, longer than one online
# chunk (2048), and longer than 64 chunks (the chunk length grows).
KERNEL_SHAPES = [
    (1, 1),
    (3, 1),
    (5, 7),
    (4, 16),
    (9, 33),
    (6, 256),
    (3, 5000),
    (1, 140_001),
    (0, 5),
]


# --- kernels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", KERNEL_SHAPES, ids=str)
def test_softmax_kernels_match_naive_and_float64(isa, shape):
    x = f32(*shape)
    ref, lref = softmax64(x), log_softmax64(x)
    # The naive kernel sums a row serially in float32: its error grows like C * eps.
    naive_rtol = 2e-5 + 2e-9 * shape[1]
    for y, rtol in ((_C.softmax(x), 2e-5), (_C.softmax_naive(x), naive_rtol)):
        assert y.dtype == np.float32 and y.shape == shape and y.flags.c_contiguous
        np.testing.assert_allclose(y, ref, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(_C.softmax(x), _C.softmax_naive(x), rtol=naive_rtol, atol=1e-7)
    # log-softmax: absolute error relative to the log-sum-exp's size
    tol = 2e-6 * (1 + np.abs(lref).max(initial=0))
    np.testing.assert_allclose(_C.log_softmax(x), lref, atol=tol, rtol=0)
    np.testing.assert_allclose(_C.log_softmax_naive(x), lref, atol=tol + naive_rtol, rtol=0)
    if x.size:
        assert np.allclose(_C.softmax(x).sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("shape", KERNEL_SHAPES, ids=str)
def test_softmax_backward_kernels_match_naive_and_float64(isa, shape):
    x = f32(*shape)
    dy = f32(*shape, scale=1.0)
    y, ly = _C.softmax(x), _C.log_softmax(x)
    y64, ly64, dy64 = y.astype(np.float64), ly.astype(np.float64), dy.astype(np.float64)
    ref = y64 * (dy64 - (dy64 * y64).sum(axis=1, keepdims=True))
    lref = dy64 - np.exp(ly64) * dy64.sum(axis=1, keepdims=True)
    scale = np.sqrt(max(shape[1], 1)) * 1e-6
    for dx in (_C.softmax_backward(y, dy), _C.softmax_backward_naive(y, dy)):
        np.testing.assert_allclose(dx, ref, rtol=1e-4, atol=scale)
    lscale = scale * (1 + np.abs(dy64.sum(axis=1)).max(initial=0))
    for dx in (_C.log_softmax_backward(ly, dy), _C.log_softmax_backward_naive(ly, dy)):
        np.testing.assert_allclose(dx, lref, rtol=1e-4, atol=lscale)


def test_exp_accuracy_through_softmax_rows(isa):
    """Two-element rows [0, v]: softmax is [1/(1+e^v), e^v/(1+e^v)], so e^v itself is checked."""
    v = np.linspace(-87, 0, 20001, dtype=np.float32)
    x = np.stack([np.zeros_like(v), v], axis=1)
    p = _C.softmax(x)[:, 1].astype(np.float64)
    e = np.exp(v.astype(np.float64))
    ulp = np.spacing(np.float32(e / (1 + e))).astype(np.float64)
    assert np.max(np.abs(p - e / (1 + e)) / ulp) <= 4  # exp (2 ulp) + sum + divide


def test_softmax_special_values(isa):
    inf, nan = np.inf, np.nan
    x = np.array(
        [
            [-1000.0, 0.0, 1000.0, 5.0],  # no overflow
            [-inf, 0.0, 1.0, -inf],  # -inf entries get probability 0
            [-inf, -inf, -inf, -inf],  # all -inf: nan, as PyTorch
            [0.0, nan, 1.0, 2.0],  # a NaN poisons its row only
            [inf, 0.0, 1.0, 2.0],  # +inf: nan (inf - inf), as PyTorch
        ],
        dtype=np.float32,
    )
    with np.errstate(all="ignore"):
        y, ly = _C.softmax(x), _C.log_softmax(x)
    np.testing.assert_allclose(y[0], [0, 0, 1, 0], atol=0)
    np.testing.assert_allclose(ly[0], [-2000, -1000, 0, -995], rtol=1e-7)
    np.testing.assert_allclose(y[1], softmax64(np.array([[-1e30, 0, 1, -1e30]]))[0], rtol=1e-6)
    assert y[1, 0] == 0 and ly[1, 0] == -inf
    assert np.isnan(y[2]).all() and np.isnan(ly[2]).all()
    assert np.isnan(y[3]).all() and np.isnan(ly[3]).all()
    assert np.isnan(y[4]).all()
    assert np.isfinite(y[[0, 1]]).all()


def test_online_chunks_with_leading_neg_inf_and_nan(isa):
    """Rows longer than one chunk (2048) whose first chunk is all -inf (or holds a NaN)."""
    row = np.full(5000, -np.inf, dtype=np.float32)
    row[3000:] = f32(2000)
    x = np.stack([row, row.copy()])
    x[1, 7] = np.nan
    y, ly = _C.softmax(x), _C.log_softmax(x)
    finite = row[3000:].astype(np.float64)
    np.testing.assert_allclose(y[0, 3000:], softmax64(finite[None])[0], rtol=2e-5, atol=1e-9)
    assert (y[0, :3000] == 0).all() and (ly[0, :3000] == -np.inf).all()
    assert np.isnan(y[1]).all() and np.isnan(ly[1]).all()
    # the running max grows chunk after chunk: every chunk is rescaled
    ramp = np.linspace(-50, 50, 10_000, dtype=np.float32)[None]
    np.testing.assert_allclose(_C.softmax(ramp), softmax64(ramp), rtol=2e-5, atol=1e-30)


def test_threads_give_identical_results():
    """Rows are split between threads, each row computed whole: bitwise the same for any count."""
    x, dy = f32(301, 257), f32(301, 257, scale=1.0)
    t = RNG.integers(0, 257, 301)
    before = _C.num_threads()

    def outputs():
        y = _C.softmax(x)
        loss, lse, total, _ = _C.cross_entropy_forward(x, t, None, -100, 0.1)
        return [
            y,
            _C.log_softmax(x),
            _C.softmax_backward(y, dy),
            _C.log_softmax_backward(y, dy),
            loss,
            lse,
            _C.cross_entropy_backward(x, lse, t, dy[:, 0].copy(), None, -100, 0.1, 1.0),
        ]

    try:
        _C.set_num_threads(1)
        one = outputs()
        for n in (2, 3):
            _C.set_num_threads(n)
            for a, b in zip(one, outputs(), strict=True):
                np.testing.assert_array_equal(a, b)
    finally:
        _C.set_num_threads(before)


def test_kernels_accept_views_and_reject_bad_input():
    x = f32(8, 6)
    np.testing.assert_allclose(_C.softmax(x.T), softmax64(x.T), rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(_C.softmax(x[::2, 1:]), softmax64(x[::2, 1:]), rtol=2e-5, atol=1e-7)
    with pytest.raises(
        TypeError, match=r"softmax: x must be float32, got float64 of shape \(8, 6\)"
    ):
        _C.softmax(x.astype(np.float64))
    with pytest.raises(
        ValueError, match=r"log_softmax: x must be 2-D \(rows, C\), got shape \(48,\)"
    ):
        _C.log_softmax(x.reshape(-1))
    with pytest.raises(
        ValueError,
        match=r"softmax_backward: y and dy must have the same shape, got \(8, 6\) and \(6, 8\)",
    ):
        _C.softmax_backward(x, x.T.copy())
    t = np.array([0, 1, 2, 9, 0, 1, 2, 3])
    with pytest.raises(
        ValueError, match=r"cross_entropy: target label 9 is out of range for 6 classes"
    ):
        _C.cross_entropy_forward(x, t)
    with pytest.raises(ValueError, match=r"need a target of shape \(8,\), got shape \(7,\)"):
        _C.cross_entropy_forward(x, t[:7])
    with pytest.raises(
        ValueError, match=r"weight must have one entry per class, shape \(6,\), got shape \(5,\)"
    ):
        _C.cross_entropy_forward(x, t % 6, np.ones(5, np.float32))
    with pytest.raises(TypeError, match="target must hold integer class indices"):
        _C.cross_entropy_forward(x, t.astype(np.float32))
    loss, lse, _, _ = _C.cross_entropy_forward(x, t % 6)
    with pytest.raises(
        ValueError, match=r"grad must hold one value or have shape \(8,\), got shape \(3,\)"
    ):
        _C.cross_entropy_backward(x, lse, t % 6, np.ones(3, np.float32))


CE_KERNEL_CASES = list(
    itertools.product([(7, 1), (64, 10), (33, 65), (5, 1000), (3, 3000)], [False, True], [0.0, 0.3])
)


@pytest.mark.parametrize("shape,weighted,eps", CE_KERNEL_CASES, ids=str)
def test_cross_entropy_kernels_match_naive_and_float64(isa, shape, weighted, eps):
    n, c = shape
    x = f32(n, c)
    t = RNG.integers(0, c, n)
    t[::4] = -100
    w = (RNG.random(c) + 0.2).astype(np.float32) if weighted else None
    loss, lse, total, wsum = _C.cross_entropy_forward(x, t, w, -100, eps)
    nloss, nlse, ntotal, nwsum = _C.cross_entropy_forward_naive(x, t, w, -100, eps)
    # float64 reference
    lse64 = log_softmax64(x)
    w64 = np.ones(c) if w is None else w.astype(np.float64)
    keep = t != -100
    safe = np.where(keep, t, 0)
    nll = -w64[safe] * lse64[np.arange(n), safe]
    smooth = -(w64 * lse64).sum(axis=1)
    ref = np.where(keep, (1 - eps) * nll + eps / c * smooth, 0.0)
    for lo, to, ws in ((loss, total, wsum), (nloss, ntotal, nwsum)):
        np.testing.assert_allclose(lo, ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(to, ref.sum(), rtol=1e-5)
        np.testing.assert_allclose(ws, w64[safe][keep].sum(), rtol=1e-6)
    np.testing.assert_allclose(lse, nlse, rtol=1e-6, atol=1e-5)
    for g in (np.float32([0.7]), f32(n, scale=1.0)):
        dx = _C.cross_entropy_backward(x, lse, t, g, w, -100, eps, 0.5)
        ndx = _C.cross_entropy_backward_naive(x, lse, t, g, w, -100, eps, 0.5)
        p = np.exp(lse64)
        onehot = np.zeros((n, c))
        onehot[np.arange(n), safe] = 1
        d = (1 - eps) * w64[safe][:, None] * (p - onehot) + eps / c * (w64.sum() * p - w64)
        ref_dx = np.where(keep[:, None], d * (g.astype(np.float64).reshape(-1, 1) * 0.5), 0.0)
        np.testing.assert_allclose(dx, ref_dx, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(ndx, ref_dx, rtol=1e-4, atol=1e-6)
        assert (dx[~keep] == 0).all()


# --- softmax / log_softmax ops ------------------------------------------------------------------

OP_CASES = [
    ((5, 7), 1),
    ((5, 7), 0),
    ((2, 3, 4), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), -1),
    ((1, 1), 1),
    ((6,), 0),
    ((3, 0, 4), 2),
    ((4, 300), 1),
]


def _both_backends(fn, x_np, g_np):
    """fn(x) and d(sum(fn(x) * g))/dx on the native and on the numpy backend."""
    out = {}
    for backend in ("native", "numpy"):
        with tt.use_backend(backend):
            x = tt.tensor(x_np, requires_grad=True)
            y = fn(x)
            y.backward(tt.tensor(g_np))
            out[backend] = (y.numpy(), x.grad.numpy())
    return out


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", OP_CASES, ids=str)
def test_native_matches_numpy_backend_any_dim(fn, shape, dim):
    x, g = f32(*shape), f32(*shape, scale=1.0)
    r = _both_backends(lambda t: fn(t, dim), x, g)
    (y, dx), (y_np, dx_np) = r["native"], r["numpy"]
    assert y.shape == shape and dx.shape == shape and y.dtype == np.float32
    np.testing.assert_allclose(y, y_np, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(dx, dx_np, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax], ids=["softmax", "log_softmax"])
def test_non_contiguous_inputs(fn):
    base = f32(6, 10, 4)
    views = {"transposed": lambda t: t.permute(2, 0, 1), "sliced": lambda t: t[:, ::2]}
    for view in views.values():
        results = {}
        for dim in (0, 1, 2):
            for backend in ("native", "numpy"):
                with tt.use_backend(backend):
                    x = tt.tensor(base, requires_grad=True)
                    v = view(x)
                    assert not v.data.flags.c_contiguous
                    y = fn(v, dim)
                    g = np.random.default_rng(dim).standard_normal(y.shape).astype(np.float32)
                    y.backward(tt.tensor(g))
                    results[backend] = (y.numpy(), x.grad.numpy())
            np.testing.assert_allclose(
                results["native"][0], results["numpy"][0], rtol=2e-5, atol=2e-6
            )
            np.testing.assert_allclose(
                results["native"][1], results["numpy"][1], rtol=1e-4, atol=2e-5
            )


def test_softmax_ops_record_one_fused_backward_op():
    x = tt.tensor(f32(4, 5), requires_grad=True)
    y = F.softmax(x, 1)
    assert graph_stats(y.sum()).ops == {"softmax": 1, "sum": 1}
    ys = []
    with tt.use_backend("native"):
        import tinytorch.tensor.dispatch as d

        seen = []
        handle = d.add_hook(lambda op, inputs, out: seen.append(op.name))
        try:
            F.log_softmax(x, 1).sum().backward()
        finally:
            handle.remove()
        ys.append(seen)
    assert "log_softmax_backward" in ys[0]


@pytest.mark.parametrize("op_cls", [SoftmaxBackwardOp, LogSoftmaxBackwardOp], ids=lambda c: c.name)
@pytest.mark.parametrize("axis", [0, 1])
def test_backward_ops_gradcheck(op_cls, axis):
    """The backward ops' own backward (what second order uses), against finite differences."""
    a = RNG.standard_normal((4, 5))
    yv = softmax64(a, axis) if op_cls is SoftmaxBackwardOp else log_softmax64(a, axis)
    y = tt.tensor(yv, dtype="float64", requires_grad=True)
    dy = tt.tensor(RNG.standard_normal((4, 5)), dtype="float64", requires_grad=True)
    assert gradcheck(lambda y, dy: dispatch.apply(op_cls(axis), y, dy), [y, dy])


def test_softmax_gradcheck_through_native_layout_code():
    """float64 runs the numpy reference; gradcheck the whole op pipeline for dims 0, 1, 2."""
    for dim in (0, 1, 2):
        x = tt.tensor(RNG.standard_normal((2, 3, 4)), dtype="float64", requires_grad=True)
        assert gradcheck(lambda t, d=dim: F.softmax(t, d) * F.log_softmax(t, d), [x])


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9),
    data=st.data(),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_native_equals_numpy(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(
        hnp.arrays(np.float32, shape, elements=st.floats(-50, 50, width=32, allow_nan=False))
    )
    g = np.ones(shape, np.float32)
    for fn in (F.softmax, F.log_softmax):
        r = _both_backends(lambda t, fn=fn: fn(t, dim), x, g)
        np.testing.assert_allclose(r["native"][0], r["numpy"][0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(r["native"][1], r["numpy"][1], rtol=1e-4, atol=1e-5)


# --- cross-entropy ------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]
LAYOUTS = {"NC": (12, 5), "NCd": (3, 5, 2, 3), "C": (5,)}


def _ce_case(layout, rng):
    shape = LAYOUTS[layout]
    c = shape[0] if layout == "C" else shape[1]
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    tshape = () if layout == "C" else (shape[0],) + shape[2:]
    t = rng.integers(0, c, size=tshape)
    return x, t, c


def _ce_run(fn, x_np, t, kwargs, dtype="float32", g=None):
    x = tt.tensor(x_np, dtype=dtype, requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 when every target is ignored
        loss = fn(x, tt.tensor(t), **kwargs)
        gt = np.ones(loss.shape) if g is None else g
        loss.backward(tt.tensor(gt, dtype=dtype))
    return loss.numpy(), x.grad.numpy()


CE_OPTIONS = list(
    itertools.product(
        REDUCTIONS, [False, True], [None, "present", "zero"], [0.0, 0.15, 1.0], sorted(LAYOUTS)
    )
)


@pytest.mark.parametrize("reduction,weighted,ignore,eps,layout", CE_OPTIONS, ids=str)
def test_fused_cross_entropy_matches_composed_and_torch(reduction, weighted, ignore, eps, layout):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(abs(hash((reduction, weighted, ignore, eps, layout))) % 2**32)
    x, t, c = _ce_case(layout, rng)
    t = np.array(t)
    kwargs = {"reduction": reduction, "label_smoothing": eps}
    if ignore == "present":  # the default ignore_index, on some targets
        if t.ndim:
            t.reshape(-1)[::3] = -100
    elif ignore == "zero":  # an ignore_index that is also a valid class
        kwargs["ignore_index"] = 0
    w = (rng.random(c) + 0.2).astype(np.float32) if weighted else None
    g = rng.standard_normal(t.shape).astype(np.float32) if reduction == "none" else None

    fused = _ce_run(
        F.cross_entropy, x, t, dict(kwargs, weight=None if w is None else tt.tensor(w)), g=g
    )
    composed = _ce_run(
        lambda a, b, **k: _cross_entropy_composed(
            a, b, k.pop("weight"), k.pop("ignore_index", -100), **k
        ),
        x,
        t,
        dict(kwargs, weight=None if w is None else tt.tensor(w)),
        g=g,
    )
    tx = torch.tensor(x, requires_grad=True)
    tkw = dict(kwargs, weight=None if w is None else torch.tensor(w))
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(t), **tkw)
    tl.backward(torch.ones(()) if g is None else torch.tensor(g))
    t_flat = t.reshape(-1)
    all_ignored = (t_flat == kwargs.get("ignore_index", -100)).all()
    # (With every target ignored, 'mean' is 0 / 0: the composed path's gradient is nan there,
    # the fused op's is 0 like PyTorch's.)
    for ours in (fused,) if all_ignored and reduction == "mean" else (fused, composed):
        assert ours[0].shape == tuple(tl.shape)
        np.testing.assert_allclose(ours[0], tl.detach().numpy(), rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(ours[1], tx.grad.numpy(), rtol=1e-4, atol=2e-6)
    # float64 (the fused op's numpy reference) against the composed path: same formula
    f64 = _ce_run(
        F.cross_entropy,
        x,
        t,
        dict(kwargs, weight=None if w is None else tt.tensor(w, dtype="float64")),
        "float64",
        g,
    )
    c64 = _ce_run(
        lambda a, b, **k: _cross_entropy_composed(
            a, b, k.pop("weight"), k.pop("ignore_index", -100), **k
        ),
        x,
        t,
        dict(kwargs, weight=None if w is None else tt.tensor(w, dtype="float64")),
        "float64",
        g,
    )
    np.testing.assert_allclose(f64[0], c64[0], rtol=1e-12, atol=1e-12)
    if not (all_ignored and reduction == "mean"):
        np.testing.assert_allclose(f64[1], c64[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,eps", [(False, 0.0), (True, 0.2), (False, 0.3), (True, 0.0)])
def test_fused_cross_entropy_native_equals_numpy_backend(reduction, weighted, eps):
    x, t = f32(40, 7), RNG.integers(0, 7, 40)
    t[::5] = -100
    w = tt.tensor((RNG.random(7) + 0.2).astype(np.float32)) if weighted else None
    g = f32(40, scale=1.0) if reduction == "none" else None
    out = {}
    for backend in ("native", "numpy"):
        with tt.use_backend(backend):
            out[backend] = _ce_run(
                F.cross_entropy, x, t, dict(weight=w, reduction=reduction, label_smoothing=eps), g=g
            )
    np.testing.assert_allclose(out["native"][0], out["numpy"][0], rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(out["native"][1], out["numpy"][1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "weighted,eps,ignore",
    [(False, 0.0, False), (True, 0.25, True), (False, 0.1, True), (True, 0.0, False)],
)
def test_fused_cross_entropy_gradcheck_and_second_order(reduction, weighted, eps, ignore):
    x0 = RNG.standard_normal((6, 4))
    t = RNG.integers(0, 4, 6)
    if ignore:
        t[1] = -100
    w = tt.tensor(RNG.random(4) + 0.2, dtype="float64") if weighted else None
    kw = dict(weight=w, reduction=reduction, label_smoothing=eps)

    def loss(x):
        return F.cross_entropy(x, tt.tensor(t), **kw)

    assert gradcheck(loss, [tt.tensor(x0, dtype="float64", requires_grad=True)])
    # second order: d/dx <grad(loss), v> equals the composed path's
    v = RNG.standard_normal((6, 4))
    hv = {}
    for name, fn in (
        ("fused", loss),
        ("composed", lambda x: _cross_entropy_composed(x, tt.tensor(t), w, -100, reduction, eps)),
    ):
        x = tt.tensor(x0, dtype="float64", requires_grad=True)
        out = fn(x)
        out = out.sum() if out.ndim else out
        out.backward(create_graph=True)
        gx = x.grad
        x.grad = None
        (gx * tt.tensor(v)).sum().backward()
        hv[name] = x.grad.numpy()
    np.testing.assert_allclose(hv["fused"], hv["composed"], rtol=1e-10, atol=1e-12)


def test_cross_entropy_backward_op_gradcheck():
    """CrossEntropyBackwardOp's own backward, in the logits and in the upstream gradient."""
    x = tt.tensor(RNG.standard_normal((5, 3)), dtype="float64", requires_grad=True)
    t = np.array([0, 2, -100, 1, 1])
    w = np.array([1.0, 2.0, 0.5])
    for reduction, weight, eps in (("mean", w, 0.1), ("none", None, 0.0), ("sum", w, 0.0)):

        def grad_of_loss(x, g, reduction=reduction, weight=weight, eps=eps):
            op = CrossEntropyOp(t, weight, -100, reduction, eps)
            dispatch.apply(op, x)  # the forward saves the log-sum-exp for this x
            return dispatch.apply(CrossEntropyBackwardOp(op), x, g)

        shape = (5,) if reduction == "none" else ()
        g = tt.tensor(RNG.standard_normal(shape), dtype="float64", requires_grad=True)
        assert gradcheck(grad_of_loss, [x, g])


def test_cross_entropy_routing_and_all_ignored():
    torch = pytest.importorskip("torch")
    x = tt.tensor(f32(4, 3), requires_grad=True)
    loss = F.cross_entropy(x, tt.tensor([0, 1, 2, 1]))
    assert graph_stats(loss).ops == {"cross_entropy": 1}  # one fused op
    probs = tt.tensor(softmax64(f32(4, 3)).astype(np.float32))
    assert "log_softmax" in graph_stats(F.cross_entropy(x, probs)).ops  # composed path
    w = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss_w = F.cross_entropy(x, tt.tensor([0, 1, 2, 1]), weight=w, label_smoothing=0.1)
    assert "log_softmax" in graph_stats(loss_w).ops  # a weight that needs grad: composed
    # every target ignored: mean is nan (0 / 0) and the gradient is zero, as PyTorch
    xs = f32(3, 4)
    tgt = np.array([-100, -100, -100])
    ours = _ce_run(F.cross_entropy, xs, tgt, {})
    tx = torch.tensor(xs, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(tgt))
    tl.backward()
    assert np.isnan(ours[0]) and np.isnan(tl.item())
    np.testing.assert_array_equal(ours[1], tx.grad.numpy())


def test_cross_entropy_errors_and_views():
    x = tt.tensor(f32(4, 3))
    for backend in ("native", "numpy"):
        with tt.use_backend(backend):
            with pytest.raises(
                ValueError, match=r"cross_entropy: target label 3 is out of range for 3 classes"
            ):
                F.cross_entropy(x, tt.tensor([0, 1, 3, 1]))
    with pytest.raises(
        ValueError, match=r"needs a target of shape \(4,\), got target shape \(3,\)"
    ):
        F.cross_entropy(x, tt.tensor([0, 1, 2]))
    # a transposed (non-contiguous) logits view gives the same loss and gradient as a copy
    base = f32(3, 4)
    t = np.array([0, 2, 1, 1])
    a = tt.tensor(base, requires_grad=True)
    F.cross_entropy(a.T, tt.tensor(t)).backward()
    b = tt.tensor(np.ascontiguousarray(base.T), requires_grad=True)
    F.cross_entropy(b, tt.tensor(t)).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy().T, rtol=1e-6)


# --- PyTorch parity of the softmax ops (values, gradients, double backward) --------------------


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((64, 10), 1), ((8, 4, 33), 1), ((3, 300), -1)], ids=str)
def test_softmax_torch_parity_with_double_backward(name, shape, dim):
    torch = pytest.importorskip("torch")
    x_np, w_np, v_np = f32(*shape), f32(*shape, scale=1.0), f32(*shape, scale=1.0)
    ours_fn = getattr(F, name)
    theirs_fn = getattr(torch, name)
    x = tt.tensor(x_np, requires_grad=True)
    y = ours_fn(x, dim)
    (y * tt.tensor(w_np)).sum().backward(create_graph=True)
    g1 = x.grad
    x.grad = None
    (g1 * tt.tensor(v_np)).sum().backward()
    tx = torch.tensor(x_np, requires_grad=True)
    ty = theirs_fn(tx, dim)
    (tg1,) = torch.autograd.grad((ty * torch.tensor(w_np)).sum(), tx, create_graph=True)
    (tg2,) = torch.autograd.grad((tg1 * torch.tensor(v_np)).sum(), tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g1.numpy(), tg1.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), tg2.numpy(), rtol=1e-3, atol=1e-4)
