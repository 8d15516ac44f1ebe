"""Matrix multiplication: 2-D, batched with broadcasting, and the 1-D vector cases.

On the native backend float32 products run the C++ GEMM (packed, register-tiled,
SIMD, threaded; see ``csrc/gemm*.cpp``); float64 and integer products run numpy.
"""

from __future__ import annotations

import math

import numpy as np

from ..dispatch import Op, apply
from ..dtypes import float32
from ..tensor import Tensor
from ._util import operands


class Matmul(Op):
    """a @ b for a: (..., M, K), b: (..., K, N) with broadcast batch dimensions -> (..., M, N)."""

    name = "matmul"

    def forward(self, a, b):
        # BEGIN SOLUTION 02 matmul
        return np.matmul(a, b)
        # END SOLUTION

    def native(self, a, b):
        if a.dtype != float32 or b.dtype != float32:
            return None
        from ..backend import native

        C = native()
        a, b = _kernel_layout(a), _kernel_layout(b)
        m, k = a.shape[-2:]
        n = b.shape[-1]
        if b.ndim == 2:
            # (..., M, K) @ (K, N): fold the batch into M and run one big GEMM, which
            # keeps both cores busy even when each batch item is a small matrix.
            # Sizes are spelled out: reshape(-1, 0) is ambiguous and fails when K == 0.
            if a.ndim == 2:
                # The GEMM's own array, not a reshape view of it: autograd hands an array that
                # owns its memory to .grad as it is, and copies a view.
                return C.gemm(a, b)
            out = C.gemm(a.reshape(math.prod(a.shape[:-1]), k), b)
            return out.reshape(a.shape[:-1] + (n,))
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        # Broadcast batch dimensions have stride 0; reshape keeps that for one batch dimension.
        nb = math.prod(batch)
        a3 = np.broadcast_to(a, batch + (m, k)).reshape(nb, m, k)
        b3 = np.broadcast_to(b, batch + (k, n)).reshape(nb, k, n)
        return C.bmm(a3, b3).reshape(batch + (m, n))


def _kernel_layout(x: np.ndarray) -> np.ndarray:
    """``x`` in a layout the GEMM kernels read: aligned, with non-negative whole-float strides.

    Transposed, sliced and broadcast (stride 0) views qualify as they are; a view with a
    negative stride (``x[::-1]``) is copied first.
    """
    if x.flags.aligned and all(s >= 0 and s % x.itemsize == 0 for s in x.strides):
        return x
    return np.ascontiguousarray(x)


def matmul(a, b) -> Tensor:
    """The matrix product ``a @ b``, with numpy's rules for every rank.

    - 2-D @ 2-D: (M, K) @ (K, N) -> (M, N).
    - Batched: (..., M, K) @ (..., K, N) -> (..., M, N), batch dimensions broadcast.
    - A 1-D left operand is a row vector, a 1-D right operand a column vector;
      the added dimension is removed from the result.

    Raises ValueError naming both shapes when the inner dimensions differ:
    ``matmul: shapes (32, 100) and (64, 10) do not align (100 != 64)``.

    Examples:
        >>> from tinytorch.tensor import ones
        >>> (ones(2, 3) @ ones(3, 4)).shape
        (2, 4)
    """
    a, b = operands("matmul", a, b)
    # BEGIN SOLUTION 02 matmul
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align ({k_a} != {k_b})")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions {a.shape[:-2]} and {b.shape[:-2]} of shapes {a.shape} and "
            f"{b.shape} cannot be broadcast together"
        ) from None
    from .shape import squeeze, unsqueeze

    if a.ndim == 1 and b.ndim == 1:
        return squeeze(apply(Matmul(), unsqueeze(a, 0), unsqueeze(b, 1)), (-2, -1))
    if a.ndim == 1:
        return squeeze(apply(Matmul(), unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(apply(Matmul(), a, unsqueeze(b, 1)), -1)
    return apply(Matmul(), a, b)
    # END SOLUTION
