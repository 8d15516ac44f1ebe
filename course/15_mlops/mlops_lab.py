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
# # Module 15 lab: a model after training
#
# `tinytorch-mlops` (model registry, serving, monitoring, drift detection, A/B tests) lands with
# its own issue; its tasks join this module then. Three of its questions can be measured today:
# what a saved model costs on disk and to load, how latency and throughput trade off with the
# batch size when serving, and how a simple statistic notices that the input data has drifted.

# %%
import os
import tempfile
import time

import numpy as np
import tinytorch.autograd as ag
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.train import load_checkpoint, save_checkpoint

tt.manual_seed(0)
model = nn.Sequential(
    nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
)
n_params = sum(p.size for p in model.parameters())

# %% [markdown]
# ## 1. Saving and loading: the safe checkpoint format
#
# An `.npz` of arrays plus JSON metadata, written atomically; loading never unpickles code.

# %% tags=["tests"]
path = os.path.join(tempfile.mkdtemp(), "model.ckpt")
t0 = time.perf_counter()
save_checkpoint(path, model=model, epoch=3)
t_save = time.perf_counter() - t0
t0 = time.perf_counter()
ckpt = load_checkpoint(path)
t_load = time.perf_counter() - t0
print(
    f"{n_params:,} parameters = {4 * n_params / 1024:.0f} KiB of float32; file "
    f"{os.path.getsize(path) / 1024:.0f} KiB; save {1e3 * t_save:.1f} ms, "
    f"load {1e3 * t_load:.1f} ms"
)
model.load_state_dict(ckpt["model"])
assert ckpt["epoch"] == 3
state = model.state_dict()
assert set(ckpt["model"]) == set(state)
assert all(np.array_equal(ckpt["model"][k], state[k].numpy()) for k in state)
assert 4 * n_params <= os.path.getsize(path) < 1.05 * 4 * n_params  # raw float32 + metadata
tt.manual_seed(1)  # a fresh, differently initialised model answers like the saved one once loaded
clone = nn.Sequential(
    nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
)
probe = tt.randn(5, 64)
assert not np.allclose(clone(probe).numpy(), model(probe).numpy())
clone.load_state_dict(load_checkpoint(path)["model"])
assert np.array_equal(clone(probe).numpy(), model(probe).numpy())

# %% [markdown]
# ## 2. Serving: latency vs throughput
#
# Batching requests amortises per-call overhead: throughput rises with the batch, and so does
# the latency each request waits.


# %%
def best_ms(fn, reps=20):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


model.eval()
print(f"{'batch':>6s} {'latency ms':>11s} {'requests/s':>11s}")
for batch in (1, 8, 64, 512):
    xb = tt.randn(batch, 64)

    def serve(xb=xb):
        with ag.no_grad():
            model(xb)

    ms = best_ms(serve)
    print(f"{batch:6d} {ms:11.3f} {batch / (ms / 1e3):11.0f}")

# %% [markdown]
# Batching must change the speed, never the answers: each request's output is the same
# whether it is served alone or in a batch of 64.

# %% tags=["tests"]
requests = tt.randn(64, 64)
with ag.no_grad():
    batched = model(requests).numpy()
    alone = np.concatenate([model(requests[i : i + 1]).numpy() for i in range(64)])
assert batched.shape == (64, 10)
assert np.allclose(batched, alone, rtol=1e-5, atol=1e-5)

# %% [markdown]
# ## 3. Drift: has the input distribution moved?
#
# The population stability index (PSI) compares the histogram of a feature in production with
# the one at training time: PSI = Σ (p − q) ln(p / q) over bins. Rule of thumb: < 0.1 stable,
# > 0.25 drifted.


# %%
def psi(reference, current, bins=10):
    edges = np.quantile(reference, np.linspace(0, 1, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    p = np.histogram(reference, edges)[0] / len(reference) + 1e-6
    q = np.histogram(current, edges)[0] / len(current) + 1e-6
    return float(np.sum((p - q) * np.log(p / q)))


# %% tags=["tests"]
rng = np.random.default_rng(0)
train_feature = rng.normal(0, 1, 10_000)
scores = []
for shift in (0.0, 0.1, 0.25, 0.5, 1.0):
    live = rng.normal(shift, 1, 2_000)
    scores.append(psi(train_feature, live))
    print(f"mean shift {shift:4.2f} std: PSI {scores[-1]:.3f}")
assert scores[0] < 0.1 < 0.25 < scores[-1]  # stable when nothing moved, drifted at 1 std
assert scores == sorted(scores)  # the further the shift, the larger the PSI

# %% [markdown]
# ## Check yourself
#
# PSI is zero for identical distributions and never negative (each term (p - q) ln(p / q) is
# >= 0); it also sees a change of spread, which leaves the mean where it was.

# %% tags=["tests"]
assert psi(train_feature, train_feature) == 0.0
wider = rng.normal(0, 2, 2_000)
assert np.isclose(wider.mean(), 0, atol=0.1) and psi(train_feature, wider) > 0.25
for seed in range(5):
    sample = np.random.default_rng(seed).standard_t(3, 500)
    assert psi(train_feature, sample) >= 0
print("module 15 lab: all checks passed")
