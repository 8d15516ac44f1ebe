"""Every tensor op's backward rule against float64 central differences, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.autograd import GradcheckError, gradcheck

POS = (0.5, 2.0)  # inputs kept away from 0 (log, sqrt, division, pow)

# (id, fn, input shapes, value range per input or one for all)
CASES = [
    ("add_broadcast", lambda a, b: a + b, [(3, 1), (1, 4)], None),
    ("add_scalar", lambda a: a + 2.0, [(2, 3)], None),
    ("sub_broadcast", lambda a, b: a - b, [(2, 3, 4), (4,)], None),
    ("rsub_scalar", lambda a: 1.0 - a, [(3,)], None),
    ("mul_broadcast", lambda a, b: a * b, [(2, 1, 4), (3, 1)], None),
    ("div_broadcast", lambda a, b: a / b, [(2, 3), (3,)], [None, POS]),
    ("rdiv_scalar", lambda a: 2.0 / a, [(4,)], POS),
    ("pow_tensor_exponent", lambda a, b: a**b, [(2, 3), (2, 3)], [POS, None]),
    ("pow_scalar", lambda a: a**3, [(5,)], None),
    ("rpow", lambda a: 2.0**a, [(5,)], None),
    ("maximum", lambda a, b: tt.maximum(a, b), [(3, 4), (4,)], None),
    ("minimum", lambda a, b: tt.minimum(a, b), [(3, 4), (3, 1)], None),
    ("neg", lambda a: -a, [(3,)], None),
    ("exp", lambda a: a.exp(), [(2, 3)], None),
    ("log", lambda a: a.log(), [(2, 3)], POS),
    ("sqrt", lambda a: a.sqrt(), [(2, 3)], POS),
    ("abs", lambda a: a.abs(), [(2, 3)], POS),
    ("abs_negative", lambda a: abs(-a), [(4,)], POS),
    ("clip_both", lambda a: a.clip(-0.5, 0.5), [(4, 5)], None),
    ("clip_low", lambda a: a.clip(min=0.0), [(4, 5)], None),
    ("where", lambda a, b: tt.where(a > 0, a * 2, b), [(3, 4), (4,)], None),
    ("sum_all", lambda a: a.sum(), [(2, 3)], None),
    ("sum_axis", lambda a: a.sum(axis=1), [(2, 3, 4)], None),
    ("sum_axes_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)], None),
    ("mean_all", lambda a: a.mean(), [(2, 3)], None),
    ("mean_axis", lambda a: a.mean(axis=-1), [(2, 3, 4)], None),
    ("max_axis", lambda a: a.max(axis=1), [(3, 5)], None),
    ("max_all_keepdims", lambda a: a.max(keepdims=True), [(3, 5)], None),
    ("min_axis", lambda a: a.min(axis=0), [(3, 5)], None),
    ("var_unbiased", lambda a: a.var(axis=1), [(3, 5)], None),
    ("var_population_keepdims", lambda a: a.var(axis=0, keepdims=True, correction=0), [(4, 3)], None),
    ("std", lambda a: a.std(), [(3, 4)], None),
    ("reshape", lambda a: a.reshape(3, -1) * tt.arange(4.0), [(2, 6)], None),
    ("view", lambda a: a.view(6) * tt.arange(6.0), [(2, 3)], None),
    ("flatten", lambda a: a.flatten(1), [(2, 3, 4)], None),
    ("transpose", lambda a: a.transpose(0, 2) @ tt.ones(2, 3, dtype="float64"), [(2, 3, 4)], None),
    ("permute", lambda a: a.permute(1, 2, 0) * tt.arange(2.0), [(2, 3, 4)], None),
    ("T", lambda a, b: a.T @ b, [(3, 4), (3, 2)], None),
    ("expand", lambda a: a.expand(4, 3) * tt.arange(12.0).reshape(4, 3), [(1, 3)], None),
    ("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), [(3, 1)], None),
    ("squeeze", lambda a: a.squeeze(), [(1, 3, 1)], None),
    ("unsqueeze", lambda a: a.unsqueeze(1) * tt.ones(2, 4, 3, dtype="float64"), [(2, 3)], None),
    ("concatenate", lambda a, b: tt.concatenate([a, b, a], axis=1), [(2, 3), (2, 1)], None),
    ("stack", lambda a, b: tt.stack([a, b], axis=-1), [(2, 3), (2, 3)], None),
    ("getitem_basic", lambda a: a[1:, ::2, None], [(3, 5)], None),
    ("getitem_int", lambda a: a[1, -1], [(3, 5)], None),
    ("getitem_advanced_repeats", lambda a: a[[0, 2, 0, 0]], [(3, 2)], None),
    ("getitem_mixed", lambda a: a[tt.tensor([1, 0]), 1:3], [(3, 4)], None),
    ("getitem_mask", lambda a: a[a > 0], [(4, 4)], None),
    ("matmul_2d", lambda a, b: a @ b, [(3, 4), (4, 2)], None),
    ("matmul_batched", lambda a, b: a @ b, [(2, 3, 4), (2, 4, 5)], None),
    ("matmul_broadcast_batch", lambda a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)], None),
    ("matmul_batched_by_2d", lambda a, b: a @ b, [(2, 3, 4), (4, 5)], None),
    ("matmul_vector_left", lambda a, b: a @ b, [(4,), (4, 3)], None),
    ("matmul_vector_right", lambda a, b: a @ b, [(2, 3, 4), (4,)], None),
    ("matmul_dot", lambda a, b: a @ b, [(4,), (4,)], None),
    ("contiguous", lambda a: a.T.contiguous() * tt.arange(6.0).reshape(3, 2), [(2, 3)], None),
    ("clone", lambda a: a.clone() * a, [(2, 3)], None),
    ("softmax_composite", lambda a: (a - a.max(axis=1, keepdims=True)).exp()
     / (a - a.max(axis=1, keepdims=True)).exp().sum(axis=1, keepdims=True), [(3, 5)], None),
]


@pytest.mark.parametrize("name, fn, shapes, ranges", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(backend, make, name, fn, shapes, ranges):
    if ranges is None or isinstance(ranges[0], float):
        ranges = [ranges] * len(shapes)
    inputs = [make(s, *(r or (-1.0, 1.0))) for s, r in zip(shapes, ranges)]
    assert gradcheck(fn, inputs)


def test_setitem_gradients_reach_the_value_and_the_untouched_elements(backend, make):
    def fn(x, v):
        y = x * 1.0  # a non-leaf copy to write into
        y[1:, 0] = v
        return y * y

    assert gradcheck(fn, [make((3, 4)), make((2,))])


def test_setitem_with_a_broadcast_value(backend, make):
    def fn(x, v):
        y = x + 0.0
        y[:, 1:3] = v  # v: (2,) broadcast over the rows
        return y.exp()

    assert gradcheck(fn, [make((3, 4)), make((2,))])


def test_gradcheck_catches_a_wrong_rule(make):
    from tinytorch.autograd import rules
    from tinytorch.tensor.ops.elementwise import Exp

    saved = rules.RULES[Exp]
    rules.RULES[Exp] = lambda op, inputs, out, g: (g * out * 1.01,)  # 1% off
    try:
        with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 3\)\) at index"):
            gradcheck(lambda a: a.exp(), [make((2, 3))])
    finally:
        rules.RULES[Exp] = saved


def test_gradcheck_refuses_float32_and_inputs_without_grad():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda a: a * 2, [tt.ones(3, requires_grad=True)])
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda a: a * 2, [tt.ones(3, dtype="float64")])


def test_every_tensor_op_has_a_rule():
    """No op class in tinytorch.tensor.ops may be left without a backward rule."""
    import inspect

    from tinytorch.autograd.rules import RULES
    from tinytorch.tensor.dispatch import Op
    from tinytorch.tensor.ops import elementwise, indexing, matmul, memory, reduce, shape

    missing = []
    for module in (elementwise, indexing, matmul, memory, reduce, shape):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Op) and cls.__module__ == module.__name__ and cls not in RULES:
                if not any(cls is base for base in (reduce.Reduce,)):
                    missing.append(cls.__name__)
    assert missing == []


@pytest.mark.parametrize("fn, x, expected", [
    # ties share the gradient equally, as PyTorch's amax / maximum do
    (lambda x: x.max(), [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
    (lambda x: x.min(axis=0), [2.0, 2.0, 5.0], [0.5, 0.5, 0.0]),
    (lambda x: tt.maximum(x, tt.tensor([1.0, 0.0, 5.0], dtype="float64")).sum(), [1.0, 2.0, 3.0], [0.5, 1.0, 0.0]),
    (lambda x: x.clip(0.0, 1.0).sum(), [-1.0, 0.0, 0.5, 1.0, 2.0], [0.0, 1.0, 1.0, 1.0, 0.0]),
    (lambda x: x.abs().sum(), [-2.0, 0.0, 3.0], [-1.0, 0.0, 1.0]),
])
def test_gradients_at_ties_and_kinks(fn, x, expected):
    x = tt.tensor(x, dtype="float64", requires_grad=True)
    fn(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), expected)
