"""scaled_dot_product_attention: naive numpy, masks, causal, dropout, gradcheck, errors."""

import math

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.nn.functional.attention import (
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)


def naive_attention(q, k, v, keep=None, additive=None):
    """Loops over batch, head and query: each query's softmax over the keys it may see."""
    out = np.zeros(q.shape[:-1] + (v.shape[-1],))
    for idx in np.ndindex(*q.shape[:-1]):
        *bh, t = idx
        scores = np.array([q[idx] @ k[(*bh, s)] for s in range(k.shape[-2])]) / math.sqrt(
            q.shape[-1]
        )
        if additive is not None:
            scores = scores + np.broadcast_to(additive, q.shape[:-1] + (k.shape[-2],))[idx]
        if keep is not None:
            row = np.broadcast_to(keep, q.shape[:-1] + (k.shape[-2],))[idx]
            scores = np.where(row, scores, -np.inf)
        e = np.exp(scores - scores.max())
        out[idx] = (e / e.sum()) @ v[tuple(bh)]
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def qkv(rng, b=2, h=3, t=4, s=5, d=6, dv=7, dtype="float64", grad=False):
    shapes = [(b, h, t, d), (b, h, s, d), (b, h, s, dv)]
    return [tt.tensor(rng.standard_normal(sh), dtype=dtype, requires_grad=grad) for sh in shapes]


def test_matches_naive_without_mask(rng):
    q, k, v = qkv(rng)
    out = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 4, 7)
    np.testing.assert_allclose(out.data, naive_attention(q.data, k.data, v.data), rtol=1e-12)


def test_bool_padding_mask(rng):
    q, k, v = qkv(rng)
    keep = padding_mask([3, 5], 5)  # (B, 1, 1, S)
    assert keep.shape == (2, 1, 1, 5)
    out = scaled_dot_product_attention(q, k, v, mask=keep)
    np.testing.assert_allclose(
        out.data, naive_attention(q.data, k.data, v.data, keep=keep.data), rtol=1e-12
    )
    # The padded keys of sequence 0 get no weight: changing their values changes nothing.
    v2 = v.data.copy()
    v2[0, :, 3:] = 1e6
    out2 = scaled_dot_product_attention(q, k, tt.tensor(v2), mask=keep)
    np.testing.assert_allclose(out2.data[0], out.data[0], rtol=1e-12)


def test_additive_float_mask(rng):
    q, k, v = qkv(rng)
    add = rng.standard_normal((4, 5))  # (T, S), broadcast over batch and heads
    out = scaled_dot_product_attention(q, k, v, mask=tt.tensor(add, dtype="float64"))
    np.testing.assert_allclose(
        out.data, naive_attention(q.data, k.data, v.data, additive=add), rtol=1e-12
    )


def test_causal(rng):
    q, k, v = qkv(rng, t=5, s=5)
    out, weights = scaled_dot_product_attention(q, k, v, is_causal=True, return_weights=True)
    tril = np.tril(np.ones((5, 5), bool))
    np.testing.assert_allclose(
        out.data, naive_attention(q.data, k.data, v.data, keep=tril), rtol=1e-12
    )
    assert np.all(weights.data[..., ~tril] == 0)
    np.testing.assert_allclose(weights.data.sum(-1), 1.0)
    # The first query sees only the first key: its output is the first value.
    np.testing.assert_allclose(out.data[:, :, 0], v.data[:, :, 0], rtol=1e-12)


def test_causal_is_the_same_as_a_causal_mask(rng):
    q, k, v = qkv(rng, t=4, s=6)
    a = scaled_dot_product_attention(q, k, v, is_causal=True)
    b = scaled_dot_product_attention(q, k, v, mask=causal_mask(4, 6))
    np.testing.assert_array_equal(a.data, b.data)


