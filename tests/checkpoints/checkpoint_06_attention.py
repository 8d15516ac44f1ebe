"""Can I build attention mechanisms for sequence understanding?

Scaled dot-product attention equals ``softmax(q k^T / sqrt(d)) v`` (checked against numpy),
a causal mask hides the future, and multi-head attention keeps the sequence's shape.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")


def reference(q, k, v, causal=False):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        t = s.shape[-1]
        s = np.where(np.tril(np.ones((t, t), dtype=bool)), s, -np.inf)
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    return (s / s.sum(axis=-1, keepdims=True)) @ v


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention(causal):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 5, 8)).astype(np.float32) for _ in range(3))
    out = nn.scaled_dot_product_attention(
        tt.tensor(q), tt.tensor(k), tt.tensor(v), is_causal=causal
    ).numpy()
    np.testing.assert_allclose(out, reference(q, k, v, causal), rtol=1e-4, atol=1e-5)


def test_causal_attention_ignores_the_future():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 6, 4)).astype(np.float32) for _ in range(3))
    v2 = v.copy()
    v2[:, -1] += 100.0  # change only the last position
    a = nn.scaled_dot_product_attention(
        tt.tensor(q), tt.tensor(k), tt.tensor(v), is_causal=True
    ).numpy()
    b = nn.scaled_dot_product_attention(
        tt.tensor(q), tt.tensor(k), tt.tensor(v2), is_causal=True
    ).numpy()
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], rtol=1e-6)


def test_multi_head_attention_shape():
    tt.manual_seed(0)
    mha = nn.MultiHeadAttention(16, 4)
    x = tt.tensor(np.random.default_rng(2).standard_normal((2, 7, 16)).astype(np.float32))
    assert mha(x).shape == (2, 7, 16)
