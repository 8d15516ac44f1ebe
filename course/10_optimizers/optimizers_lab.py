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
# # Module 10 lab: optimizers, their state and their speed
#
# You implement the numpy updates of `SGD` (momentum, dampening, Nesterov, weight decay),
# `Adam`/`AdamW`, and `clip_grad_norm_` in `tinytorch-optim`. This lab runs your installed
# code on the numpy backend (where your update is what runs), compares the optimizers on a
# badly conditioned problem, measures their memory, and times your numpy update against the
# fused C++ update the native backend uses in the reference.

# %%
import time

import numpy as np
import tinytorch.tensor as tt
from tinytorch.optim import SGD, Adam, AdamW, clip_grad_norm_

tt.set_backend("numpy")  # your numpy update code, never the fused kernels

# %% [markdown]
# ## 1. A badly conditioned quadratic
#
# f(w) = 0.5 (100 w0^2 + w1^2): one direction is 100x steeper. Plain SGD must keep lr below
# 2/100 to stay stable, and then crawls along the flat direction; momentum and Adam do better.
# (Nesterov looks ahead by lr * (1 + momentum) * g: at lr 0.019 it diverges here, so lr 0.01.)


# %%
def run(make_opt, steps=100):
    w = tt.tensor(np.array([1.0, 1.0], np.float32), requires_grad=True)
    opt = make_opt([w])
    for _ in range(steps):
        w.grad = tt.tensor(np.array([100.0, 1.0], np.float32) * w.numpy())
        opt.step()
    x = w.numpy()
    return 0.5 * (100 * x[0] ** 2 + x[1] ** 2)


# %% tags=["tests"]
final = {}
for name, make in {
    "SGD lr=0.019": lambda p: SGD(p, lr=0.019),
    "SGD momentum 0.9": lambda p: SGD(p, lr=0.019, momentum=0.9),
    "SGD Nesterov 0.9": lambda p: SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "Adam lr=0.1": lambda p: Adam(p, lr=0.1),
    "AdamW lr=0.1 wd=0.01": lambda p: AdamW(p, lr=0.1, weight_decay=0.01),
}.items():
    final[name] = run(make)
    print(f"{name:22s} loss after 100 steps: {final[name]:.2e}")
assert all(loss < 0.5 * 50.5 for loss in final.values())  # every one descends from f = 50.5
assert final["SGD momentum 0.9"] < final["SGD lr=0.019"]  # momentum beats the crawl
assert final["Adam lr=0.1"] < final["SGD lr=0.019"]

# %% [markdown]
# ## 2. Memory: the state each optimizer keeps
#
# SGD keeps nothing, momentum one buffer per parameter, Adam two (m and v), AMSGrad three.

# %% tags=["tests"]
params = [tt.zeros(1000, 1000, requires_grad=True), tt.zeros(1000, requires_grad=True)]
pbytes = sum(p.nbytes for p in params)
expected_copies = {"SGD": 0, "SGD momentum": 1, "Adam": 2, "Adam amsgrad": 3}
for name, opt in {
    "SGD": SGD(params, lr=0.1),
    "SGD momentum": SGD(params, lr=0.1, momentum=0.9),
    "Adam": Adam(params),
    "Adam amsgrad": Adam(params, amsgrad=True),
}.items():
    for p in params:
        p.grad = tt.ones(*p.shape)
    opt.step()
    print(
        f"{name:14s} state {opt.state_bytes() / 2**20:6.2f} MiB = "
        f"{opt.state_bytes() / pbytes:.0f}x the parameters ({pbytes / 2**20:.2f} MiB)"
    )
    assert opt.state_bytes() == expected_copies[name] * pbytes, name

# %% [markdown]
# ## 3. Speed: your numpy update vs the fused C++ update
#
# The numpy update makes a temporary for almost every line (`(1 - beta1) * g`, `g * g`,
# `np.sqrt(v)`, ...), each a full pass over memory. The fused kernel (`_C.adam_update`) reads
# and writes each element once. Same numbers, very different memory traffic.


