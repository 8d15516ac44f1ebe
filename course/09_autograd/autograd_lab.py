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
# # Module 09 lab: autograd, the graph and its cost
#
# You implement three pieces of `tinytorch-autograd` (see the README): the topological walk
# (`graph.walk`), the backward engine (`engine.backward`), and backward rules (`unbroadcast`,
# mul, div, exp, log, matmul, sum, mean). This lab runs *your* installed code: explore a graph,
# check your rules against finite differences, and measure what the graph costs in memory
# and time. Run it top to bottom (`python autograd_lab.py`) or open it as a notebook
# (`jupytext --to notebook autograd_lab.py`).

# %%
import time

import numpy as np
import tinytorch.autograd as ag
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.autograd.graph import walk

tt.manual_seed(0)
print("backend:", tt.backend.get_backend())

# %% [markdown]
# ## 1. A graph, and the order backward visits it
#
# `walk(root)` returns every node that reaches `root`, inputs before outputs. Backward visits
# them in reverse: by the time it reaches a node, every node that used its output has already
# handed it a gradient.

# %%
x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
a = x * 2
b = x.exp()
loss = (a * b + a).sum()
for i, node in enumerate(walk(loss)):
    print(i, node)
loss.backward()
X = x.numpy()
print("x.grad     ", x.grad.numpy())
print("by hand    ", 2 * np.exp(X) + 2 * X * np.exp(X) + 2)

# %% [markdown]
# ## 2. Check your rules: gradcheck
#
# `gradcheck` compares autograd's gradient with a central finite difference in float64.
# Every rule you wrote should pass; try breaking one (drop the `unbroadcast`) and watch it fail.


# %%
def leaf(*shape):
    return tt.tensor(
        np.random.default_rng(0).uniform(0.5, 1.5, shape), dtype="float64", requires_grad=True
    )


checks = {
    "mul (broadcast)": (lambda a, b: a * b, [leaf(2, 3), leaf(3)]),
    "div": (lambda a, b: a / b, [leaf(4), leaf(4)]),
    "exp, log": (lambda a: a.exp().log() * a, [leaf(5)]),
    "matmul (batched)": (lambda a, b: a @ b, [leaf(2, 3, 4), leaf(4, 2)]),
    "sum, mean": (lambda a: a.sum(axis=0) + a.mean(), [leaf(3, 4)]),
}
for name, (fn, inputs) in checks.items():
    print(f"{name:18s}", ag.gradcheck(fn, inputs))

# %% [markdown]
# ## 3. What the graph costs: memory
#
# Every node keeps its inputs alive until backward (the *saved tensors*). For an MLP the
# activations dominate, and they grow with the batch; the parameters do not.
# `graph_stats` counts the distinct buffers the graph holds.

# %%
mlp = nn.Sequential(
    nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
)
param_bytes = sum(p.nbytes for p in mlp.parameters())
print(f"parameters: {sum(p.size for p in mlp.parameters()):,} ({param_bytes / 2**20:.2f} MiB)")
print(f"{'batch':>6} {'nodes':>6} {'saved MiB':>10} {'saved / params':>15}")
for batch in (32, 128, 512, 2048):
    xb = tt.randn(batch, 784)
    out = mlp(xb).sum()
    s = ag.graph_stats(out)
    mib, ratio = s.saved_bytes / 2**20, s.saved_bytes / param_bytes
    print(f"{batch:6d} {s.nodes:6d} {mib:10.2f} {ratio:15.2f}")
    del out

# %% [markdown]
# Under `no_grad()` nothing is recorded: inference keeps no activations alive.

# %%
with ag.no_grad():
    out = mlp(tt.randn(512, 784))
print("requires_grad under no_grad:", out.requires_grad, "| node:", out._node)

# %% [markdown]
# ## 4. What the graph costs: time
#
# The textbook estimate: backward costs about twice the forward (each matmul becomes two).


# %%
def best_ms(fn, reps=15):
    """The fastest of ``reps`` runs: on a shared machine the minimum is the stable estimate."""
    fn()  # warm up (allocations, first-call costs)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


xb = tt.randn(512, 784)


def forward_only():
    with ag.no_grad():
        mlp(xb)


def forward_backward():
    mlp.zero_grad()
    mlp(xb).sum().backward()


C = tt.backend.native()
default_threads = C.num_threads() if C is not None else 1
for threads in sorted({1, default_threads}):
    if C is not None:
        C.set_num_threads(threads)
    f, fb = best_ms(forward_only), best_ms(forward_backward)
    print(
        f"{threads} thread(s): forward {f:6.2f} ms, forward + backward {fb:6.2f} ms "
        f"(backward = {(fb - f) / f:.1f}x the forward)"
    )
if C is not None:
    C.set_num_threads(default_threads)

# %% [markdown]
# ## 5. A deep graph
#
# A chain of 5,000 ops: a recursive walk would pass Python's recursion limit (1,000).

# %%
y = tt.ones(1, requires_grad=True)
z = y
for _ in range(5000):
    z = z * 1.0001
z.sum().backward()
print(
    "nodes:",
    len(walk(z)),
    " d/dy =",
    round(float(y.grad.numpy()[0]), 4),
    " expected",
    round(1.0001**5000, 4),
)
