"""Embedding gather / scatter-add: C++ fast vs naive vs numpy, gradcheck, PyTorch, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.nn as nn
import tinytorch.tensor as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from tinytorch.autograd import gradcheck
from tinytorch.nn.functional.embedding import EmbeddingGather, EmbeddingScatterAdd, embedding
from tinytorch.tensor import dispatch

_C = pytest.importorskip("tinytorch.tensor._C")


def ops_used(fn):
    names = []
    handle = dispatch.add_hook(lambda op, inputs, out: names.append(op.name))
    try:
        fn()
    finally:
        handle.remove()
    return names


def ref_scatter(grad, ids, v, pad=None):
    d = grad.shape[-1]
    ids, rows = ids.reshape(-1), grad.reshape(-1, d).astype(np.float64)
    out = np.zeros((v, d))
    for i, r in zip(ids, rows, strict=True):
        if i != pad:
            out[i] += r
    return out


@pytest.mark.parametrize("ids_shape", [(), (1,), (7,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("pad", [None, 0, 4])
def test_gather_and_scatter_match_naive_and_numpy(ids_shape, pad):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((9, 6)).astype(np.float32)
    ids = rng.integers(0, 9, ids_shape)
    out = _C.embedding_gather(w, ids)
    assert out.shape == ids_shape + (6,) and out.dtype == np.float32
    np.testing.assert_array_equal(out, w[ids])
    np.testing.assert_array_equal(_C.embedding_gather_naive(w, ids), w[ids])
    g = rng.standard_normal(ids_shape + (6,)).astype(np.float32)
    dw = _C.embedding_scatter_add(g, ids, 9, pad)
    assert dw.shape == (9, 6) and dw.dtype == np.float32
    np.testing.assert_allclose(dw, ref_scatter(g, ids, 9, pad), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(dw, _C.embedding_scatter_add_naive(g, ids, 9, pad))
    if pad is not None:
        assert not dw[pad].any()


def test_non_contiguous_inputs():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 10)).astype(np.float32)[:, ::2]  # (6, 5), strided
    ids = rng.integers(0, 6, (4, 8)).T  # transposed
    np.testing.assert_array_equal(_C.embedding_gather(w, ids), w[ids])
    g = rng.standard_normal((4, 8, 5)).astype(np.float32).transpose(1, 0, 2)[:, :, :3]
    np.testing.assert_allclose(
        _C.embedding_scatter_add(g, ids, 6), ref_scatter(g, ids, 6), rtol=1e-6, atol=1e-6
    )
    # int32 ids are widened; the result is the same.
    np.testing.assert_array_equal(_C.embedding_gather(w, ids.astype(np.int32)), w[ids])


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_scatter_is_bitwise_the_same_for_any_thread_count(threads):
    """Threads own destination rows: each row adds its terms in index order, like the reference."""
    rng = np.random.default_rng(3)
    ids = np.concatenate([np.zeros(3000, np.int64), rng.integers(0, 300, 5000)])  # one hot id
    rng.shuffle(ids)
    g = rng.standard_normal((ids.size, 64)).astype(np.float32)
    ref = _C.embedding_scatter_add_naive(g, ids, 300, 7)
    before = _C.num_threads()
    try:
        _C.set_num_threads(threads)
        got = _C.embedding_scatter_add(g, ids, 300, 7)
        gathered = _C.embedding_gather(ref, ids)
    finally:
        _C.set_num_threads(before)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(gathered, ref[ids])


@settings(max_examples=40, deadline=None)
@given(
    v=st.integers(1, 40),
    d=st.integers(1, 70),
    n=st.integers(0, 300),
    pad=st.one_of(st.none(), st.integers(0, 39)),
    seed=st.integers(0, 2**31 - 1),
)
def test_hypothesis(v, d, n, pad, seed):
    rng = np.random.default_rng(seed)
    pad = None if pad is None else pad % v
    w = rng.standard_normal((v, d)).astype(np.float32)
    ids = rng.integers(0, v, n)
    np.testing.assert_array_equal(_C.embedding_gather(w, ids), w[ids])
    g = rng.standard_normal((n, d)).astype(np.float32)
    got = _C.embedding_scatter_add(g, ids, v, pad)
    np.testing.assert_array_equal(got, _C.embedding_scatter_add_naive(g, ids, v, pad))
    np.testing.assert_allclose(got, ref_scatter(g, ids, v, pad), rtol=1e-5, atol=1e-5)


def test_kernel_errors():
    w = np.zeros((5, 3), np.float32)
    with pytest.raises(
        IndexError,
        match=r"embedding_gather: index 5 is out of range for 5 "
        r"embeddings \(valid ids are 0..4; weight \(5, 3\), indices \(3,\)\)",
    ):
        _C.embedding_gather(w, np.array([0, 5, 1]))
    with pytest.raises(IndexError, match="embedding_gather_naive: index -1 is out of range"):
        _C.embedding_gather_naive(w, np.array([-1]))
    with pytest.raises(TypeError, match="embedding_gather: indices must be integers"):
        _C.embedding_gather(w, np.array([1.0]))
    with pytest.raises(ValueError, match=r"embedding_gather: weight must be 2-D"):
        _C.embedding_gather(w[0], np.array([0]))
    g = np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError, match="embedding_scatter_add: index 9 is out of range for 5"):
        _C.embedding_scatter_add(g, np.array([0, 9]), 5)
    with pytest.raises(
        ValueError,
        match=r"grad of shape \(2, 3\) does not fit indices of shape "
        r"\(3,\)",
    ):
        _C.embedding_scatter_add(g, np.array([0, 1, 2]), 5)
    with pytest.raises(ValueError, match="padding_idx 5 is out of range for 5"):
        _C.embedding_scatter_add(g, np.array([0, 1]), 5, 5)


# --- the functional and the layer -----------------------------------------------------------------


@pytest.mark.parametrize("pad", [None, 2, -1])
def test_native_matches_numpy_backend(pad):
    rng = np.random.default_rng(4)
    ids = tt.tensor(rng.integers(0, 8, (3, 7)))
    w = tt.tensor(rng.standard_normal((8, 5)), dtype="float32", requires_grad=True)
    g = tt.tensor(rng.standard_normal((3, 7, 5)), dtype="float32")
    results = []
    for backend in ("native", "numpy"):
        w.grad = None
        with tt.use_backend(backend):
            out = embedding(ids, w, padding_idx=pad)
            out.backward(g)
        results.append((out.data, w.grad.data))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-6)
    if pad is not None:
        assert not results[0][1][pad % 8].any()  # the padding row gets no gradient
        np.testing.assert_array_equal(
            results[0][0][ids.data == pad % 8],
            w.data[pad % 8][None].repeat((ids.data == pad % 8).sum(), 0),
        )


def test_uses_the_native_ops():
    emb = nn.Embedding(10, 4, padding_idx=0)
    ids = tt.tensor([[1, 0, 3]])
    names = ops_used(lambda: emb(ids).sum().backward())
    assert "embedding" in names and "embedding_backward" in names


@pytest.mark.parametrize("pad", [None, 1])
def test_gradcheck_and_double_backward(pad):
    rng = np.random.default_rng(5)
    ids = tt.tensor(rng.integers(0, 4, (2, 3)))
    w = tt.tensor(rng.standard_normal((4, 3)), dtype="float64", requires_grad=True)
    if pad is None:  # (with padding_idx the padding row's gradient is 0 by definition, not by math)
        assert gradcheck(lambda w: embedding(ids, w), [w])
    # The backward op's own backward (a gather with padding positions zeroed).
    g = tt.tensor(rng.standard_normal((2, 3, 3)), dtype="float64", requires_grad=True)
    assert gradcheck(lambda g: dispatch.apply(EmbeddingScatterAdd(ids.data, 4, pad), g), [g])
    assert gradcheck(
        lambda w: dispatch.apply(EmbeddingGather(ids.data, pad, zero_padding=True), w), [w]
    )
    # Gradients of gradients through the layer: d/dw of |dL/dw|^2 with L = sum(emb(w)^2).
    w.grad = None
    (embedding(ids, w, padding_idx=pad) ** 2).sum().backward(create_graph=True)
    gw = w.grad
    w.grad = None
    (gw * gw).sum().backward()
    counts = np.bincount(ids.data.ravel(), minlength=4).astype(float)
    if pad is not None:
        counts[pad] = 0
    # dL/dw = 2 * counts * w, so d|dL/dw|^2/dw = 8 * counts^2 * w.
    np.testing.assert_allclose(w.grad.data, 8 * counts[:, None] ** 2 * w.data, rtol=1e-12)


def test_errors_name_the_layer_and_the_index():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=r"Embedding\(4, 2\): index 4 is out of range for 4"):
        emb(tt.tensor([0, 4]))
    with pytest.raises(IndexError, match="embedding: index -2 is out of range for 4"):
        embedding(tt.tensor([-2]), emb.weight)
    with pytest.raises(ValueError, match=r"embedding: padding_idx must be an int in \[-4, 4\)"):
        embedding(tt.tensor([0]), emb.weight, padding_idx=4)


@pytest.mark.parametrize("pad", [None, 3, -2])
def test_torch_parity(pad):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    ids = rng.integers(0, 7, (4, 9))
    w = rng.standard_normal((7, 5)).astype(np.float32)
    g = rng.standard_normal((4, 9, 5)).astype(np.float32)
    ours = tt.tensor(w, requires_grad=True)
    out = embedding(tt.tensor(ids), ours, padding_idx=pad)
    out.backward(tt.tensor(g))
    theirs = torch.tensor(w, requires_grad=True)
    tout = torch.nn.functional.embedding(torch.tensor(ids), theirs, padding_idx=pad)
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6, atol=1e-6)
