# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 16 lab: the arithmetic of a small GPT
#
# `tinytorch-gpt` (tokenizers, TinyGPT, generation with a KV cache) lands with its own issue;
# its tasks join this module then. What you can measure today: the parameters of a GPT
# configuration, the memory attention needs as the context grows, the KV cache that makes
# generation fast, and the time of causal attention on the existing fused kernel.

# %%
import time

import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.nn import functional as F

# %% [markdown]
# ## 1. Parameters of a GPT
#
# Per block: attention 4 C² (+4C biases), MLP 8 C² (+5C), two LayerNorms 4C. Plus token and
# position embeddings V·C and T·C, a final LayerNorm, and a head tied to the embedding.


# %%
def gpt_params(V, T, C, L):
    block = 4 * C * C + 4 * C + 8 * C * C + 5 * C + 4 * C
    return V * C + T * C + L * block + 2 * C


configs = {"TinyGPT (chars)": (65, 256, 128, 4), "GPT-2 small": (50257, 1024, 768, 12)}
for name, (V, T, C, L) in configs.items():
    n = gpt_params(V, T, C, L)
    print(
        f"{name:16s} V={V:5d} T={T:4d} C={C:3d} L={L:2d}: {n / 1e6:7.2f}M params, "
        f"{4 * n / 2**20:7.1f} MiB fp32"
    )

# The same count from real layers: one TransformerBlock of width 128
blk = nn.TransformerBlock(128, 4)
print(
    "TransformerBlock(128, 4):",
    sum(p.size for p in blk.parameters()),
    "parameters; formula:",
    4 * 128 * 128 + 4 * 128 + 8 * 128 * 128 + 5 * 128 + 4 * 128,
)

# %% [markdown]
# ## 2. Attention memory grows with T²
#
# A naive attention materialises the scores (B, H, T, T) (and, for backward, the softmax of
# them). A fused kernel streams over keys and never stores the full matrix.

# %%
B, H = 8, 4
for T in (128, 512, 2048, 8192):
    print(f"T={T:5d}: scores (B={B}, H={H}, T, T) fp32 = {B * H * T * T * 4 / 2**20:9.1f} MiB")

# %% [markdown]
# ## 3. The KV cache
#
# Without a cache, generating token t recomputes the keys and values of all t tokens so far in
# every layer, so the K/V projections of a T-token generation cost ~T²/2 token-projections;
# with a cache each step projects only the new token (T in all) and reads the rest. The cache
# holds 2 (K and V) x L x T x C floats per sequence.

# %%
for name, (_, T, C, L) in configs.items():
    cache = 2 * L * T * C * 4
    print(
        f"{name:16s} KV cache at full context T={T}: {cache / 2**20:7.2f} MiB per sequence "
        f"(fp32); x32 sequences: {32 * cache / 2**30:5.2f} GiB"
    )
T, C, L = 256, 128, 4
no_cache = sum(t * 2 * C * C * 2 * L for t in range(1, T + 1))  # K,V projections of t tokens
with_cache = T * 2 * C * C * 2 * L
print(
    f"K/V projection FLOPs to generate {T} tokens, TinyGPT: no cache {no_cache / 1e9:.2f} "
    f"GFLOP, with cache {with_cache / 1e9:.3f} GFLOP ({no_cache / with_cache:.0f}x less)"
)

# %% [markdown]
# ## 4. Causal attention time vs T (existing kernels)


# %%
def best_ms(fn, reps=5):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


D = 32
print(f"{'T':>5s} {'numpy ms':>9s} {'native ms':>10s}")
for T in (64, 128, 256, 512):
    q, k, v = (tt.randn(2, H, T, D) for _ in range(3))
    with tt.use_backend("numpy"):
        t_np = best_ms(
            lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v, is_causal=True)
        )
    with tt.use_backend("native"):
        t_nat = best_ms(
            lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v, is_causal=True)
        )
    print(f"{T:5d} {t_np:9.2f} {t_nat:10.2f}")
