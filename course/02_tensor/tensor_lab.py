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
# # Module 02 lab: the tensor
#
# You implemented, in `packages/tinytorch-tensor/src/tinytorch/tensor/`: turning data into an
# array (`tensor.py`, task `tensor_data`), elementwise arithmetic with broadcasting
# (`ops/elementwise.py`, `ops/_util.py`), `matmul` (`ops/matmul.py`), `reshape`/`transpose`
# (`ops/shape.py`) and the reductions (`ops/reduce.py`). This lab runs them on the numpy
# backend, so the code you wrote is what runs.

# %%
import time

import numpy as np
import tinytorch.tensor as tt

tt.set_backend("numpy")
x = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(x, x.dtype, x.shape)

# %% [markdown]
# ## Memory: bytes, strides, views
#
# A tensor is one block of memory plus a shape and strides (bytes to step per dimension).

# %% tags=["tests"]
big = tt.zeros(1000, 1000)
print("nbytes:", big.nbytes, "=", big.size, "x", big.itemsize, "bytes")
print("strides:", big.strides)
v = big.reshape(500, 2000)
t = big.transpose()
print("reshape shares memory:", tt.shares_memory(big, v), "| strides", v.strides)
print(
    "transpose shares memory:",
    tt.shares_memory(big, t),
    "| strides",
    t.strides,
    "| contiguous:",
    t.is_contiguous(),
)
v[0, 0] = 7.0
assert big[0, 0].item() == 7.0  # a view: writes show through

# %% [markdown]
# ## Broadcasting never copies the smaller operand

# %% tags=["tests"]
row = tt.arange(1000, dtype="float32")
expanded = row.expand(1000, 1000)
print("expand strides:", expanded.strides, "-> stride 0 means no copy")
out = big + row
assert out.shape == (1000, 1000) and out[3, 5].item() == 5.0
try:
    tt.ones(2, 3) + tt.ones(4)
except ValueError as exc:
    print("error names the op and the shapes:", exc)

# %% [markdown]
# ## Profile: matmul FLOPs and time
#
# (n x n) @ (n x n) costs 2 n^3 flops. Compare your numpy forward with the C++ GEMM.


# %%
def time_it(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


for n in (128, 256, 512):
    a, b = tt.randn(n, n), tt.randn(n, n)
    row = [f"n={n}"]
    for be in ("numpy", "native") if tt.native_available() else ("numpy",):
        with tt.use_backend(be):
            s = time_it(lambda a=a, b=b: a @ b)
        row.append(f"{be}: {s * 1e3:.2f} ms ({2 * n**3 / s / 1e9:.3g} GFLOP/s)")
    print("  ".join(row))

# %% [markdown]
# ## Reductions and keepdims
#
# `keepdims=True` keeps the reduced axis with size 1, so the result broadcasts back:

# %% tags=["tests"]
data = tt.randn(4, 5)
centred = data - data.mean(axis=1, keepdims=True)
print("row means after centring:", np.round(centred.mean(axis=1).data, 6))
assert np.allclose(centred.mean(axis=1).data, 0, atol=1e-6)
print("argmax per row:", data.argmax(axis=1).tolist())

# %% [markdown]
# ## Check yourself (the same kind of checks as the module tests)

# %% tags=["tests"]
assert tt.tensor([1, 2]).dtype == np.int64 and tt.tensor([1.0]).dtype == np.float32
assert (tt.tensor([[1.0], [2.0]]) * tt.tensor([10.0, 20.0])).tolist() == [
    [10.0, 20.0],
    [20.0, 40.0],
]
m = tt.arange(6, dtype="float32").reshape(2, 3)
assert (m @ tt.ones(3)).tolist() == [3.0, 12.0]
assert m.T.shape == (3, 2) and tt.shares_memory(m, m.T)
assert tt.arange(12).reshape(3, -1).shape == (3, 4)
assert m.sum(axis=0).tolist() == [3.0, 5.0, 7.0] and m.max().item() == 5.0
assert tt.tensor([1.0, 2.0, 3.0, 4.0]).var(correction=0).item() == 1.25
print("module 02 lab: all checks passed")
