# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 07 lab: attention
#
# You implemented the attention scores and the reference forward (with its log-sum-exp), the
# masks and the composed path in `packages/tinytorch-nn/src/tinytorch/nn/functional/attention.py`,
# and multi-head attention in `packages/tinytorch-nn/src/tinytorch/nn/attention.py`.
# `softmax(q @ k^T / sqrt(D)) @ v`: every query takes a weighted average of the values.

# %%
import math
import time

import numpy as np
import tinytorch.nn.functional as F
import tinytorch.tensor as tt
from tinytorch import nn

tt.set_backend("numpy")
tt.manual_seed(0)
q = tt.randn(1, 1, 4, 8)
out, w = F.scaled_dot_product_attention(q, q, q, is_causal=True, return_weights=True)
print("causal attention weights (each row sums to 1, nothing above the diagonal):")
print(np.round(w.data[0, 0], 3))

# %% [markdown]
# ## Why divide by sqrt(D)?
#
# q.k sums D products of unit-variance numbers: its std grows like sqrt(D), and a softmax of
# large scores is nearly one-hot (tiny gradients). Scaling keeps the std near 1.

# %%
for d in (4, 64, 512):
    a, b = np.random.default_rng(0).standard_normal((2, 10000, d))
    dots = (a * b).sum(axis=1)
    print(
        f"D={d:<4} std(q.k) = {dots.std():6.2f}   "
        f"std(q.k / sqrt(D)) = {(dots / math.sqrt(d)).std():.2f}"
    )

# %% [markdown]
# ## The O(T^2) memory of attention
#
# The score matrix is (B, H, T, T). The composed path builds it (and autograd keeps it); the
# fused native kernel streams over key blocks and keeps one log-sum-exp per query row instead.

# %%
for t in (256, 1024, 4096):
    print(
        f"T={t:<5} scores for B=1, H=8: {8 * t * t * 4 / 2**20:8.1f} MiB   "
        f"log-sum-exp: {8 * t * 4 / 2**10:6.1f} KiB"
    )

# %%
for t in (128, 512):
    x = tt.randn(1, 8, t, 64)
    row = [f"T={t}"]
    for be in ("numpy", "native") if tt.native_available() else ("numpy",):
        with tt.use_backend(be):
            F.scaled_dot_product_attention(x, x, x, is_causal=True)
            t0 = time.perf_counter()
            F.scaled_dot_product_attention(x, x, x, is_causal=True)
            row.append(f"{be}: {(time.perf_counter() - t0) * 1e3:.2f} ms")
    print("  ".join(row))

# %% [markdown]
# ## Padding masks: sequences of different lengths in one batch

# %% tags=["tests"]
lengths = [3, 5]
mask = F.padding_mask(lengths, 5)  # (B, 1, 1, S)
x = tt.randn(2, 1, 5, 4)
_, w = F.scaled_dot_product_attention(x, x, x, mask=mask, return_weights=True)
print("weights of sequence 0 on its padded keys:", w.data[0, 0, :, 3:].max())
assert w.data[0, 0, :, 3:].max() == 0.0

# %% [markdown]
# ## Multi-head attention

# %% tags=["tests"]
mha = nn.MultiHeadAttention(embed_dim=32, num_heads=4)
seq = tt.randn(2, 10, 32)
y, weights = mha(seq, is_causal=True, return_weights=True)
print("output", y.shape, "weights", weights.shape, "parameters", mha.num_parameters())
assert np.allclose(weights.data.sum(-1), 1.0, atol=1e-5)

# %% [markdown]
# ## Check yourself

# %% tags=["tests"]
a = F.scaled_dot_product_attention(
    tt.ones(1, 2, 4), tt.ones(1, 3, 4), tt.tensor([[[1.0], [2.0], [3.0]]])
)
assert np.allclose(a.data, 2.0)  # equal scores: the plain average of the values
assert F.causal_mask(2).tolist() == [[True, False], [True, True]]
first = mha(seq[:, :4], is_causal=True).data
assert np.allclose(first, mha(seq, is_causal=True).data[:, :4], atol=1e-5)  # causal: no peeking
print("module 07 lab: all checks passed")
