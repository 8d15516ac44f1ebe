"""Gradients against PyTorch (skipped cleanly where torch is not installed)."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt

torch = pytest.importorskip("torch")

def _softmax(m, a):
    if m is torch:
        z = (a - a.max(1, keepdim=True).values).exp()
        return z / z.sum(1, keepdim=True)
    z = (a - a.max(axis=1, keepdims=True)).exp()
    return z / z.sum(axis=1, keepdims=True)


# Each case is written once and run on both frameworks: `m` is the module (tt or torch).
CASES = {
    "broadcast_arith": (lambda m, a, b: ((a * b + a / (b.abs() + 1)) - b).sum(), [(3, 1, 4), (2, 4)]),
    "exp_log_sqrt": (lambda m, a, b: ((a.exp() + 1).log() * (b * b + 1).sqrt()).mean(), [(5, 6), (5, 6)]),
    "matmul_batched": (lambda m, a, b: (a @ b).pow(2).sum(), [(2, 3, 4), (4, 5)]),
    "max_var": (lambda m, a, b: a.max() + (b.var(1) if m is torch else b.var(axis=1)).sum(), [(4, 5), (3, 6)]),
    "softmax": (lambda m, a, b: (_softmax(m, a) * b).sum(), [(4, 7), (4, 7)]),
    "index_where_clip": (lambda m, a, b: (m.where(a > 0, a, b[0]) + a[[0, 2, 0]].sum(0)
                                          + b.clip(-0.3, 0.3)[1]).sum(), [(3, 4), (2, 4)]),
    "transpose_reshape_cat": (lambda m, a, b: (m.cat([a.transpose(0, 1), b], 0).reshape(-1) ** 3).sum(),
                              [(3, 4), (2, 3)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_outputs_and_gradients_match_pytorch(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]

    ours = [tt.tensor(a, requires_grad=True) for a in arrays]
    out = fn(tt, *ours)
    out.backward()

    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = fn(torch, *theirs)
    ref.backward()

    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    for mine, t in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
