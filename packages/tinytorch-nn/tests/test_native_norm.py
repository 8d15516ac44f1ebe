"""Native batchnorm / layernorm (csrc/norm.cpp) and the fused ops of nn.functional.normalization.

- the fast C++ kernels against their ``_naive`` twins (run path S >= 32 and column path S < 32
  for BatchNorm, odd sizes, size 1, non-contiguous inputs), with hypothesis over shapes;
- the ops on the native backend against the numpy backend, forward and backward;
- float64 gradcheck, first and second order (the double backward is written with tensor ops);
- PyTorch parity (skipped without torch), numerics with a large mean, and error messages.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import tinytorch.tensor as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from tinytorch.autograd import enable_grad, gradcheck, graph_stats
from tinytorch.nn import functional as F

_C = pytest.importorskip("tinytorch.tensor._C")

BACKENDS = ("native", "numpy")


@pytest.fixture
def rng():
    return np.random.default_rng(20240605)


def f32(rng, *shape, scale=1.0, offset=0.0):
    return (rng.standard_normal(shape) * scale + offset).astype(np.float32)


def close(a, b, rtol=1e-5, atol=1e-5, msg=""):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=msg)


# ============================================================================ C++ kernels

BN_SHAPES = [
    (64, 3, 8, 8),  # run path (S = 64)
    (3, 5, 7, 9),  # run path, S = 63 (not a multiple of the 32 lanes)
    (2, 4, 33),  # run path, S = 33
    (5, 3, 4, 4),  # column path (S = 16)
    (7, 6),  # BatchNorm1d (N, C): column path, S = 1
    (4, 3, 6),  # BatchNorm1d (N, C, L)
    (1, 2, 40),  # N = 1
    (9, 1, 5, 7),  # C = 1
    (2, 3, 1, 1),  # S = 1 from (H, W) = (1, 1)
]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_kernels_match_naive(rng, shape, affine):
    c = shape[1]
    x = f32(rng, *shape, scale=3, offset=2)
    w = rng.uniform(0.5, 2, c).astype(np.float32) if affine else None
    b = f32(rng, c) if affine else None
    fast = _C.batch_norm_forward(x, w, b, 1e-5)
    ref = _C.batch_norm_forward_naive(x, w, b, 1e-5)
    for got, want, name in zip(fast, ref, ("y", "mean", "inv_std", "var"), strict=True):
        assert got.dtype == np.float32 and got.shape == want.shape, name
        close(got, want, msg=name)
    # The statistics against float64 numpy.
    axes = (0,) + tuple(range(2, len(shape)))
    close(fast[1], x.astype(np.float64).mean(axis=axes), atol=1e-5)
    close(fast[3], x.astype(np.float64).var(axis=axes), rtol=1e-5)

    mean, inv_std = ref[1], ref[2]
    close(
        _C.batch_norm_eval(x, mean, inv_std, w, b), _C.batch_norm_eval_naive(x, mean, inv_std, w, b)
    )
    dy = f32(rng, *shape)
    for training in (True, False):
        for need_dx, need_params in ((True, True), (True, False), (False, True)):
            got = _C.batch_norm_backward(dy, x, mean, inv_std, w, training, need_dx, need_params)
            want = _C.batch_norm_backward_naive(
                dy, x, mean, inv_std, w, training, need_dx, need_params
            )
            # dx can cancel to ~0 (M = 2: both values land on +-1 whatever dy is), so its
            # tolerance is relative to the size of the terms, |dy| * |weight * inv_std|.
            dx_scale = np.abs(dy).max() * np.abs(inv_std * (1 if w is None else w)).max()
            for g, r, name in zip(got, want, ("dx", "dweight", "dbias"), strict=True):
                assert (g is None) == (r is None), name
                if r is not None:
                    scale = dx_scale if name == "dx" else np.abs(r).max() + 1e-3
                    close(g, r, rtol=1e-4, atol=1e-5 * scale, msg=f"{name} training={training}")
            assert (got[0] is None) == (not need_dx)
            assert (got[1] is None) == (not need_params)


@pytest.mark.parametrize("shape", [(33, 384), (2048 // 16, 128), (5, 7), (3, 1), (1, 65), (0, 8)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_kernels_match_naive(rng, shape, affine):
    d = shape[1]
    x = f32(rng, *shape, scale=2, offset=-1)
    w = rng.uniform(0.5, 2, d).astype(np.float32) if affine != "none" else None
    b = f32(rng, d) if affine == "both" else None
    fast = _C.layer_norm_forward(x, w, b, 1e-5)
    ref = _C.layer_norm_forward_naive(x, w, b, 1e-5)
    for got, want, name in zip(fast, ref, ("y", "mean", "rstd"), strict=True):
        assert got.shape == want.shape, name
        close(got, want, msg=name)
    dy = f32(rng, *shape)
    for need_dx, need_params in ((True, True), (True, False), (False, True)):
        got = _C.layer_norm_backward(dy, x, ref[1], ref[2], w, need_dx, need_params)
        want = _C.layer_norm_backward_naive(dy, x, ref[1], ref[2], w, need_dx, need_params)
        for g, r, name in zip(got, want, ("dx", "dweight", "dbias"), strict=True):
            assert (g is None) == (r is None), name
            if r is not None and r.size:
                close(g, r, rtol=1e-4, atol=1e-5 * (np.abs(r).max() + 1e-3), msg=name)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "kind, shape",
    [
        ("batch", (32, 8, 16, 16)),  # run path, above the 32K-element threading threshold
        ("batch", (4099, 17)),  # column path (S = 1), rows split unevenly between threads
        ("batch", (1000, 9, 5)),  # column path, S = 5
        ("layer", (1001, 97)),  # LayerNorm, blocks of 64 rows + a partial block
    ],
)
def test_kernels_threaded_match_naive(rng, kind, shape, threads):
    # The multi-threaded paths (per-thread partial sums, uneven splits) only run on inputs
    # big enough to be worth a parallel region.
    before = _C.num_threads()
    _C.set_num_threads(threads)
    try:
        x, dy = f32(rng, *shape, scale=2, offset=1), f32(rng, *shape)
        n = shape[1] if kind == "batch" else shape[-1]
        w, b = rng.uniform(0.5, 2, n).astype(np.float32), f32(rng, n)
        if kind == "batch":
            fwd, fwd_ref = _C.batch_norm_forward, _C.batch_norm_forward_naive
            bwd, bwd_ref = _C.batch_norm_backward, _C.batch_norm_backward_naive
        else:
            fwd, fwd_ref = _C.layer_norm_forward, _C.layer_norm_forward_naive
            bwd, bwd_ref = _C.layer_norm_backward, _C.layer_norm_backward_naive
        got, ref = fwd(x, w, b), fwd_ref(x, w, b)
        for g, r in zip(got, ref, strict=True):
            close(g, r, rtol=1e-5, atol=1e-5)
        stats = ref[1:3]
        for g, r in zip(bwd(dy, x, *stats, w), bwd_ref(dy, x, *stats, w), strict=True):
            close(g, r, rtol=1e-4, atol=1e-5 * np.abs(r).max())
    finally:
        _C.set_num_threads(before)


def test_layer_norm_kernels_normalized_ndim(rng):
    # x (2, 3, 4, 5) over its last 2 dims is the same as (6, 20) over rows; results keep x's shape.
    x, dy = f32(rng, 2, 3, 4, 5), f32(rng, 2, 3, 4, 5)
    w = rng.uniform(0.5, 2, 20).astype(np.float32)
    y, mean, rstd = _C.layer_norm_forward(x, w, None, 1e-5, 2)
    y2, mean2, rstd2 = _C.layer_norm_forward_naive(x.reshape(6, 20), w, None, 1e-5)
    assert y.shape == x.shape and mean.shape == rstd.shape == (6,)
    close(y.reshape(6, 20), y2)
    close(mean, mean2)
    close(rstd, rstd2)
    dx, dw, db = _C.layer_norm_backward(dy, x, mean, rstd, w, normalized_ndim=2)
    ref = _C.layer_norm_backward_naive(dy.reshape(6, 20), x.reshape(6, 20), mean, rstd, w)
    assert dx.shape == x.shape and dw.shape == db.shape == (20,)
    for got, want in zip((dx.reshape(6, 20), dw, db), ref, strict=True):
        close(got, want, rtol=1e-4, atol=1e-5)


def test_kernels_take_non_contiguous_inputs(rng):
    # A transposed view and a sliced view are copied to the layout the kernel wants.
    x = f32(rng, 8, 16, 5, 6).transpose(1, 0, 2, 3)  # (16, 8, 5, 6), not contiguous
    assert not x.flags.c_contiguous
    for got, want in zip(
        _C.batch_norm_forward(x), _C.batch_norm_forward_naive(np.ascontiguousarray(x)), strict=True
    ):
        close(got, want)
    xs = f32(rng, 10, 70)[:, ::2]  # (10, 35) with a column stride of 2
    for got, want in zip(
        _C.layer_norm_forward(xs), _C.layer_norm_forward_naive(xs.copy()), strict=True
    ):
        close(got, want)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 9),
    c=st.integers(1, 6),
    s=st.sampled_from([1, 2, 5, 31, 32, 33, 70]),
    seed=st.integers(0, 2**16),
)
def test_batch_norm_kernels_property(n, c, s, seed):
    rng = np.random.default_rng(seed)
    x = f32(rng, n, c, s, scale=rng.uniform(0.1, 10), offset=rng.uniform(-5, 5))
    dy = f32(rng, n, c, s)
    w = rng.uniform(-2, 2, c).astype(np.float32)
    fast, ref = _C.batch_norm_forward(x, w, None), _C.batch_norm_forward_naive(x, w, None)
    for got, want in zip(fast, ref, strict=True):
        close(got, want, rtol=1e-4, atol=1e-4)
    got = _C.batch_norm_backward(dy, x, ref[1], ref[2], w)
    want = _C.batch_norm_backward_naive(dy, x, ref[1], ref[2], w)
    for g, r in zip(got, want, strict=True):
        close(g, r, rtol=1e-3, atol=1e-4 * (np.abs(r).max() + 1))


@settings(max_examples=40, deadline=None)
@given(r=st.integers(1, 70), d=st.integers(1, 100), seed=st.integers(0, 2**16))
def test_layer_norm_kernels_property(r, d, seed):
    rng = np.random.default_rng(seed)
    x = f32(rng, r, d, scale=rng.uniform(0.1, 10), offset=rng.uniform(-5, 5))
    dy = f32(rng, r, d)
    w = rng.uniform(-2, 2, d).astype(np.float32)
    fast, ref = _C.layer_norm_forward(x, w, None), _C.layer_norm_forward_naive(x, w, None)
    for got, want in zip(fast, ref, strict=True):
        close(got, want, rtol=1e-4, atol=1e-4)
    got = _C.layer_norm_backward(dy, x, ref[1], ref[2], w)
    want = _C.layer_norm_backward_naive(dy, x, ref[1], ref[2], w)
    for g, rr in zip(got, want, strict=True):
        close(g, rr, rtol=1e-3, atol=1e-4 * (np.abs(rr).max() + 1))


def test_statistics_survive_a_large_mean(rng):
    # mean 1e4, std 1: E[x^2] - E[x]^2 in float32 would lose every digit of the variance.
    for shape in [(16, 4, 8, 8), (64, 3)]:
        x = f32(rng, *shape, offset=1e4)
        axes = (0,) + tuple(range(2, len(shape)))
        x64 = x.astype(np.float64)
        _, mean, inv_std, var = _C.batch_norm_forward(x)
        close(mean, x64.mean(axis=axes), rtol=1e-6, atol=0)
        close(var, x64.var(axis=axes), rtol=1e-4, atol=0)
    x = f32(rng, 16, 300, offset=1e4)
    y, mean, rstd = _C.layer_norm_forward(x)
    x64 = x.astype(np.float64)
    close(rstd, 1 / np.sqrt(x64.var(axis=1) + 1e-5), rtol=1e-4, atol=0)
    close(y, (x64 - x64.mean(1, keepdims=True)) * rstd[:, None], rtol=0, atol=2e-3)


def test_kernel_errors_name_op_and_shapes(rng):
    x = f32(rng, 4, 3, 5)
    with pytest.raises(
        ValueError,
        match=r"batch_norm_forward: expected x of shape \(N, C, \.\.\.\), got shape \(4,\)",
    ):
        _C.batch_norm_forward(f32(rng, 4))
    with pytest.raises(
        ValueError,
        match=r"batch_norm_forward: expected weight of shape \(3,\) for x of shape \(4, 3, 5\), "
        r"got shape \(4,\)",
    ):
        _C.batch_norm_forward(x, np.ones(4, np.float32))
    with pytest.raises(
        ValueError,
        match=r"batch_norm_backward: dy of shape \(4, 3, 6\) does not match x of shape \(4, 3, 5\)",
    ):
        _C.batch_norm_backward(
            f32(rng, 4, 3, 6), x, np.zeros(3, np.float32), np.ones(3, np.float32)
        )
    with pytest.raises(ValueError, match=r"batch_norm_eval: expected inv_std of shape \(3,\)"):
        _C.batch_norm_eval(x, np.zeros(3, np.float32), np.ones(2, np.float32))
    with pytest.raises(
        ValueError,
        match=r"layer_norm_forward: expected x with at least normalized_ndim = 4 >= 1 dims, "
        r"got shape \(4, 3, 5\)",
    ):
        _C.layer_norm_forward(x, normalized_ndim=4)
    with pytest.raises(ValueError, match=r"layer_norm_backward: expected rstd of shape \(4,\)"):
        _C.layer_norm_backward(
            f32(rng, 4, 3), f32(rng, 4, 3), np.zeros(4, np.float32), np.ones(3, np.float32)
        )
    with pytest.raises(ValueError, match=r"batch_norm_forward: no values per channel"):
        _C.batch_norm_forward(np.zeros((0, 3), np.float32))


# ============================================================================ ops: native vs numpy


def _run(fn, arrays, dy, backend):
    """fn(*tensors) forward and backward on ``backend``; returns y and every input's grad."""
    with tt.use_backend(backend):
        ts = [None if a is None else tt.tensor(a, requires_grad=True) for a in arrays]
        y = fn(*ts)
        y.backward(tt.tensor(dy))
        return y.numpy(), [None if t is None else t.grad.numpy() for t in ts]


