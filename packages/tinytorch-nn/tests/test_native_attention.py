"""Fused attention: C++ kernels vs their naive references, numpy, the composed path, PyTorch.

The kernels (``csrc/attention.cpp``) run once per ISA this CPU has, with the default blocks and
with small blocks (so that small shapes cross many block and causal-diagonal boundaries), on
strided views, odd sizes and size 1. Then the op level: native vs numpy backend, fused vs
composed, float64 gradcheck, gradients of gradients, errors, and the memory the fused path saves.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from tinytorch.autograd import gradcheck, graph_stats
from tinytorch.nn import MultiHeadAttention
from tinytorch.nn.functional.attention import (
    FusedAttention,
    FusedAttentionBackward,
    _composed,
    scaled_dot_product_attention,
)
from tinytorch.tensor import dispatch

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


@pytest.fixture(params=["default", "small"])
def blocks(request):
    """Default 64 x 64 tiles, or small unequal ones (many tiles, diagonals inside tiles)."""
    if request.param == "small":
        _C._set_attention_blocks(9, 16)
    try:
        yield request.param
    finally:
        _C._set_attention_blocks(0, 0)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def layout(x: np.ndarray, kind: str) -> np.ndarray:
    """The same values as ``x`` (B, H, L, E) in another memory layout."""
    if kind == "contiguous":
        return x
    if kind == "heads_last":  # what multi-head attention makes: (B, L, H, E) transposed
        return np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    if kind == "sliced":  # every other element of a wider last dimension
        wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), np.float32)
        wide[..., ::2] = x
        return wide[..., ::2]
    if kind == "e_major":  # the last two dims stored transposed
        return np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)
    raise ValueError(kind)


def ref_forward(q, k, v, causal, scale):
    """float64 softmax(scale q k^T [causal]) v and the log-sum-exp, materialised."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    s = q @ k.swapaxes(-1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.exp(s - m)
    total = e.sum(-1, keepdims=True)
    return (e / total) @ v, (m + np.log(total))[..., 0]


def assert_close(a, b, scale=1.0, msg=""):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5 * scale, err_msg=msg)


