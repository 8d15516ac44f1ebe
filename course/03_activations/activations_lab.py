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
# # Module 03 lab: activations
#
# You implemented the numpy forwards of ReLU, sigmoid, tanh and softmax and their backward
# rules in `packages/tinytorch-nn/src/tinytorch/nn/functional/activation.py`. Without a
# nonlinearity, a stack of linear layers is one linear layer; this lab shows why, checks your
# gradients against finite differences, and profiles them.

# %%
import time

import numpy as np
import tinytorch.nn.functional as F
import tinytorch.nn.functional.activation as A
import tinytorch.tensor as tt

tt.set_backend("numpy")
x = tt.linspace(-4, 4, 9)
for name, f in (("relu", F.relu), ("sigmoid", F.sigmoid), ("tanh", F.tanh)):
    print(f"{name:<8}", np.round(f(x).data, 3))

# %% [markdown]
# ## Two linear maps are one linear map; a ReLU between them is not

# %% tags=["tests"]
rng = np.random.default_rng(0)
W1, W2 = rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
pts = tt.tensor(rng.standard_normal((5, 2)), dtype="float64")
linear = (pts @ tt.tensor(W1.T)) @ tt.tensor(W2.T)
assert np.allclose(linear.data, pts.data @ (W2 @ W1).T)  # collapses to W2 @ W1
nonlinear = F.relu(pts @ tt.tensor(W1.T)) @ tt.tensor(W2.T)
print("with ReLU, max distance from the collapsed map:", np.abs(nonlinear.data - linear.data).max())

# %% [markdown]
# ## Numerical stability
#
# `exp(100)` overflows float32 (max 3.4e38); the stable forms never call exp on a large
# positive number.

# %% tags=["tests"]
big = tt.tensor([-100.0, -20.0, 0.0, 20.0, 100.0])
print("sigmoid:", F.sigmoid(big).tolist())
print(
    "softmax of [1000, 1001, 1002]:",
    np.round(F.softmax(tt.tensor([1000.0, 1001.0, 1002.0])).data, 4),
)
assert not np.isnan(F.softmax(tt.tensor([1000.0, 1001.0])).data).any()

# %% [markdown]
# ## Backward rules vs finite differences
#
# Each op's `backward(inputs, out, grad)` returns dL/dx given dL/dout. Check it numerically.


# %% tags=["tests"]
def numeric_vjp(f, x, g, eps=1e-6):
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        out[i] = ((g * f(x + d)).sum() - (g * f(x - d)).sum()) / (2 * eps)
    return out


xs = tt.tensor(rng.standard_normal((3, 4)), dtype="float64")
g = tt.tensor(rng.standard_normal((3, 4)), dtype="float64")
checks = {
    "sigmoid": (A.SigmoidOp(), lambda a: 1 / (1 + np.exp(-a))),
    "tanh": (A.TanhOp(), np.tanh),
    "softmax": (A.SoftmaxOp(1), lambda a: np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)),
}
for name, (op, f) in checks.items():
    out = tt.dispatch.apply(op, xs)
    (gx,) = op.backward((xs,), out, g)
    err = np.abs(gx.data - numeric_vjp(f, xs.data, g.data)).max()
    print(f"{name:<8} max |analytic - numeric| = {err:.2e}")
    assert err < 1e-6

# %% [markdown]
# ## Profile: activations are memory-bound
#
# One read and one write per element: time is bytes / bandwidth, not flops.

# %%
x = tt.randn(1000, 1000)
for name, f in (("relu", F.relu), ("sigmoid", F.sigmoid), ("softmax", F.softmax)):
    for be in ("numpy", "native") if tt.native_available() else ("numpy",):
        with tt.use_backend(be):
            f(x)
            t0 = time.perf_counter()
            for _ in range(5):
                f(x)
            s = (time.perf_counter() - t0) / 5
        print(f"{name:<8} {be:<7} {s * 1e3:6.2f} ms  {2 * x.nbytes / s / 1e9:.3g} GB/s moved")

# %% [markdown]
# ## Check yourself

# %% tags=["tests"]
assert F.relu(tt.tensor([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 2.0]
assert F.sigmoid(tt.tensor([0.0])).item() == 0.5
assert abs(F.tanh(tt.tensor([1.0])).item() - np.tanh(1.0)) < 1e-6
assert np.allclose(F.softmax(tt.randn(4, 7), dim=1).data.sum(axis=1), 1.0, atol=1e-6)
print("module 03 lab: all checks passed")