def _compare_backends(fn, arrays, dy, rtol=1e-4, atol=1e-5):
    y_n, g_n = _run(fn, arrays, dy, "native")
    y_p, g_p = _run(fn, arrays, dy, "numpy")
    close(y_n, y_p, rtol=rtol, atol=atol, msg="y")
    for i, (a, b) in enumerate(zip(g_n, g_p, strict=True)):
        if b is not None:
            close(a, b, rtol=rtol, atol=atol * (np.abs(b).max() + 1), msg=f"grad of input {i}")


@pytest.mark.parametrize("shape", [(6, 4, 8, 8), (5, 3, 3, 3), (7, 5), (4, 3, 6), (2, 1, 33)])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_native_matches_numpy(rng, shape, affine, training):
    c = shape[1]
    x = f32(rng, *shape, scale=2, offset=1)
    w = rng.uniform(0.5, 2, c).astype(np.float32) if affine in ("both", "weight") else None
    b = f32(rng, c) if affine in ("both", "bias") else None
    rm, rv = f32(rng, c), rng.uniform(0.5, 2, c).astype(np.float32)

    def fn(x, w, b):
        return F.batch_norm(x, tt.tensor(rm), tt.tensor(rv), w, b, training=training)

    _compare_backends(fn, [x, w, b], f32(rng, *shape))


