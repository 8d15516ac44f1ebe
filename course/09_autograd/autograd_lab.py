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

# %% tags=["tests"]
x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
a = x * 2
b = x.exp()
loss = (a * b + a).sum()
order = walk(loss)
for i, node in enumerate(order):
    print(i, node)
loss.backward()
X = x.numpy()
by_hand = 2 * np.exp(X) + 2 * X * np.exp(X) + 2
print("x.grad     ", x.grad.numpy())
print("by hand    ", by_hand)
# every node comes after the nodes that made its inputs, and the root comes last
position = {id(node): i for i, node in enumerate(order)}
for node in order:
    for inp in node.inputs:
        if inp._node is not None:
            assert position[id(inp._node)] < position[id(node)], node
assert order[-1] is loss._node and len(order) == 5  # mul, exp, mul, add, sum
assert np.allclose(x.grad.numpy(), by_hand, rtol=1e-5)

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
    ok = ag.gradcheck(fn, inputs)  # raises GradcheckError naming the input and element
    print(f"{name:18s}", ok)
    assert ok, name

# %% [markdown]
# ## 3. What the graph costs: memory
#
# Every node keeps its inputs alive until backward (the *saved tensors*). For an MLP the
# activations dominate, and they grow with the batch; the parameters do not.
# `graph_stats` counts the distinct buffers the graph holds.

# %% tags=["tests"]
mlp = nn.Sequential(
    nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
)
param_bytes = sum(p.nbytes for p in mlp.parameters())
print(f"parameters: {sum(p.size for p in mlp.parameters()):,} ({param_bytes / 2**20:.2f} MiB)")
print(f"{'batch':>6} {'nodes':>6} {'saved MiB':>10} {'saved / params':>15}")
saved = {}
for batch in (32, 128, 512, 2048):
    xb = tt.randn(batch, 784)
    out = mlp(xb).sum()
    s = ag.graph_stats(out)
    mib, ratio = s.saved_bytes / 2**20, s.saved_bytes / param_bytes
    print(f"{batch:6d} {s.nodes:6d} {mib:10.2f} {ratio:15.2f}")
    saved[batch] = s.saved_bytes
    del out
# the graph saves the parameters once, plus activations that grow linearly with the batch
assert all(b >= param_bytes for b in saved.values())
assert np.isclose((saved[2048] - param_bytes) / (saved[32] - param_bytes), 2048 / 32, rtol=0.05)

# %% [markdown]
# Under `no_grad()` nothing is recorded: inference keeps no activations alive.

# %% tags=["tests"]
with ag.no_grad():
    out = mlp(tt.randn(512, 784))
print("requires_grad under no_grad:", out.requires_grad, "| node:", out._node)
assert not out.requires_grad and out._node is None

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

# %% tags=["tests"]
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
assert len(walk(z)) == 5000
assert np.isclose(float(y.grad.numpy()[0]), 1.0001**5000, rtol=1e-3)  # float32 products

# %% [markdown]
# ## Check yourself
#
# Your rules against a finite difference written here in plain numpy (no autograd involved),
# through broadcasting (`b` is added along the rows, so its gradient must be summed back to
# its shape), and gradients accumulating over two backward calls.

# %% tags=["tests"]
rng = np.random.default_rng(1)
A, B, W = rng.uniform(0.5, 1.5, (3, 4)), rng.uniform(0.5, 1.5, 4), rng.uniform(-1, 1, (4, 2))


def f_numpy(a, b, w):
    return (np.log(a * b) + np.exp(a) / b).mean() + (a @ w).sum()


def numeric_grad(i, eps=1e-6):
    args = [A.copy(), B.copy(), W.copy()]
    grad = np.zeros_like(args[i])
    for j in np.ndindex(grad.shape):
        args[i][j] += eps
        up = f_numpy(*args)
        args[i][j] -= 2 * eps
        down = f_numpy(*args)
        args[i][j] += eps
        grad[j] = (up - down) / (2 * eps)
    return grad


a, b, w = (tt.tensor(v, dtype="float64", requires_grad=True) for v in (A, B, W))
f = ((a * b).log() + a.exp() / b).mean() + (a @ w).sum()
assert np.isclose(f.item(), f_numpy(A, B, W))
f.backward()
assert b.grad.shape == (4,)  # unbroadcast: summed back to b's own shape
for i, t in enumerate((a, b, w)):
    assert np.allclose(t.grad.numpy(), numeric_grad(i), rtol=1e-6, atol=1e-8), i
first = a.grad.numpy().copy()
(((a * b).log() + a.exp() / b).mean() + (a @ w).sum()).backward()
assert np.allclose(a.grad.numpy(), 2 * first)  # leaf gradients accumulate
print("module 09 lab: all checks passed")