def test_causal_combines_with_padding(rng):
    q, k, v = qkv(rng, t=5, s=5)
    keep = padding_mask([5, 3], 5)
    out = scaled_dot_product_attention(q, k, v, mask=keep, is_causal=True)
    both = np.tril(np.ones((5, 5), bool)) & keep.data
    np.testing.assert_allclose(
        out.data, naive_attention(q.data, k.data, v.data, keep=both), rtol=1e-12
    )


def test_works_without_head_dimension_and_float32(rng):
    q = tt.randn(2, 4, 8)
    out = scaled_dot_product_attention(q, q, q)
    assert out.shape == (2, 4, 8) and out.dtype == np.float32
    np.testing.assert_allclose(
        out.data, naive_attention(q.data, q.data, q.data), rtol=1e-5, atol=1e-6
    )


def test_scale_argument(rng):
    q, k, v = qkv(rng)
    a = scaled_dot_product_attention(q, k, v, scale=0.5)
    b = scaled_dot_product_attention(q * (0.5 * math.sqrt(6)), k, v)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12)


def test_dropout(rng):
    q, k, v = qkv(rng, b=4, h=4, t=16, s=16)
    g = tt.Generator(0)
    _, w = scaled_dot_product_attention(q, k, v, dropout_p=0.5, return_weights=True, generator=g)
    _, w0 = scaled_dot_product_attention(q, k, v, return_weights=True)
    zeroed = w.data == 0
    assert 0.4 < zeroed.mean() < 0.6  # about half the weights dropped
    np.testing.assert_allclose(
        w.data[~zeroed], 2 * w0.data[~zeroed], rtol=1e-12
    )  # survivors scaled by 1/(1-p)
    # Same seed, same mask.
    _, again = scaled_dot_product_attention(
        q, k, v, dropout_p=0.5, return_weights=True, generator=tt.Generator(0)
    )
    np.testing.assert_array_equal(again.data, w.data)


@pytest.mark.parametrize("kind", ["none", "causal", "padding", "additive", "causal+padding"])
def test_gradcheck(rng, kind):
    q, k, v = qkv(rng, b=2, h=2, t=3, s=4, d=3, dv=2, grad=True)
    mask = {
        "padding": padding_mask([2, 4], 4),
        "causal+padding": padding_mask([2, 4], 4),
        "additive": tt.tensor(rng.standard_normal((3, 4)), dtype="float64"),
    }.get(kind)
    causal = "causal" in kind
    assert gradcheck(
        lambda q, k, v: scaled_dot_product_attention(q, k, v, mask=mask, is_causal=causal),
        [q, k, v],
    )


def test_masked_keys_get_zero_gradient(rng):
    q, k, v = qkv(rng, grad=True)
    scaled_dot_product_attention(q, k, v, mask=padding_mask([3, 5], 5)).sum().backward()
    assert np.all(k.grad.data[0, :, 3:] == 0) and np.all(v.grad.data[0, :, 3:] == 0)
    assert np.all(np.isfinite(q.grad.data))


def test_errors(rng):
    q, k, v = qkv(rng)
    with pytest.raises(
        ValueError,
        match=r"mask of shape \(3, 5\) does not broadcast to the attention scores' "
        r"shape \(2, 3, 4, 5\)",
    ):
        scaled_dot_product_attention(q, k, v, mask=tt.ones(3, 5, dtype="bool"))
    with pytest.raises(ValueError, match=r"mask of shape \(2, 3, 4, 5, 1\)"):
        scaled_dot_product_attention(q, k, v, mask=tt.ones(2, 3, 4, 5, 1, dtype="bool"))
    with pytest.raises(TypeError, match="mask must be bool"):
        scaled_dot_product_attention(q, k, v, mask=tt.ones(4, 5, dtype="int64"))
    with pytest.raises(
        ValueError, match=r"q of shape \(2, 3, 4, 6\) and k of shape \(2, 3, 5, 4\)"
    ):
        scaled_dot_product_attention(q, tt.ones(2, 3, 5, 4), v)
    with pytest.raises(ValueError, match="differ in length"):
        scaled_dot_product_attention(q, k, tt.ones(2, 3, 6, 7))
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.0)
