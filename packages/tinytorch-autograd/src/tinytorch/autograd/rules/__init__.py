"""Backward rules for every tensor op, written with tensor ops (so gradients of gradients work).

A rule is ``rule(op, inputs, out, grad) -> tuple`` with one gradient (a Tensor, or
None where no gradient flows) per input. `register` files one under its op class;
ops defined elsewhere (nn's fused ops) instead override `Op.backward`, which has the
same signature and which `rule_for` falls back to.
"""

from __future__ import annotations

from typing import Callable

Rule = Callable[..., tuple]
RULES: dict[type, Rule] = {}


def register(*op_classes: type):
    """Decorator: use the function as the backward rule of ``op_classes``."""

    def deco(fn: Rule) -> Rule:
        for cls in op_classes:
            RULES[cls] = fn
        return fn

    return deco


def rule_for(op) -> Rule:
    """The backward rule of ``op``: a registered one, else the op's own ``backward`` method."""
    rule = RULES.get(type(op))
    if rule is not None:
        return rule
    return lambda _op, inputs, out, grad: op.backward(inputs, out, grad)


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` over the axes broadcasting added or stretched, so that it has ``shape``.

    If ``x`` of shape (3, 1) was broadcast to (2, 3, 4), each of its elements fed
    8 outputs, so its gradient is the sum over axis 0 (added) and axis 2 (stretched).
    """
    # BEGIN SOLUTION 09 unbroadcast
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
    # END SOLUTION


from . import elementwise, indexing, matmul, reduce, shape  # noqa: E402,F401  (they register)
