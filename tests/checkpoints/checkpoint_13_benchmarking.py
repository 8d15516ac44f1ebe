"""Can I analyze performance and identify bottlenecks in ML systems?

The dispatch hooks profile every op of a network's forward pass: which ops ran, how often,
with which shapes, and how long each took; a cost model from the shapes (FLOPs) finds the
matrix multiplications to be the bottleneck of a wide MLP. (Speeds themselves are measured in
benchmarks/, never asserted in tests.)
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
    """Per op name: calls, seconds, and FLOPs estimated from the input and output shapes."""
    stack = []
    stats = defaultdict(lambda: {"calls": 0, "seconds": 0.0, "flops": 0})

    def pre(op, inputs):
        stack.append(time.perf_counter())

    def post(op, inputs, output):
        s = stats[op.name]
        s["calls"] += 1
        s["seconds"] += time.perf_counter() - (stack.pop() if stack else time.perf_counter())
        shapes = [tuple(getattr(x, "shape", ())) for x in inputs]
        if op.name in ("linear", "matmul") and len(shapes[0]) >= 1:
            k = shapes[0][-1]
            s["flops"] += 2 * int(np.prod(output.shape)) * k
        else:
            s["flops"] += int(np.prod(output.shape))

    h1, h2 = dispatch.add_pre_hook(pre), dispatch.add_hook(post)
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        h1.remove()
        h2.remove()
    return dict(stats), time.perf_counter() - t0


def test_profile_accounts_for_the_ops_of_a_forward_pass():
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = tt.tensor(np.ones((2, 8), dtype=np.float32))
    stats, wall = profile(lambda: net(x))
    assert sum(s["calls"] for s in stats.values()) >= 3
    assert any("relu" in name.lower() for name in stats)
    measured = sum(s["seconds"] for s in stats.values())
    assert 0 < measured <= wall


def test_matmul_is_the_bottleneck_of_a_wide_mlp():
    tt.manual_seed(0)
    net = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 512))
    x = tt.tensor(np.random.default_rng(0).standard_normal((64, 512)).astype(np.float32))
    stats, _ = profile(lambda: net(x))
    total = sum(s["flops"] for s in stats.values())
    gemm = sum(s["flops"] for name, s in stats.items() if name in ("linear", "matmul"))
    assert gemm == 2 * 64 * 512 * 1024 * 2  # two layers, 2 FLOPs per multiply-add
    assert gemm / total > 0.99
    heaviest = max(stats, key=lambda n: stats[n]["flops"])
    assert heaviest in ("linear", "matmul")


def test_memory_of_activations_is_accounted():
    x = tt.zeros(256, 1024)
    assert x.nbytes == 256 * 1024 * 4
    assert x.reshape(1024, 256).nbytes == x.nbytes