SHAPES = [  # B, H, T, S, D, Dv
    (1, 1, 1, 1, 1, 1),
    (2, 3, 5, 7, 4, 3),
    (1, 2, 33, 33, 8, 8),
    (2, 1, 71, 40, 16, 5),  # T > S: the last queries see every key
    (1, 2, 40, 129, 32, 17),  # T < S
    (1, 1, 130, 130, 64, 64),
    (1, 1, 67, 67, 33, 70),  # D, Dv not multiples of anything
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("causal", [False, True])
def test_fast_matches_naive_and_float64(isa, blocks, shape, causal):
    b, h, t, s, d, dv = shape
    rng = np.random.default_rng(hash((shape, causal)) % 2**32)
    q, k, v = f32(rng, b, h, t, d), f32(rng, b, h, s, d), f32(rng, b, h, s, dv)
    scale = 1 / math.sqrt(d)
    out, lse = _C.attention_forward(q, k, v, causal)
    out_n, lse_n = _C.attention_forward_naive(q, k, v, causal)
    ref_out, ref_lse = ref_forward(q, k, v, causal, scale)
    assert out.shape == (b, h, t, dv) and lse.shape == (b, h, t)
    assert out.dtype == lse.dtype == np.float32 and out.flags.c_contiguous
    assert_close(out, ref_out, msg="fast out")
    assert_close(out_n, ref_out, msg="naive out")
    assert_close(lse, ref_lse, scale=math.sqrt(d), msg="fast lse")
    assert_close(lse_n, ref_lse, scale=math.sqrt(d), msg="naive lse")

    g = f32(rng, b, h, t, dv)
    grads = _C.attention_backward(q, k, v, out, lse, g, causal)
    grads_n = _C.attention_backward_naive(q, k, v, out, lse, g, causal)
    for name, a, e, x in zip("qkv", grads, grads_n, (q, k, v), strict=True):
        assert a.shape == x.shape and a.dtype == np.float32, name
        assert_close(a, e, scale=math.sqrt(t), msg=f"d{name}")
    # The three gradients are views of one buffer (what FusedAttentionBackward returns).
    assert grads[0].base is grads[1].base is grads[2].base


@pytest.mark.parametrize("kind", ["heads_last", "sliced", "e_major"])
@pytest.mark.parametrize("causal", [False, True])
def test_strided_inputs_are_read_in_place(isa, kind, causal):
    rng = np.random.default_rng(7)
    q, k, v = f32(rng, 2, 3, 45, 12), f32(rng, 2, 3, 45, 12), f32(rng, 2, 3, 45, 12)
    g = f32(rng, 2, 3, 45, 12)
    out, lse = _C.attention_forward(q, k, v, causal, 0.3)
    ql, kl, vl, gl = (layout(x, kind) for x in (q, k, v, g))
    assert not ql.flags.c_contiguous
    out2, lse2 = _C.attention_forward(ql, kl, vl, causal, 0.3)
    assert_close(out2, out)
    assert_close(lse2, lse)
    ref = _C.attention_backward(q, k, v, out, lse, g, causal, 0.3)
    got = _C.attention_backward(ql, kl, vl, layout(out, kind), lse, gl, causal, 0.3)
    for a, e in zip(got, ref, strict=True):
        assert_close(a, e, scale=4)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_thread_counts_agree(threads):
    """Few (b, h) pairs and more threads than that: the backward splits key blocks and sums dq."""
    rng = np.random.default_rng(3)
    q, k, v, g = (f32(rng, 1, 1, 300, 32) for _ in range(4))
    before = _C.num_threads()
    try:
        _C.set_num_threads(1)
        out1, lse1 = _C.attention_forward(q, k, v, True)
        ref = _C.attention_backward(q, k, v, out1, lse1, g, True)
        _C.set_num_threads(threads)
        out, lse = _C.attention_forward(q, k, v, True)
        got = _C.attention_backward(q, k, v, out, lse, g, True)
    finally:
        _C.set_num_threads(before)
    np.testing.assert_array_equal(out, out1)  # forward items are independent: bitwise
    for a, e in zip(got, ref, strict=True):
        assert_close(a, e, scale=4)


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 2),
    h=st.integers(1, 3),
    t=st.integers(1, 90),
    s=st.integers(1, 90),
    d=st.integers(1, 40),
    dv=st.integers(1, 40),
    causal=st.booleans(),
    kind=st.sampled_from(["contiguous", "heads_last", "sliced", "e_major"]),
    scale=st.sampled_from([None, 0.05, 1.0, -0.5]),
    seed=st.integers(0, 2**31 - 1),
)
def test_hypothesis_fast_vs_naive(b, h, t, s, d, dv, causal, kind, scale, seed):
    rng = np.random.default_rng(seed)
    q, k, v = f32(rng, b, h, t, d), f32(rng, b, h, s, d), f32(rng, b, h, s, dv)
    g = f32(rng, b, h, t, dv)
    q, k, v, g = (layout(x, kind) for x in (q, k, v, g))
    out, lse = _C.attention_forward(q, k, v, causal, scale)
    out_n, lse_n = _C.attention_forward_naive(q, k, v, causal, scale)
    assert_close(out, out_n)
    assert_close(lse, lse_n, scale=math.sqrt(d))
    got = _C.attention_backward(q, k, v, out, lse, g, causal, scale)
    ref = _C.attention_backward_naive(q, k, v, out_n, lse_n, g, causal, scale)
    for a, e in zip(got, ref, strict=True):
        assert_close(a, e, scale=math.sqrt(max(t, s)))


def test_kernel_errors_name_the_op_and_shapes():
    z = np.zeros((2, 3, 4, 8), np.float32)
    with pytest.raises(
        ValueError,
        match=r"attention_forward: q \(2, 3, 4, 8\), k \(2, 3, 5, 6\) "
        r"and v \(2, 3, 5, 8\) do not fit",
    ):
        _C.attention_forward(
            z, np.zeros((2, 3, 5, 6), np.float32), np.zeros((2, 3, 5, 8), np.float32)
        )
    with pytest.raises(ValueError, match=r"attention_forward_naive: q .* do not fit"):
        _C.attention_forward_naive(z, z, np.zeros((2, 3, 5, 8), np.float32))
    with pytest.raises(
        TypeError, match="attention_forward: expected float32 arrays, got float64 for k"
    ):
        _C.attention_forward(z, z.astype(np.float64), z)
    with pytest.raises(
        ValueError, match=r"expected q of shape \(B, H, L, E\), got shape \(3, 4, 8\)"
    ):
        _C.attention_forward(z[0], z[0], z[0])
    with pytest.raises(ValueError, match=r"no keys \(S = 0\)"):
        _C.attention_forward(z, z[:, :, :0], z[:, :, :0])
    with pytest.raises(ValueError, match="negative multiples|non-negative multiples"):
        _C.attention_forward(z[:, :, ::-1], z, z)
    out, lse = _C.attention_forward(z, z, z)
    with pytest.raises(
        ValueError, match=r"attention_backward: lse has shape \(2, 3\), expected \(2, 3, 4\)"
    ):
        _C.attention_backward(z, z, z, out, lse[..., 0], z)
    with pytest.raises(ValueError, match=r"attention_backward: grad_out has shape \(2, 3, 4, 7\)"):
        _C.attention_backward(z, z, z, out, lse, np.zeros((2, 3, 4, 7), np.float32))