@pytest.mark.parametrize(
    "normalized_shape, shape", [(16, (4, 16)), ((3, 5), (2, 4, 3, 5)), (7, (7,)), (1, (3, 1))]
)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_native_matches_numpy(rng, normalized_shape, shape, affine):
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = f32(rng, *shape, scale=2, offset=1)
    w = rng.uniform(0.5, 2, ns).astype(np.float32) if affine != "none" else None
    b = f32(rng, *ns) if affine == "both" else None
    _compare_backends(lambda x, w, b: F.layer_norm(x, ns, w, b), [x, w, b], f32(rng, *shape))


def test_ops_take_views(rng):
    # Transposed (channels-last storage) and sliced inputs give the result of a contiguous copy.
    base = f32(rng, 6, 9, 9, 4)
    for backend in BACKENDS:
        with tt.use_backend(backend):
            xt = tt.tensor(base).permute(0, 3, 1, 2)  # (6, 4, 9, 9), a view
            assert not xt.is_contiguous()
            y = F.batch_norm(xt, None, None, training=True)
            close(y.numpy(), F.batch_norm(xt.contiguous(), None, None, training=True).numpy())
            xs = tt.tensor(base)[:, ::2, 0, :]  # (6, 5, 4) sliced
            y = F.layer_norm(xs, 4)
            close(y.numpy(), F.layer_norm(xs.contiguous(), 4).numpy())


