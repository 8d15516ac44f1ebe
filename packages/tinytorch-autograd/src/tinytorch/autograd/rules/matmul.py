"""Backward rule of matmul: dA = dC @ B^T, dB = A^T @ dC, summed over broadcast batch dims."""

from __future__ import annotations

from tinytorch.tensor.ops.matmul import Matmul

from . import register, unbroadcast


@register(Matmul)
def _matmul(op, inputs, out, g):
    # BEGIN SOLUTION 09 rules
    a, b = inputs  # a: (..., M, K), b: (..., K, N), g: (..., M, N)
    ga = g @ b.transpose(-1, -2) if a.requires_grad else None  # (..., M, K)
    gb = a.transpose(-1, -2) @ g if b.requires_grad else None  # (..., K, N)
    return (None if ga is None else unbroadcast(ga, a.shape),
            None if gb is None else unbroadcast(gb, b.shape))
    # END SOLUTION
