"""Backward rules of the reductions: spread the gradient back over the reduced axes."""

from __future__ import annotations

import math

from tinytorch.tensor.ops import reduce as R

from . import register


def _kept(op, x, t):
    """``t`` (the shape of a reduction's output) reshaped as if keepdims=True, to broadcast against x."""
    if op.axis is None:
        return t.reshape((1,) * x.ndim)
    return t.reshape(tuple(1 if i in op.axis else s for i, s in enumerate(x.shape)))


def _count(op, x) -> int:
    return x.size if op.axis is None else math.prod(x.shape[a] for a in op.axis)


@register(R.Sum)
def _sum(op, inputs, out, g):
    # BEGIN SOLUTION 09 rules
    (x,) = inputs
    return (_kept(op, x, g).broadcast_to(x.shape),)
    # END SOLUTION


@register(R.Mean)
def _mean(op, inputs, out, g):
    # BEGIN SOLUTION 09 rules
    (x,) = inputs
    return (_kept(op, x, g).broadcast_to(x.shape) / _count(op, x),)
    # END SOLUTION


@register(R.Max, R.Min)
def _max_min(op, inputs, out, g):
    (x,) = inputs
    # Ties share the gradient equally (as PyTorch's amax/amin): each of k equal maxima gets g/k.
    hit = (x == _kept(op, x, out)).to(g.dtype)
    count = hit.sum(axis=op.axis, keepdims=True)
    return (hit * (_kept(op, x, g) / count),)


@register(R.Var)
def _var(op, inputs, out, g):
    (x,) = inputs
    n = _count(op, x)
    centred = x - x.mean(axis=op.axis, keepdims=True)
    return (_kept(op, x, g) * centred * (2.0 / (n - op.correction)),)


@register(R.ArgMax, R.ArgMin, R.Any, R.All)
def _no_grad(op, inputs, out, g):
    return (None,)