def test_one_node_and_small_saved_state(rng):
    # One node per call, saving per-channel statistics (C,), never an x_hat of x's size.
    x = tt.tensor(f32(rng, 8, 4, 6, 6), requires_grad=True)
    w, b = tt.ones(4, requires_grad=True), tt.zeros(4, requires_grad=True)
    y = F.batch_norm(x, None, None, w, b, training=True)
    stats = graph_stats(y.sum())
    assert stats.ops == {"batch_norm": 1, "sum": 1}
    op = y._node.op
    assert op.stats.mean.shape == op.stats.inv_std.shape == (4,)
    assert not any(isinstance(v, np.ndarray) and v.size >= x.size for v in vars(op).values())
    z = F.layer_norm(x, (6, 6))
    assert graph_stats(z.sum()).ops == {"layer_norm": 1, "sum": 1}
    assert z._node.op.stats.mean.shape == (32,)


def test_native_path_is_taken_for_float32_only(rng):
    from tinytorch.nn.functional.normalization import BatchNormOp, LayerNormOp

    x = f32(rng, 4, 3, 5)
    assert BatchNormOp(x.shape, 1e-5, True, False, False).native(x) is not None
    assert BatchNormOp(x.shape, 1e-5, True, False, False).native(x.astype(np.float64)) is None
    assert LayerNormOp(x.shape, 1, 1e-5, False, False).native(x) is not None
    assert LayerNormOp(x.shape, 1, 1e-5, False, False).native(x.astype(np.float64)) is None


