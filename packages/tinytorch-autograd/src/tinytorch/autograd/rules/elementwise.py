"""Backward rules of the elementwise ops."""

from __future__ import annotations

from tinytorch.tensor import where
from tinytorch.tensor.ops import elementwise as E

from . import register, unbroadcast


@register(E.Add)
def _add(op, inputs, out, g):
    a, b = inputs
    return unbroadcast(g, a.shape), unbroadcast(g, b.shape)


@register(E.Sub)
def _sub(op, inputs, out, g):
    a, b = inputs
    return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)


@register(E.Mul)
def _mul(op, inputs, out, g):
    # BEGIN SOLUTION 09 rules
    a, b = inputs
    return unbroadcast(g * b, a.shape), unbroadcast(g * a, b.shape)
    # END SOLUTION


@register(E.Div)
def _div(op, inputs, out, g):
    # BEGIN SOLUTION 09 rules
    a, b = inputs
    return unbroadcast(g / b, a.shape), unbroadcast(-g * a / (b * b), b.shape)
    # END SOLUTION


@register(E.Pow)
def _pow(op, inputs, out, g):
    a, b = inputs
    ga = unbroadcast(g * b * a ** (b - 1), a.shape)
    # d(a^b)/db = a^b * log(a): only computed when b needs it (log of a negative base is nan).
    gb = unbroadcast(g * out * a.log(), b.shape) if b.requires_grad else None
    return ga, gb


def _split_ties(winner, tie, g):
    # Where a and b are equal each gets half the gradient, as PyTorch does.
    w = winner.to(g.dtype) + tie.to(g.dtype) * 0.5
    return g * w, g * (1 - w)


@register(E.Maximum)
def _maximum(op, inputs, out, g):
    a, b = inputs
    ga, gb = _split_ties(a > b, a == b, g)
    return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


@register(E.Minimum)
def _minimum(op, inputs, out, g):
    a, b = inputs
    ga, gb = _split_ties(a < b, a == b, g)
    return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


@register(E.Compare)
def _compare(op, inputs, out, g):
    return None, None


@register(E.Neg)
def _neg(op, inputs, out, g):
    return (-g,)


@register(E.Exp)
def _exp(op, inputs, out, g):
    # BEGIN SOLUTION 09 rules
    return (g * out,)
    # END SOLUTION


@register(E.Log)
def _log(op, inputs, out, g):
    # BEGIN SOLUTION 09 rules
    return (g / inputs[0],)
    # END SOLUTION


@register(E.Sqrt)
def _sqrt(op, inputs, out, g):
    return (g / (out * 2),)


@register(E.Abs)
def _abs(op, inputs, out, g):
    (x,) = inputs
    sign = (x > 0).to(g.dtype) - (x < 0).to(g.dtype)  # 0 at 0, as PyTorch
    return (g * sign,)


@register(E.Clip)
def _clip(op, inputs, out, g):
    (x,) = inputs
    keep = None  # the gradient passes where low <= x <= high (bounds included, as PyTorch)
    if op.low is not None:
        keep = x >= op.low
    if op.high is not None:
        below = x <= op.high
        keep = below if keep is None else where(keep, below, False)
    return (where(keep, g, 0.0),)


@register(E.Where)
def _where(op, inputs, out, g):
    cond, a, b = inputs
    return None, unbroadcast(where(cond, g, 0.0), a.shape), unbroadcast(where(cond, 0.0, g), b.shape)


@register(E.Cast)
def _cast(op, inputs, out, g):
    (x,) = inputs
    return (g.to(x.dtype) if x.dtype.kind == "f" else None,)
