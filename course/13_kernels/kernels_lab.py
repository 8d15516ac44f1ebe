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
# # Module 13 lab: a vectorised, threaded C++ kernel
#
# You write the ReLU forward and backward kernels in
# `packages/tinytorch-tensor/csrc/activation.cpp`: the vector lane code (`apply<W, kRelu>` /
# `apply<W, kReluBw>`, run 16, 8 or 4 floats at a time for AVX-512, AVX2 or SSE/NEON) and the
# one-thread naive twins. After an edit, rebuild: `python tools/dev.py setup` (it rebuilds
# only the extension, incrementally). This lab checks
# your kernels against numpy and measures what vectors and threads buy.

# %%
import time

import numpy as np
import tinytorch.tensor as tt
from tinytorch.tensor import _C

info = _C.build_info()
print(
    "ISA in use:",
    _C.isa(),
    "| compiled:",
    info["compiled_isas"],
    "| threads:",
    _C.num_threads(),
    "| OpenMP:",
    _C.has_openmp(),
)

# %% [markdown]
# ## 1. Correctness first: compare with numpy
#
# Sizes that hit every path: shorter than one vector (the padded tail), vector + tail, and large
# enough to be split between threads. NaN must stay NaN forward; the gradient at 0 is 0.

# %% tags=["tests"]
rng = np.random.default_rng(0)
for n in (1, 7, 16, 37, 1000, 70_001):
    x = rng.normal(size=n).astype(np.float32)
    g = rng.normal(size=n).astype(np.float32)
    ok = (
        np.array_equal(_C.relu(x), np.maximum(x, 0))
        and np.array_equal(_C.relu_naive(x), np.maximum(x, 0))
        and np.array_equal(_C.relu_backward(x, g), np.where(x > 0, g, 0))
        and np.array_equal(_C.relu_backward_naive(x, g), np.where(x > 0, g, 0))
    )
    print(f"n={n:6d}: {'ok' if ok else 'MISMATCH'}")
    assert ok, f"n={n}: your kernels differ from numpy"
print("relu(nan) =", _C.relu(np.array([np.nan], np.float32))[0])
assert np.isnan(_C.relu(np.array([np.nan], np.float32))[0])  # NaN stays NaN forward
assert np.isnan(_C.relu_naive(np.array([np.nan], np.float32))[0])
zero, one = np.zeros(5, np.float32), np.ones(5, np.float32)
assert np.array_equal(_C.relu_backward(zero, one), zero)  # the gradient at 0 is 0
assert np.array_equal(_C.relu_backward_naive(zero, one), zero)

# %% [markdown]
# ## 2. Speed: numpy, the naive loop, the vector kernel, and threads
#
# The seed CNN's first activation: a (64, 64, 28, 28) float32 tensor, 3.2M elements, 12.8 MB.
# ReLU does almost no arithmetic: it is bound by memory bandwidth, so the question is how
# close each version gets to streaming 12.8 MB in and 12.8 MB out.


# %%
def best_ms(fn, reps=20):
    """Fastest wall time of ``reps`` runs, in ms (on a shared machine the minimum is stable)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def cpu_ms(fn, reps=5):
    """CPU time of this thread per run, in ms: immune to other processes taking the cores
    (meaningful for the one-thread rows; a threaded kernel's workers are not counted)."""
    fn()
    t0 = time.thread_time()
    for _ in range(reps):
        fn()
    return 1e3 * (time.thread_time() - t0) / reps


x = rng.normal(size=(64, 64, 28, 28)).astype(np.float32)
g = rng.normal(size=x.shape).astype(np.float32)
default_threads = _C.num_threads()
rows = [  # (name, wall ms, cpu ms or None, bytes moved)
    ("numpy np.maximum(x, 0)", lambda: np.maximum(x, 0), 1, 2),
    ("C++ naive loop", lambda: _C.relu_naive(x), 1, 2),
    ("C++ vector kernel", lambda: _C.relu(x), 1, 2),
    ("C++ vector kernel", lambda: _C.relu(x), default_threads, 2),
    ("numpy backward np.where(x > 0, g, 0)", lambda: np.where(x > 0, g, 0), 1, 3),
    ("C++ backward naive loop", lambda: _C.relu_backward_naive(x, g), 1, 3),
    ("C++ backward vector kernel", lambda: _C.relu_backward(x, g), 1, 3),
    ("C++ backward vector kernel", lambda: _C.relu_backward(x, g), default_threads, 3),
]
print(f"{'':44s} {'wall ms':>8s} {'cpu ms':>8s} {'GB/s':>6s}")
for name, fn, threads, arrays in rows:
    _C.set_num_threads(threads)
    wall = best_ms(fn)
    cpu = f"{cpu_ms(fn):8.2f}" if threads == 1 else "       -"
    label = f"{name}, {threads} thread(s)"
    print(f"{label:44s} {wall:8.2f} {cpu} {arrays * x.nbytes / (wall / 1e3) / 1e9:6.1f}")
_C.set_num_threads(default_threads)

# %% [markdown]
# ## 3. The ISA: the same kernel at 16, 8 and 4 lanes
#
# `set_isa` picks which compiled version runs (the run-time dispatch a portable wheel needs).

# %%
_C.set_num_threads(1)
for isa in info["available_isas"]:
    _C.set_isa(isa)
    print(f"{isa:8s} relu {best_ms(lambda: _C.relu(x)):6.2f} ms (1 thread)")
_C.set_isa(info["isa"])
_C.set_num_threads(default_threads)

# %% [markdown]
# ## 4. Through the layer
#
# `nn.ReLU` on the native backend calls your kernel forward and, through autograd, backward.

# %% tags=["tests"]
import tinytorch.autograd  # noqa: E402,F401
from tinytorch import nn  # noqa: E402

with tt.use_backend("native"):
    xt = tt.tensor(x[:2], requires_grad=True)
    yt = nn.ReLU()(xt)
    yt.sum().backward()
print("grad matches:", np.array_equal(xt.grad.numpy(), (x[:2] > 0).astype(np.float32)))
assert np.array_equal(yt.numpy(), np.maximum(x[:2], 0))
assert np.array_equal(xt.grad.numpy(), (x[:2] > 0).astype(np.float32))

# %% [markdown]
# ## Check yourself
#
# Every compiled ISA and every thread count must give numpy's numbers exactly: a vector lane
# or a thread boundary that handles its tail wrongly shows up here, not in the timings.

# %% tags=["tests"]
xs = rng.normal(size=70_001).astype(np.float32)
gs = rng.normal(size=xs.shape).astype(np.float32)
try:
    for isa in info["available_isas"]:
        _C.set_isa(isa)
        for threads in sorted({1, 2, default_threads}):
            _C.set_num_threads(threads)
            for n in (5, 37, 70_001):
                assert np.array_equal(_C.relu(xs[:n]), np.maximum(xs[:n], 0)), (isa, threads, n)
                expected = np.where(xs[:n] > 0, gs[:n], 0)
                assert np.array_equal(_C.relu_backward(xs[:n], gs[:n]), expected), (isa, threads)
finally:
    _C.set_isa(info["isa"])
    _C.set_num_threads(default_threads)
print("module 13 lab: all checks passed")