@pytest.mark.parametrize(
    "module, cls, shape, name",
    [
        ("tinytorch.nn", "BatchNorm1d", (4, 3), "batch_norm"),
        ("tinytorch.nn", "BatchNorm2d", (2, 3, 4, 4), "batch_norm"),
        ("tinytorch.nn", "LayerNorm", (2, 3, 3), "layer_norm"),
        ("tinytorch.core.spatial", "BatchNorm2d", (2, 3, 4, 4), "batch_norm"),  # seed aliases
        ("tinytorch.core.layers", "LayerNorm", (2, 3), "layer_norm"),
    ],
)
def test_layers_and_seed_aliases_use_the_fused_ops(rng, module, cls, shape, name):
    layer = getattr(importlib.import_module(module), cls)(3)
    y = layer(tt.tensor(f32(rng, *shape), requires_grad=True))
    assert graph_stats(y.sum()).ops == {name: 1, "sum": 1}
    layer.eval()
    assert graph_stats(layer(tt.tensor(f32(rng, *shape), requires_grad=True)).sum()).ops == {
        name: 1,
        "sum": 1,
    }


def test_backward_skips_unneeded_gradients(rng):
    x = tt.tensor(f32(rng, 5, 3, 4, 4))  # no grad
    w = tt.ones(3, requires_grad=True)
    F.batch_norm(x, None, None, w, tt.zeros(3), training=True).sum().backward()
    assert x.grad is None and w.grad is not None
    x = tt.tensor(f32(rng, 5, 3, 4, 4), requires_grad=True)
    w = tt.ones(3)
    F.batch_norm(x, None, None, w, None, training=True).sum().backward()
    assert x.grad is not None and w.grad is None
    close(x.grad.numpy(), 0, atol=1e-5)  # d(sum of a normalised channel)/dx = 0


