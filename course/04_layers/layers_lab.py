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
# # Module 04 lab: layers and initialisation
#
# You implemented the linear op (`functional/linear.py`), `Dense`'s flattening
# (`linear.py`) and the initialisers (`init.py`) in `packages/tinytorch-nn/src/tinytorch/nn/`.

# %%
import math
import time

import numpy as np
import tinytorch.nn.functional as F
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.nn import init

tt.set_backend("numpy")
tt.manual_seed(0)
layer = nn.Linear(784, 128)
print(
    layer,
    "| parameters:",
    layer.num_parameters(),
    f"= {layer.num_parameters() * 4 / 1024:.0f} KiB of float32",
)

# %% [markdown]
# ## The layer is one matrix product
#
# `y = x @ W.T + b` with W of shape (out, in), as PyTorch stores it.

# %% tags=["tests"]
x = tt.randn(32, 784)
y = layer(x)
want = x.data @ layer.weight.data.T + layer.bias.data
print("output", y.shape, "max error vs numpy:", np.abs(y.data - want).max())
assert np.allclose(y.data, want, atol=1e-5)
seq = tt.randn(4, 10, 784)  # leading dims are folded into one GEMM of 40 rows
assert layer(seq).shape == (4, 10, 128)

# %% [markdown]
# ## Dense takes images straight from a conv layer

# %%
dense = nn.Dense(8 * 4 * 4, 10)
print(dense(tt.randn(2, 8, 4, 4)).shape)

# %% [markdown]
# ## Why initialisation matters
#
# Each layer multiplies the activations' variance by about fan_in * var(w) (halved by a ReLU).
# Ten layers of N(0, 1) weights blow it up; Kaiming's var(w) = 2 / fan_in keeps it steady.


# %%
def depth_std(fill, width=256, depth=10):
    a = tt.randn(512, width)
    stds = []
    for _ in range(depth):
        lin = nn.Linear(width, width, bias=False)
        fill(lin.weight)
        a = F.relu(lin(a))
        stds.append(float(a.data.std()))
    return stds


for name, fill in (
    ("N(0, 1)", lambda w: init.normal_(w)),
    ("N(0, 0.01^2)", lambda w: init.normal_(w, std=0.01)),
    ("kaiming", lambda w: init.kaiming_uniform_(w, nonlinearity="relu")),
    ("xavier", lambda w: init.xavier_uniform_(w)),
):
    s = depth_std(fill)
    print(f"{name:<13} std after layers 1, 5, 10: {s[0]:.3g}, {s[4]:.3g}, {s[9]:.3g}")

# %% [markdown]
# ## Profile: numpy forward vs the C++ GEMM

# %%
x = tt.randn(256, 784)
for be in ("numpy", "native") if tt.native_available() else ("numpy",):
    with tt.use_backend(be):
        layer(x)
        t0 = time.perf_counter()
        for _ in range(10):
            layer(x)
        s = (time.perf_counter() - t0) / 10
    print(f"{be:<7} {s * 1e3:.3f} ms  {2 * 256 * 784 * 128 / s / 1e9:.3g} GFLOP/s")

# %% [markdown]
# ## Check yourself

# %% tags=["tests"]
assert init.calculate_fan_in_and_fan_out(tt.zeros(16, 3, 5, 5)) == (75, 400)
w = init.xavier_uniform_(tt.zeros(100, 100))
assert np.abs(w.data).max() <= math.sqrt(6 / 200)
assert np.abs(nn.Linear(64, 8).weight.data).max() <= 1 / 8 + 1e-7
print("module 04 lab: all checks passed")
