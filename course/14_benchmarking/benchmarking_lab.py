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
# A fast kernel is worth nothing if it is wrong: before trusting a timing, check that both
# backends compute the same product (odd sizes hit the kernels' edge tiles).

# %% tags=["tests"]
for m_, k_, n_ in ((1, 1, 1), (7, 13, 5), (128, 64, 96), (300, 257, 129)):
    a, b = tt.randn(m_, k_), tt.randn(k_, n_)
    expected = a.numpy().astype(np.float64) @ b.numpy().astype(np.float64)
    for backend in ("numpy", "native") if C else ("numpy",):
        with tt.use_backend(backend):
            got = (a @ b).numpy()
        assert got.shape == (m_, n_) and got.dtype == np.float32
        assert np.allclose(got, expected, rtol=1e-4, atol=1e-4), (backend, m_, k_, n_)

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
# The counts, unlike the times, are exact: they follow from the model. Three steps of two
# convolutions, two ReLUs, two poolings and one linear layer; the first convolution needs no
# gradient for its input (the images), the second one does.

# %% tags=["tests"]
assert prof.calls["conv2d"] == 3 * 2 and prof.calls["conv2d_grad_weight"] == 3 * 2
assert prof.calls["conv2d_grad_input"] == 3 * 1
assert prof.calls["relu"] == prof.calls["relu_backward"] == 3 * 2
assert prof.calls["max_pool2d"] == 3 * 2 and prof.calls["linear"] == 3 * 1
assert set(prof.time) == set(prof.calls) and all(t >= 0 for t in prof.time.values())
before = dict(prof.calls)
loss_fn(model(x), y).backward()  # after the with block the hooks are gone
assert dict(prof.calls) == before

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

# %% [markdown]
# ## Check yourself
#
# The graph keeps the first convolution's output (for the ReLU's backward) and the ReLU's
# output (for the pooling's backward): two (32, 16, 32, 32) float32 arrays, 2 MiB each, far
# more than the parameters. And the profiler counts exactly the ops a tiny forward runs.

# %% tags=["tests"]
activation = 32 * 16 * 32 * 32 * 4
assert after_forward >= 2 * activation > 10 * params
assert peak >= after_forward
with OpProfiler() as tiny, tinytorch.autograd.no_grad():
    nn.ReLU()(tt.randn(4, 3) @ tt.randn(3, 2) + tt.randn(2)).sum()
assert dict(tiny.calls) == {"matmul": 1, "add": 1, "relu": 1, "sum": 1}
print("module 14 lab: all checks passed")
