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
# # Module 05 lab: dense networks
#
# You implemented `Sequential.forward` and the `MLP` builder in
# `packages/tinytorch-nn/src/tinytorch/nn/container.py`. Here you build networks with them,
# count their parameters and memory, and solve XOR with weights set by hand (training them
# needs autograd, module 09).

# %%
import time

import numpy as np
import tinytorch.tensor as tt
from tinytorch import nn

tt.set_backend("numpy")
tt.manual_seed(0)
net = nn.MLP([784, 256, 128, 10])
print(net)
print("parameters:", net.num_parameters())

# %% [markdown]
# ## Where the parameters and the memory are
#
# A Linear(in, out) holds in*out + out numbers. The activations of a batch take
# batch * width floats per layer, and training keeps them for backward.

# %%
for name, p in net.named_parameters():
    print(f"{name:<10} {str(p.shape):<12} {p.nbytes / 1024:8.1f} KiB")
batch = 64
acts = batch * sum(net.sizes[1:]) * 4
print(
    f"weights {net.num_parameters() * 4 / 2**20:.2f} MiB, activations per batch of {batch}: "
    f"{acts / 1024:.0f} KiB"
)

# %% [markdown]
# ## Sequential is function composition

# %% tags=["tests"]
x = tt.randn(batch, 784)
h = x
for layer in net:
    h = layer(h)
assert np.allclose(h.data, net(x).data)
print("logits", net(x).shape)

# %% [markdown]
# ## A network that solves XOR (weights set by hand)
#
# XOR is not linearly separable; one hidden ReLU layer of width 2 is enough.

# %% tags=["tests"]
xor = nn.MLP([2, 2, 1])
xor[0].weight.data[...] = [[1.0, 1.0], [1.0, 1.0]]
xor[0].bias.data[...] = [0.0, -1.0]
xor[2].weight.data[...] = [[1.0, -2.0]]
xor[2].bias.data[...] = [0.0]
pts = tt.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
print("XOR:", xor(pts).data.ravel().tolist())
assert xor(pts).data.ravel().tolist() == [0.0, 1.0, 1.0, 0.0]

# %% [markdown]
# ## Profile: forward time vs width

# %%
for sizes in ([784, 128, 10], [784, 512, 512, 10], [784, 1024, 1024, 10]):
    m = nn.MLP(sizes)
    for be in ("numpy", "native") if tt.native_available() else ("numpy",):
        with tt.use_backend(be):
            m(x)
            t0 = time.perf_counter()
            for _ in range(5):
                m(x)
            s = (time.perf_counter() - t0) / 5
        flops = 2 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        print(f"{str(sizes):<22} {be:<7} {s * 1e3:6.2f} ms {flops / s / 1e9:.3g} GFLOP/s")

# %% [markdown]
# ## Check yourself

# %% tags=["tests"]
assert [type(m).__name__ for m in nn.MLP([4, 8, 2])] == ["Linear", "ReLU", "Linear"]
assert nn.MLP([2, 16, 16, 3]).num_parameters() == 371
assert nn.Sequential([nn.ReLU(), nn.Tanh()])(tt.tensor([-1.0, 1.0])).tolist()[0] == 0.0
print("module 05 lab: all checks passed")