# ============================================================================ gradcheck (float64)


def leaf(rng, *shape, scale=1.0):
    return tt.tensor(rng.standard_normal(shape) * scale, dtype="float64", requires_grad=True)


@pytest.mark.parametrize("shape", [(4, 3, 2, 3), (5, 2), (3, 2, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(rng, shape, training):
    c = shape[1]
    x, w, b = leaf(rng, *shape), leaf(rng, c), leaf(rng, c)
    rm = tt.tensor(rng.standard_normal(c), dtype="float64")
    rv = tt.tensor(rng.uniform(0.5, 2, c), dtype="float64")
    assert gradcheck(
        lambda x, w, b: (
            F.batch_norm(x, rm, rv, w, b, training=False)
            if not training
            else F.batch_norm(x, None, None, w, b, training=True)
        ),
        [x, w, b],
    )


@pytest.mark.parametrize("normalized_shape, shape", [(4, (3, 4)), ((2, 3), (2, 2, 3))])
def test_layer_norm_gradcheck(rng, normalized_shape, shape):
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x, w, b = leaf(rng, *shape), leaf(rng, *ns), leaf(rng, *ns)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, ns, w, b), [x, w, b])


def _first_order(fn, inputs, which):
    """A function of ``inputs`` (x, weight, bias, dy) returning d<fn(x, w, b), dy>/d(input
    ``which``), computed by autograd with create_graph=True so that it can be differentiated
    again. Fresh zero leaves added to x, w, b collect the gradients, and the inputs' own .grad
    is restored afterwards, so gradcheck's bookkeeping is untouched."""

    def g(*ins):
        saved = [t.grad for t in ins]
        with enable_grad():
            leaves = [
                None if t is None else tt.zeros(t.shape, dtype="float64", requires_grad=True)
                for t in ins[:3]
            ]
            args = [None if t is None else t + z for t, z in zip(ins[:3], leaves, strict=True)]
            (fn(*args) * ins[3]).sum().backward(create_graph=True)
        for t, s in zip(ins, saved, strict=True):
            t.grad = s
        return leaves[which].grad

    return g


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2, 2, 2), (4, 2)])
def test_batch_norm_second_order(rng, which, training, shape):
    c = shape[1]
    x, w, b, dy = leaf(rng, *shape), leaf(rng, c), leaf(rng, c), leaf(rng, *shape)
    rm = tt.tensor(rng.standard_normal(c), dtype="float64")
    rv = tt.tensor(rng.uniform(0.5, 2, c), dtype="float64")

    def fn(x, w, b):
        if training:
            return F.batch_norm(x, None, None, w, b, training=True)
        return F.batch_norm(x, rm, rv, w, b, training=False)

    g = _first_order(fn, [x, w, b, dy], which)
    inputs = [x, w, b, dy]
    if which == 2:  # dbias = sum(dy): depends on dy only
        inputs = [x.detach(), w.detach(), b.detach(), dy]
    assert gradcheck(g, inputs, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_layer_norm_second_order(rng, which):
    x, w, b, dy = leaf(rng, 3, 5), leaf(rng, 5), leaf(rng, 5), leaf(rng, 3, 5)
    inputs = [x, w, b, dy]
    if which == 2:
        inputs = [x.detach(), w.detach(), b.detach(), dy]
    assert gradcheck(_first_order(lambda x, w, b: F.layer_norm(x, 5, w, b), inputs, which), inputs)


def test_batch_norm_second_order_without_weight(rng):
    x, dy = leaf(rng, 3, 2, 3), leaf(rng, 3, 2, 3)

    def g(x, dy):
        saved = x.grad, dy.grad
        with enable_grad():
            z = tt.zeros(x.shape, dtype="float64", requires_grad=True)
            (F.batch_norm(x + z, None, None, training=True) * dy).sum().backward(create_graph=True)
        x.grad, dy.grad = saved
        return z.grad

    assert gradcheck(g, [x, dy])


def test_third_order_runs(rng):
    # The double backward is made of tensor ops, so it can be differentiated once more.
    x = leaf(rng, 4, 3)
    with enable_grad():
        y = (F.batch_norm(x, None, None, training=True) ** 3).sum()
        y.backward(create_graph=True)
        g1 = x.grad
        x.grad = None
        (g1**2).sum().backward(create_graph=True)
        g2 = x.grad
        x.grad = None
        g2.sum().backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


# ============================================================================ PyTorch parity


@pytest.mark.parametrize("shape", [(16, 8, 12, 12), (32, 6), (8, 4, 5), (4, 3, 40, 40)])
def test_batch_norm_matches_torch(rng, shape):
    torch = pytest.importorskip("torch")
    c = shape[1]
    x, dy = f32(rng, *shape, scale=2, offset=3), f32(rng, *shape)
    w, b = rng.uniform(0.5, 2, c).astype(np.float32), f32(rng, c)
    rm, rv = tt.zeros(c), tt.ones(c)
    trm, trv = torch.zeros(c), torch.ones(c)
    xt, wt, bt = (tt.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.batch_norm(xt, rm, rv, wt, bt, training=True, momentum=0.1)
    y.backward(tt.tensor(dy))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.1)
    ty.backward(torch.tensor(dy))
    close(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    close(rm.numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
    close(rv.numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)
    for ours, theirs, name in ((xt, tx, "x"), (wt, tw, "weight"), (bt, tb, "bias")):
        ref = theirs.grad.numpy()
        close(ours.grad.numpy(), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(), msg=name)


@pytest.mark.parametrize(
    "shape, ns", [((64, 128), (128,)), ((4, 33, 96), (96,)), ((2, 3, 4, 5), (4, 5))]
)
def test_layer_norm_matches_torch(rng, shape, ns):
    torch = pytest.importorskip("torch")
    x, dy = f32(rng, *shape, scale=2, offset=3), f32(rng, *shape)
    w, b = rng.uniform(0.5, 2, ns).astype(np.float32), f32(rng, *ns)
    xt, wt, bt = (tt.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.layer_norm(xt, ns, wt, bt)
    y.backward(tt.tensor(dy))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.layer_norm(tx, ns, tw, tb)
    ty.backward(torch.tensor(dy))
    close(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    for ours, theirs, name in ((xt, tx, "x"), (wt, tw, "weight"), (bt, tb, "bias")):
        ref = theirs.grad.numpy()
        close(ours.grad.numpy(), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(), msg=name)


# ============================================================================ errors


def test_functional_errors_name_op_and_shapes():
    with pytest.raises(
        ValueError,
        match=r"batch_norm: weight of shape \(4,\) does not match the 3 channels of input "
        r"shape \(2, 3, 5\)",
    ):
        F.batch_norm(tt.zeros(2, 3, 5), None, None, tt.ones(4), training=True)
    with pytest.raises(
        ValueError, match=r"layer_norm: bias of shape \(3,\) does not match normalized_shape \(4,\)"
    ):
        F.layer_norm(tt.zeros(2, 4), 4, tt.ones(4), tt.zeros(3))
    with pytest.raises(
        ValueError,
        match=r"layer_norm: input of shape \(2, 4\) does not end with normalized_shape \(5,\)",
    ):
        F.layer_norm(tt.zeros(2, 4), 5)
