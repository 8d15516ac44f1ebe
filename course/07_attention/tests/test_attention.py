"""Module 07 (attention): scores, the reference forward with its log-sum-exp, masks, multi-head."""

import math

import numpy as np
import pytest
import tinytorch.nn.functional as F
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.nn.functional.attention import FusedAttention


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


def _qkv(b=2, h=3, t=5, s=6, d=4, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, h, t, d)).astype(np.float32)
    k = rng.standard_normal((b, h, s, d)).astype(np.float32)
    v = rng.standard_normal((b, h, s, d)).astype(np.float32)
    return q, k, v


def _naive(q, k, v, mask=None):
    """Loop over every (batch, head, query): the definition, in float64."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    b, h, t, d = q.shape
    out = np.zeros((b, h, t, v.shape[-1]))
    weights = np.zeros((b, h, t, k.shape[2]))
    for i in np.ndindex(b, h, t):
        s = k[i[0], i[1]] @ q[i] / math.sqrt(d)
        if mask is not None:
            s = np.where(mask[i[2]], s, -np.inf)
        p = np.exp(s - s.max())
        p /= p.sum()
        weights[i] = p
        out[i] = p @ v[i[0], i[1]]
    return out, weights


def test_attention_matches_the_definition():
    q, k, v = _qkv()
    out = F.scaled_dot_product_attention(tt.tensor(q), tt.tensor(k), tt.tensor(v))
    want, _ = _naive(q, k, v)
    assert out.shape == (2, 3, 5, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5)


def test_reference_forward_keeps_the_log_sum_exp():
    q, k, v = _qkv(b=1, h=2, t=3, s=4)
    op = FusedAttention(False, 0.5)
    op.forward(q, k, v)
    s = np.einsum("bhtd,bhsd->bhts", q.astype(np.float64), k.astype(np.float64)) * 0.5
    lse = np.log(np.exp(s).sum(axis=-1))
    assert op.lse.shape == (1, 2, 3)
    np.testing.assert_allclose(op.lse, lse, rtol=1e-5)


def test_causal_attention_sees_only_the_past():
    q, k, v = _qkv(t=5, s=5)
    out = F.scaled_dot_product_attention(tt.tensor(q), tt.tensor(k), tt.tensor(v), is_causal=True)
    want, _ = _naive(q, k, v, mask=np.tril(np.ones((5, 5), dtype=bool)))
    np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5)
    # the first query attends to key 0 only: its output is v[..., 0, :]
    np.testing.assert_allclose(out.data[:, :, 0], v[:, :, 0], rtol=1e-5)


def test_large_scores_do_not_overflow():
    q, k, v = _qkv(t=3, s=3)
    out = F.scaled_dot_product_attention(tt.tensor(q * 300), tt.tensor(k * 300), tt.tensor(v))
    assert np.isfinite(out.data).all()


def test_causal_mask():
    assert F.causal_mask(3).tolist() == [
        [True, False, False],
        [True, True, False],
        [True, True, True],
    ]
    assert F.causal_mask(2, 3).tolist() == [[True, False, False], [True, True, False]]


def test_bool_mask_and_returned_weights():
    q, k, v = _qkv(t=4, s=4)
    mask = np.random.default_rng(3).random((4, 4)) > 0.3
    mask[:, 0] = True  # every query keeps at least one key
    out, w = F.scaled_dot_product_attention(
        tt.tensor(q), tt.tensor(k), tt.tensor(v), mask=tt.tensor(mask), return_weights=True
    )
    want, want_w = _naive(q, k, v, mask=mask)
    np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.data, want_w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w.data.sum(axis=-1), 1.0, rtol=1e-5)
    assert (w.data[..., ~mask] == 0).all()


def test_float_mask_is_added_to_the_scores():
    q, k, v = _qkv(t=3, s=3)
    additive = np.zeros((3, 3), dtype=np.float32)
    additive[:, 2] = -np.inf
    out = F.scaled_dot_product_attention(
        tt.tensor(q), tt.tensor(k), tt.tensor(v), mask=tt.tensor(additive)
    )
    keep = np.ones((3, 3), dtype=bool)
    keep[:, 2] = False
    want, _ = _naive(q, k, v, mask=keep)
    np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="does not broadcast"):
        F.scaled_dot_product_attention(
            tt.tensor(q), tt.tensor(k), tt.tensor(v), mask=tt.ones(2, 2, dtype="bool")
        )


def test_multi_head_attention_matches_its_projections():
    tt.manual_seed(0)
    mha = nn.MultiHeadAttention(embed_dim=8, num_heads=2)
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    out, w = mha(tt.tensor(x), return_weights=True)
    assert out.shape == (2, 5, 8) and w.shape == (2, 2, 5, 5)

    def proj(layer, a):
        return a @ layer.weight.data.T + layer.bias.data

    def heads(a):
        return a.reshape(2, 5, 2, 4).transpose(0, 2, 1, 3)

    q, k, v = (heads(proj(p, x)) for p in (mha.q_proj, mha.k_proj, mha.v_proj))
    o, want_w = _naive(q, k, v)
    want = proj(mha.out_proj, o.transpose(0, 2, 1, 3).reshape(2, 5, 8))
    np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.data, want_w, rtol=1e-4, atol=1e-5)


def test_multi_head_cross_attention_and_causal():
    mha = nn.MultiHeadAttention(embed_dim=12, num_heads=3)
    assert mha(tt.randn(2, 4, 12), tt.randn(2, 7, 12)).shape == (2, 4, 12)
    x = tt.randn(1, 6, 12)
    full = mha(x, is_causal=True).data
    prefix = mha(x[:, :3], is_causal=True).data
    np.testing.assert_allclose(full[:, :3], prefix, rtol=1e-4, atol=1e-5)  # no peeking ahead