def test_config_and_block_override():
    assert _C.attention_config() == {"br": 64, "bc": 64, "isa": _C.isa()}
    try:
        _C._set_attention_blocks(10, 20)
        assert _C.attention_config()["br"] == 10 and _C.attention_config()["bc"] == 20
    finally:
        _C._set_attention_blocks(0, 0)
    assert _C.attention_config()["br"] == 64
    with pytest.raises(ValueError, match=">= 0"):
        _C._set_attention_blocks(-1, 0)


# --- the op and scaled_dot_product_attention ------------------------------------------------------


def qkv(rng, shape=(2, 3, 20, 20, 8, 8), dtype="float32", grad=True):
    b, h, t, s, d, dv = shape
    return [
        tt.tensor(rng.standard_normal(sh), dtype=dtype, requires_grad=grad)
        for sh in ((b, h, t, d), (b, h, s, d), (b, h, s, dv))
    ]


def ops_used(fn):
    names = []
    handle = dispatch.add_hook(lambda op, inputs, out: names.append(op.name))
    try:
        fn()
    finally:
        handle.remove()
    return names


def run(fn, q, k, v, seed=0):
    """fn's output and the gradients of a fixed random weighting of it."""
    for x in (q, k, v):
        x.grad = None
    out = fn(q, k, v)
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * tt.tensor(w, dtype=out.dtype)).sum().backward()
    return out.data, [x.grad.data for x in (q, k, v)]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 20, 20, 8, 8), (1, 2, 9, 31, 5, 3), (3, 1, 1, 1, 4, 4)])
def test_native_matches_numpy_backend(causal, shape):
    rng = np.random.default_rng(11)
    q, k, v = qkv(rng, shape)

    def fn(q, k, v):
        return scaled_dot_product_attention(q, k, v, is_causal=causal)

    assert "fused_attention" in ops_used(lambda: fn(q, k, v))
    out_n, grads_n = run(fn, q, k, v)
    with tt.use_backend("numpy"):
        out_p, grads_p = run(fn, q, k, v)
    assert_close(out_n, out_p)
    for a, e in zip(grads_n, grads_p, strict=True):
        assert_close(a, e, scale=2)


@pytest.mark.parametrize("causal", [False, True])
def test_fused_matches_composed_with_views_and_3d(causal):
    rng = np.random.default_rng(12)
    # (B, T, H, D) made by a projection, viewed as (B, H, T, D): non-contiguous, as in MHA.
    base = [
        tt.tensor(rng.standard_normal((2, 17, 3, 8)), dtype="float32", requires_grad=True)
        for _ in range(3)
    ]

    def fused(a, b, c):
        return scaled_dot_product_attention(
            a.transpose(1, 2), b.transpose(1, 2), c.transpose(1, 2), is_causal=causal
        )

    def composed(a, b, c):
        return _composed(
            a.transpose(1, 2),
            b.transpose(1, 2),
            c.transpose(1, 2),
            None,
            causal,
            0.0,
            1 / math.sqrt(8),
            False,
            None,
        )

    out_f, grads_f = run(fused, *base)
    out_c, grads_c = run(composed, *base)
    assert_close(out_f, out_c)
    for a, e in zip(grads_f, grads_c, strict=True):
        assert_close(a, e, scale=2)
    # (B, T, D) inputs take the fused path too.
    q3, k3, v3 = (
        tt.tensor(rng.standard_normal((2, 11, 6)), dtype="float32", requires_grad=True)
        for _ in range(3)
    )
    assert "fused_attention" in ops_used(
        lambda: scaled_dot_product_attention(q3, k3, v3, is_causal=causal)
    )
    out_f, grads_f = run(lambda *x: scaled_dot_product_attention(*x, is_causal=causal), q3, k3, v3)
    out_c, grads_c = run(
        lambda *x: _composed(*x, None, causal, 0.0, 1 / math.sqrt(6), False, None), q3, k3, v3
    )
    assert_close(out_f, out_c)
    for a, e in zip(grads_f, grads_c, strict=True):
        assert_close(a, e, scale=2)


def test_which_path_runs():
    rng = np.random.default_rng(13)
    q, k, v = qkv(rng)

    def fused(**kw):
        return "fused_attention" in ops_used(lambda: scaled_dot_product_attention(q, k, v, **kw))

    assert fused() and fused(is_causal=True) and fused(scale=0.3)
    assert not fused(mask=tt.ones(20, 20, dtype="bool"))
    assert not fused(dropout_p=0.1)
    assert not fused(return_weights=True)
    q64, k64, v64 = qkv(rng, dtype="float64")
    assert "fused_attention" not in ops_used(lambda: scaled_dot_product_attention(q64, k64, v64))
    # Broadcast batch dimensions (one k, v for every head) stay composed.
    k1, v1 = k[:, :1], v[:, :1]
    assert "fused_attention" not in ops_used(lambda: scaled_dot_product_attention(q, k1, v1))


