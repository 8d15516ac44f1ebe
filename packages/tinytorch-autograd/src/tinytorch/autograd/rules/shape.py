"""Backward rules of the shape ops: undo the reshaping on the gradient."""

from __future__ import annotations

from tinytorch.tensor.ops import memory as M
from tinytorch.tensor.ops import shape as S

from . import register, unbroadcast


@register(S.Reshape)
def _reshape(op, inputs, out, g):
    return (g.reshape(inputs[0].shape),)


@register(S.Permute)
def _permute(op, inputs, out, g):
    inverse = [0] * len(op.dims)
    for i, d in enumerate(op.dims):
        inverse[d] = i
    return (g.permute(*inverse),)


@register(S.BroadcastTo)
def _broadcast_to(op, inputs, out, g):
    return (unbroadcast(g, inputs[0].shape),)


@register(S.Concatenate)
def _concatenate(op, inputs, out, g):
    grads, start = [], 0
    lead = (slice(None),) * op.axis
    for t in inputs:
        size = t.shape[op.axis]
        grads.append(g[lead + (slice(start, start + size),)])
        start += size
    return tuple(grads)


@register(M.Contiguous)
def _contiguous(op, inputs, out, g):
    return (g,)
