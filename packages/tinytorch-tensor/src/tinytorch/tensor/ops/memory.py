"""Memory ops: contiguous copies (the C++ copy kernel) and memory sharing."""

from __future__ import annotations

import numpy as np

from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import as_tensor


class Contiguous(Op):
    """A row-major copy of x (any strides in, C order out)."""

    name = "contiguous"

    def forward(self, x):
        return np.array(x, order="C", copy=True)

    def native(self, x):
        from ..backend import native

        # The kernel blocks 2-D transposes for cache reuse; numpy's copy walks them strided.
        return native().contiguous(x)


def contiguous(x) -> Tensor:
    """A C-contiguous copy of ``x`` that owns its memory (always copies; see `Tensor.contiguous`)."""
    return apply(Contiguous(), as_tensor(x, "contiguous"))


def shares_memory(a, b) -> bool:
    """True when ``a`` and ``b`` overlap in memory, so that writing one can change the other.

    Exact (numpy's ``shares_memory``), so it can be slow for exotic strides.
    """
    return bool(np.shares_memory(as_tensor(a, "shares_memory").data, as_tensor(b, "shares_memory").data))
