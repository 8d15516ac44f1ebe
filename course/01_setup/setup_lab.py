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
# # Module 01 lab: know the machine you measure on
#
# You wrote `system_info()` and `check_python()` in
# `packages/tinytorch-tensor/src/tinytorch/tensor/info.py`. Every number later in the course
# (GFLOP/s of a matmul, samples/s of a loader) depends on what this prints.

# %% tags=["tests"]
import time

import numpy as np
import tinytorch.tensor as tt

info = tt.system_info()
for key, value in info.items():
    print(f"{key:<10} {value}")
assert tt.check_python((3, 10)), "TinyTorch needs Python 3.10 or newer"

# %% [markdown]
# ## What the backend switch does
#
# The same op runs either the numpy reference or a C++ kernel. `system_info()["backend"]`
# follows `use_backend`:

# %% tags=["tests"]
with tt.use_backend("numpy"):
    assert tt.system_info()["backend"] == "numpy"
print("default backend:", tt.get_backend(), "| native kernels available:", tt.native_available())

# %% [markdown]
# ## A first measurement: how fast is this machine?
#
# A float32 matrix product of two n x n matrices does 2 n^3 floating-point operations.
# Peak rate = cores x SIMD width x FMA units x 2 x clock; numpy's BLAS and TinyTorch's GEMM
# get close to it for large n.


# %%
def gflops(n: int, backend: str) -> float:
    a, b = tt.randn(n, n), tt.randn(n, n)
    with tt.use_backend(backend):
        a @ b  # warm up
        t0 = time.perf_counter()
        for _ in range(3):
            a @ b
        dt = (time.perf_counter() - t0) / 3
    return 2 * n**3 / dt / 1e9


backends = ["numpy"] + (["native"] if tt.native_available() else [])
for n in (128, 512):
    print(n, {be: f"{gflops(n, be):.3g}" for be in backends}, "GFLOP/s")

# %% [markdown]
# ## Check yourself

# %% tags=["tests"]
assert set(info) >= {"python", "numpy", "cpu_count", "backend", "native", "isa", "threads"}
assert info["numpy"] == np.__version__
assert (info["isa"] is None) == (not info["native"])
print("module 01 lab: all checks passed")
