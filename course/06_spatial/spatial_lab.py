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
# # Module 06 lab: convolution and pooling
#
# You implemented `Im2Col.forward`, `Conv2dOp.forward`, `MaxPool2dOp.forward` and
# `AvgPool2dOp.forward` in `packages/tinytorch-nn/src/tinytorch/nn/functional/conv.py`.
# A convolution is a matrix product in disguise: im2col copies every receptive field into a
# column, and one GEMM does the rest.

# %%
import time

import numpy as np
import tinytorch.nn.functional as F
import tinytorch.tensor as tt
from tinytorch import nn

tt.set_backend("numpy")
img = tt.arange(16, dtype="float32").reshape(1, 1, 4, 4)
cols = F.im2col(img, 2)
print("image\n", img.data[0, 0])
print("im2col with a 2x2 kernel: (N, C*kh*kw, OH*OW) =", cols.shape)
print(cols.data[0])

# %% [markdown]
# ## An edge detector
#
# A vertical-edge kernel responds where the left and right columns differ.

# %%
x = np.zeros((1, 1, 6, 6), dtype=np.float32)
x[..., 3:] = 1.0
edge = tt.tensor([[[[-1.0, 0.0, 1.0]] * 3]])  # (1, 1, 3, 3)
print(F.conv2d(tt.tensor(x), edge).data[0, 0])

# %% [markdown]
# ## The memory cost of im2col
#
# Each input pixel is copied into up to kh*kw columns: the column matrix is about kh*kw times
# the input. The native kernel packs receptive fields straight into the GEMM's panels and never
# builds it.

# %%
for n, c, h, k in ((32, 3, 32, 3), (32, 64, 32, 3), (8, 64, 28, 5)):
    x = tt.randn(n, c, h, h)
    cols = F.im2col(x, k, padding=k // 2)
    print(
        f"input ({n},{c},{h},{h}) {x.nbytes / 2**20:6.2f} MiB -> columns "
        f"{cols.nbytes / 2**20:7.2f} MiB ({cols.nbytes / x.nbytes:.1f}x)"
    )

# %% [markdown]
# ## Profile: FLOPs and time of conv2d

# %%
x, w = tt.randn(32, 16, 32, 32), tt.randn(32, 16, 3, 3)
flops = 2 * 32 * 32 * 30 * 30 * 16 * 9
for be in ("numpy", "native") if tt.native_available() else ("numpy",):
    with tt.use_backend(be):
        F.conv2d(x, w)
        t0 = time.perf_counter()
        for _ in range(3):
            F.conv2d(x, w)
        s = (time.perf_counter() - t0) / 3
    print(f"conv2d {be:<7} {s * 1e3:7.2f} ms  {flops / s / 1e9:.3g} GFLOP/s")

# %% [markdown]
# ## Pooling: max keeps the strongest response, average smooths

# %%
print("max pool 2x2\n", F.max_pool2d(img, 2).data[0, 0])
print("avg pool 2x2\n", F.avg_pool2d(img, 2).data[0, 0])

# %% [markdown]
# ## A small CNN from your parts

# %%
tt.manual_seed(0)
cnn = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 8 * 8, 10),
)
out = cnn(tt.randn(4, 3, 32, 32))
print(out.shape, "parameters:", cnn.num_parameters())

# %% [markdown]
# ## Check yourself

# %% tags=["tests"]
ref = F.conv2d(tt.ones(1, 2, 5, 5), tt.ones(3, 2, 3, 3), tt.tensor([1.0, 2.0, 3.0]), padding=1)
assert ref.shape == (1, 3, 5, 5) and ref.data[0, 0, 2, 2] == 19.0 and ref.data[0, 2, 0, 0] == 11.0
assert F.max_pool2d(img, 2).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
assert F.avg_pool2d(img, 2).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]
assert F.im2col(tt.ones(2, 3, 5, 5), 3).shape == (2, 27, 9)
print("module 06 lab: all checks passed")
