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
# # Module 14 lab: measure before you optimise
#
# The benchmarking package (`tinytorch-mlops`'s suites) comes later; the tools to measure are
# here already. This lab builds a tiny op profiler on the dispatch hooks, times GEMM on both
# backends, measures memory with `tracemalloc`, and finds the bottleneck of a training step.

# %%
import time
import tracemalloc
from collections import defaultdict

import numpy as np
import tinytorch.autograd  # noqa: F401
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.tensor import dispatch

C = tt.backend.native()
print("ISA:", C.isa() if C else "none", "| threads:", C.num_threads() if C else 1)


def best_ms(fn, reps=10):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


# %% [markdown]
# ## 1. GEMM: the op that dominates, on both backends
#
# 2 M N K floating-point operations per (M, K) @ (K, N). GFLOP/s tells you how close to the
# machine's peak each backend gets.

# %%
print(f"{'size':>6s} {'numpy ms':>9s} {'native ms':>10s} {'native GFLOP/s':>15s}")
for n in (128, 256, 512, 1024):
    a, b = tt.randn(n, n), tt.randn(n, n)
    with tt.use_backend("numpy"):
        t_np = best_ms(lambda a=a, b=b: a @ b)
    with tt.use_backend("native"):
        t_nat = best_ms(lambda a=a, b=b: a @ b)
    print(f"{n:6d} {t_np:9.2f} {t_nat:10.2f} {2 * n**3 / (t_nat / 1e3) / 1e9:15.1f}")

# %% [markdown]
# ## 2. An op profiler in 20 lines
#
# Every op passes through `dispatch.apply`, which calls pre-hooks before and hooks after:
# a timer per op name. (Backward ops go through the same point, so they are counted too.)


# %%
class OpProfiler:
    def __init__(self):
        self.time, self.calls, self._t0 = defaultdict(float), defaultdict(int), []

    def pre(self, op, inputs):
        self._t0.append(time.perf_counter())

    def post(self, op, inputs, out):
        self.time[op.name] += time.perf_counter() - self._t0.pop()
        self.calls[op.name] += 1

    def __enter__(self):
        self.handles = [dispatch.add_pre_hook(self.pre), dispatch.add_hook(self.post)]
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


tt.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(32 * 8 * 8, 10),
)
x, y = tt.randn(32, 3, 32, 32), tt.tensor(np.arange(32) % 10)
loss_fn = nn.CrossEntropyLoss()
loss_fn(model(x), y).backward()  # warm up
with OpProfiler() as prof:
    for _ in range(3):
        model.zero_grad()
        loss_fn(model(x), y).backward()
total = sum(prof.time.values())
for name, t in sorted(prof.time.items(), key=lambda kv: -kv[1])[:8]:
    print(
        f"{name:28s} {prof.calls[name] // 3:3d} calls/step {1e3 * t / 3:8.2f} ms/step "
        f"{100 * t / total:5.1f}%"
    )

# %% [markdown]
# ## 3. Memory: what a step allocates
#
# `tracemalloc` sees numpy's allocations (not memory a C++ kernel allocates itself).

# %%
tracemalloc.start()
model.zero_grad()
out = model(x)
after_forward = tracemalloc.get_traced_memory()[0]
loss_fn(out, y).backward()
current, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
params = sum(p.nbytes for p in model.parameters())
print(
    f"parameters {params / 2**20:.2f} MiB | live after forward (graph + activations) "
    f"{after_forward / 2**20:.2f} MiB | peak during backward {peak / 2**20:.2f} MiB"
)