def test_mha_uses_the_fused_path_unless_weights_are_wanted():
    mha = MultiHeadAttention(16, 4)
    x = tt.randn(2, 9, 16)
    assert "fused_attention" in ops_used(lambda: mha(x, is_causal=True))
    assert "fused_attention" not in ops_used(lambda: mha(x, is_causal=True, return_weights=True))
    out, w = mha(x, is_causal=True, return_weights=True)
    np.testing.assert_allclose(mha(x, is_causal=True).data, out.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 2, 4, 5, 3, 2), (1, 1, 6, 3, 2, 3)])
def test_gradcheck_float64(causal, shape):
    """The op itself in float64 (its numpy forward and backward): finite differences agree."""
    rng = np.random.default_rng(14)
    q, k, v = qkv(rng, shape, dtype="float64")
    assert gradcheck(
        lambda q, k, v: dispatch.apply(FusedAttention(causal, 0.7), q, k, v), [q, k, v]
    )
    q3, k3, v3 = (x[0] for x in (q, k, v))  # (H, T, D) read as (B, T, D)
    q3, k3, v3 = (tt.tensor(x.data, dtype="float64", requires_grad=True) for x in (q3, k3, v3))
    assert gradcheck(
        lambda q, k, v: dispatch.apply(FusedAttention(causal, 0.7), q, k, v), [q3, k3, v3]
    )


def test_gradients_of_gradients_go_through_the_composed_form():
    rng = np.random.default_rng(15)
    q, k, v = qkv(rng, (1, 2, 5, 5, 3, 3), dtype="float64")

    def grad_norm(attn):
        for x in (q, k, v):
            x.grad = None
        attn(q, k, v).sum().backward(create_graph=True)
        total = (q.grad * q.grad).sum() + (k.grad * v.grad).sum()
        for x in (q, k, v):
            x.grad = None
        total.backward()
        return [x.grad.data.copy() for x in (q, k, v)]

    fused = grad_norm(lambda *x: dispatch.apply(FusedAttention(True, 0.5), *x))
    composed = grad_norm(lambda *x: _composed(*x, None, True, 0.0, 0.5, False, None))
    for a, e in zip(fused, composed, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


def test_backward_op_has_no_backward_of_its_own():
    op = FusedAttentionBackward(False, 1.0, np.zeros((1, 1, 2)))
    with pytest.raises(RuntimeError, match="fused_attention_backward: not differentiable"):
        op.backward((), None, None)


def test_fused_graph_saves_no_score_matrix():
    rng = np.random.default_rng(16)
    q, k, v = qkv(rng, (2, 2, 64, 64, 8, 8))
    fused = graph_stats(scaled_dot_product_attention(q, k, v, is_causal=True).sum())
    composed = graph_stats(_composed(q, k, v, None, True, 0.0, 0.35, False, None).sum())
    assert fused.ops.get("fused_attention") == 1
    scores = 2 * 2 * 64 * 64 * 4  # one (B, H, T, S) float32 matrix
    assert fused.saved_bytes < scores <= composed.saved_bytes


def test_peak_memory_is_linear_in_t():
    """tracemalloc sees numpy's buffers: the fused forward+backward never allocates (B, H, T, T)."""
    rng = np.random.default_rng(17)
    t = 512
    q, k, v = qkv(rng, (1, 2, t, t, 16, 16))
    scores = 1 * 2 * t * t * 4

    def peak(fn):
        for x in (q, k, v):
            x.grad = None
        tracemalloc.start()
        try:
            fn(q, k, v).sum().backward()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    fused = peak(lambda *x: scaled_dot_product_attention(*x, is_causal=True))
    composed = peak(lambda *x: _composed(*x, None, True, 0.0, 0.25, False, None))
    assert fused < scores / 4
    assert composed > 2 * scores


def test_torch_parity():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(18)
    for causal, shape in (
        (True, (2, 3, 77, 77, 32, 32)),
        (True, (1, 2, 30, 50, 16, 8)),
        (False, (2, 2, 40, 25, 24, 24)),
    ):
        q, k, v = qkv(rng, shape)
        out = scaled_dot_product_attention(q, k, v, is_causal=causal)
        g = rng.standard_normal(out.shape).astype(np.float32)
        out.backward(tt.tensor(g))
        tq, tk, tv = (torch.tensor(x.data, requires_grad=True) for x in (q, k, v))
        tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
        tout.backward(torch.tensor(g))
        assert_close(out.data, tout.detach().numpy())
        for a, e in zip((q, k, v), (tq, tk, tv), strict=True):
            assert_close(a.grad.data, e.grad.numpy(), scale=4)
