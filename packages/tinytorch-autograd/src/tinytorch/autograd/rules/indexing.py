"""Backward rules of indexing: scatter the gradient back to where the elements came from."""

from __future__ import annotations

import numpy as np

from tinytorch.tensor import dispatch
from tinytorch.tensor.ops import indexing as I

from . import register, unbroadcast


def _is_advanced(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) for k in parts)


class IndexAdd(dispatch.Op):
    """zeros(shape) with ``grad`` added at ``key``: the adjoint of ``x[key]``.

    Advanced keys may pick one element several times (``x[[0, 0]]``); each pick
    adds its gradient, which is what ``np.add.at`` does (a plain ``z[key] += g`` would
    keep only the last).
    """

    name = "index_add"

    def __init__(self, key, shape: tuple[int, ...]):
        self.key, self.shape = key, shape

    def forward(self, grad):
        z = np.zeros(self.shape, dtype=grad.dtype)
        if _is_advanced(self.key):
            np.add.at(z, self.key, grad)
        else:
            z[self.key] = grad  # basic indexing never repeats an element
        return z

    def backward(self, inputs, out, grad):
        return (grad[self.key],)


@register(I.GetItem)
def _getitem(op, inputs, out, g):
    return (dispatch.apply(IndexAdd(op.key, inputs[0].shape), g),)


@register(I.SetItem)
def _setitem(op, inputs, out, g):
    x, value = inputs
    gx = None
    if x.requires_grad:
        gx = g.clone()
        gx[op.key] = 0.0  # the overwritten elements no longer depend on the old x
    gv = unbroadcast(g[op.key], value.shape) if value.requires_grad else None
    return gx, gv
