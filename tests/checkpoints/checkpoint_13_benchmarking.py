"""Can I analyze performance and identify bottlenecks in ML systems?

The dispatch hooks time every op of a network's forward pass; the profile accounts for the
ops that ran, finds the matrix multiplications to be the bottleneck of a wide MLP, and the
measured GEMM beats its naive reference loop.
"""

import time
from collections import defaultdict

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")
from tinytorch.tensor import dispatch  # noqa: E402


def profile(fn):
    starts, totals, counts = {}, defaultdict(float), defaultdict(int)

    def pre(op, inputs):
        starts[id(op)] = time.perf_counter()

    def post(op, inputs, output):
        totals[op.name] += time.perf_counter() - starts.pop(id(op), time.perf_counter())
        counts[op.name] += 1

    h1, h2 = dispatch.add_pre_hook(pre), dispatch.add_hook(post)
    try:
        fn()
    finally:
        h1.remove()
        h2.remove()
    return dict(totals), dict(counts)


def test_profile_counts_the_ops_of_a_forward_pass():
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = tt.tensor(np.ones((2, 8), dtype=np.float32))
    _, counts = profile(lambda: net(x))
    assert sum(counts.values()) >= 3
    assert any("relu" in name.lower() for name in counts)


def test_matmul_is_the_bottleneck_of_a_wide_mlp():
    tt.manual_seed(0)
    net = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 512))
    x = tt.tensor(np.random.default_rng(0).standard_normal((256, 512)).astype(np.float32))
    net(x)  # warm up
    totals, _ = profile(lambda: [net(x) for _ in range(3)])
    heaviest = max(totals, key=totals.get)
    assert any(w in heaviest.lower() for w in ("matmul", "linear", "gemm", "addmm")), totals


def test_gemm_is_faster_than_the_naive_loop():
    from tinytorch.tensor import _C

    rng = np.random.default_rng(0)
    a = rng.standard_normal((192, 192)).astype(np.float32)
    b = rng.standard_normal((192, 192)).astype(np.float32)

    def best(f, reps=3):
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f(a, b)
            times.append(time.perf_counter() - t0)
        return min(times)

    assert best(_C.gemm) < best(_C.gemm_naive)