# %%
def best_ms(fn, reps=11):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


n = 4_000_000  # 16 MB of float32 parameters
rows = []
for name, make in {
    "SGD momentum": lambda p: SGD(p, lr=0.01, momentum=0.9),
    "Adam": lambda p: Adam(p, lr=1e-3),
}.items():
    for backend in ("numpy", "native"):
        if backend == "native" and not tt.backend.native_available():
            continue
        with tt.use_backend(backend):
            p = tt.zeros(n, requires_grad=True)
            p.grad = tt.tensor(np.random.default_rng(0).normal(size=n).astype(np.float32))
            opt = make([p])
            rows.append((name, backend, best_ms(opt.step)))
for name, backend, ms in rows:
    print(f"{name:13s} {backend:7s} {ms:7.2f} ms per step  ({n / 1e6:.0f}M params)")

# %% [markdown]
# ## 4. Gradient clipping

# %% tags=["tests"]
w = tt.zeros(3, requires_grad=True)
w.grad = tt.tensor([30.0, 40.0, 0.0])
total = clip_grad_norm_([w], max_norm=1.0)
print("norm before:", total.item(), " after:", float(np.linalg.norm(w.grad.numpy())))
assert np.isclose(total.item(), 50.0)
assert np.allclose(w.grad.numpy(), [0.6, 0.8, 0.0], atol=1e-5)  # same direction, norm 1
small = tt.zeros(2, requires_grad=True)
small.grad = tt.tensor([0.3, 0.4])
clip_grad_norm_([small], max_norm=1.0)
assert np.allclose(small.grad.numpy(), [0.3, 0.4])  # under the limit: untouched

# %% [markdown]
# ## Check yourself: each update is its formula
#
# Three steps of each optimizer on random gradients, against the update rules written out in
# plain numpy (the formulas in the module docstrings of `sgd.py` and `adam.py`). On the native
# backend the fused C++ update must give the same numbers as your numpy update.


# %%
def steps(make_opt, grads, backend="numpy"):
    with tt.use_backend(backend):
        w = tt.tensor(np.linspace(-1, 1, 6).astype(np.float32), requires_grad=True)
        opt = make_opt([w])
        for g in grads:
            w.grad = tt.tensor(g)
            opt.step()
        return w.numpy().astype(np.float64)


def sgd_formula(grads, lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False):
    p, buf = np.linspace(-1, 1, 6).astype(np.float32).astype(np.float64), None
    for g in grads:
        g = g + wd * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def adam_formula(grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    p = np.linspace(-1, 1, 6).astype(np.float32).astype(np.float64)
    m, v = np.zeros(6), np.zeros(6)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


# %% tags=["tests"]
grads = [np.random.default_rng(i).normal(size=6).astype(np.float32) for i in range(3)]
cases = {
    "SGD": (lambda p: SGD(p, lr=0.1), sgd_formula(grads, 0.1)),
    "SGD momentum, dampening, wd": (
        lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
        sgd_formula(grads, 0.1, momentum=0.9, dampening=0.1, wd=0.01),
    ),
    "SGD Nesterov": (
        lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        sgd_formula(grads, 0.1, momentum=0.9, nesterov=True),
    ),
    "Adam (L2)": (
        lambda p: Adam(p, lr=0.01, weight_decay=0.1),
        adam_formula(grads, 0.01, wd=0.1),
    ),
    "AdamW": (
        lambda p: AdamW(p, lr=0.01, weight_decay=0.1),
        adam_formula(grads, 0.01, wd=0.1, decoupled=True),
    ),
}
for name, (make, expected) in cases.items():
    mine = steps(make, grads)
    print(f"{name:28s} max |yours - formula| = {np.abs(mine - expected).max():.1e}")
    assert np.allclose(mine, expected, rtol=1e-5, atol=1e-6), name
    if tt.backend.native_available():  # the fused kernel: the same float32 numbers
        assert np.allclose(steps(make, grads, "native"), mine, rtol=1e-5, atol=1e-6), name
print("module 10 lab: all checks passed")
