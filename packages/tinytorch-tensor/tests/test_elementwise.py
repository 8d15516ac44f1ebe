"""Elementwise ops: arithmetic with broadcasting, comparisons, math functions, clip, where."""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
import tinytorch.tensor as tt

BROADCAST_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((2, 1), (1, 4)),
    ((4, 1, 3), (2, 1)),
    ((), (2, 2)),
    ((0, 3), (1, 3)),
]

# (name, tinytorch function, operator on tensors, numpy reference)
BINARY = [
    ("add", tt.add, operator.add, np.add),
    ("sub", tt.sub, operator.sub, np.subtract),
    ("mul", tt.mul, operator.mul, np.multiply),
    ("div", tt.div, operator.truediv, np.true_divide),
    ("maximum", tt.maximum, lambda a, b: a.maximum(b), np.maximum),
    ("minimum", tt.minimum, lambda a, b: a.minimum(b), np.minimum),
]

COMPARISONS = [
    ("eq", tt.eq, operator.eq, np.equal),
    ("ne", tt.ne, operator.ne, np.not_equal),
    ("lt", tt.lt, operator.lt, np.less),
    ("le", tt.le, operator.le, np.less_equal),
    ("gt", tt.gt, operator.gt, np.greater),
    ("ge", tt.ge, operator.ge, np.greater_equal),
]


def _ids(table):
    return [row[0] for row in table]


@pytest.mark.parametrize("name, fn, op, ref", BINARY, ids=_ids(BINARY))
@pytest.mark.parametrize("shape_a, shape_b", BROADCAST_SHAPES)
def test_binary_ops_broadcast(name, fn, op, ref, shape_a, shape_b, backend, rng, check):
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.standard_normal(shape_b).astype(np.float32) + 3.0  # away from 0 for div
    expected = ref(a, b)
    check(fn(tt.tensor(a), tt.tensor(b)), expected, dtype="float32", rtol=1e-6)
    check(op(tt.tensor(a), tt.tensor(b)), expected, dtype="float32", rtol=1e-6)


@pytest.mark.parametrize("name, fn, op, ref", BINARY, ids=_ids(BINARY))
def test_binary_ops_on_int64(name, fn, op, ref, backend, check):
    a, b = np.array([[-4, 0, 7]]), np.array([[2], [3]])
    expected = ref(a, b)
    check(fn(tt.tensor(a), tt.tensor(b)), expected,
          dtype="float32" if name == "div" else "int64", rtol=1e-6)


@pytest.mark.parametrize("name, fn, op, ref", BINARY, ids=_ids(BINARY))
def test_binary_ops_with_a_scalar_on_either_side(name, fn, op, ref, backend, rng, check):
    a = rng.uniform(1, 2, (2, 3)).astype(np.float32)
    check(fn(tt.tensor(a), 2.5), ref(a, np.float32(2.5)), dtype="float32", rtol=1e-6)
    check(fn(2.5, tt.tensor(a)), ref(np.float32(2.5), a), dtype="float32", rtol=1e-6)


@pytest.mark.parametrize(
    "expr, ref",
    [
        (lambda x: 2.0 + x, lambda a: 2.0 + a),
        (lambda x: 2.0 - x, lambda a: 2.0 - a),
        (lambda x: 2.0 * x, lambda a: 2.0 * a),
        (lambda x: 2.0 / x, lambda a: 2.0 / a),
        (lambda x: 2.0**x, lambda a: 2.0**a),
        (lambda x: x**2, lambda a: a**2),
        (lambda x: x**0.5, lambda a: a**0.5),
        (lambda x: -x, lambda a: -a),
        (lambda x: abs(-x), lambda a: a),
    ],
    ids=["radd", "rsub", "rmul", "rtruediv", "rpow", "pow2", "pow_half", "neg", "abs"],
)
def test_operators_with_python_scalars(expr, ref, backend, rng, check):
    a = rng.uniform(0.5, 2.0, (3, 2)).astype(np.float32)
    check(expr(tt.tensor(a)), ref(a).astype(np.float32), dtype="float32", rtol=1e-6)


def test_numpy_array_on_the_left_gives_a_tensor(backend, check):
    out = np.array([1.0, 2.0], dtype=np.float32) + tt.tensor([10.0, 20.0])
    check(out, np.array([11.0, 22.0], dtype=np.float32), dtype="float32")


def test_pow_with_tensor_exponent(backend, rng, check):
    a = rng.uniform(0.5, 2.0, (4,)).astype(np.float32)
    e = rng.uniform(-1, 3, (2, 1)).astype(np.float32)
    check(tt.pow(tt.tensor(a), tt.tensor(e)), np.power(a, e), dtype="float32", rtol=1e-6)


def test_int_pow(backend, check):
    check(tt.tensor([1, 2, 3]) ** 2, np.array([1, 4, 9]), dtype="int64")


@pytest.mark.parametrize("name, fn, op, ref", COMPARISONS, ids=_ids(COMPARISONS))
def test_comparisons(name, fn, op, ref, backend, check):
    a = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    b = np.array([[2.0], [3.0]], dtype=np.float32)
    check(fn(tt.tensor(a), tt.tensor(b)), ref(a, b), dtype="bool")
    check(op(tt.tensor(a), tt.tensor(b)), ref(a, b), dtype="bool")
    check(op(tt.tensor(a), 2.0), ref(a, 2.0), dtype="bool")


def test_tensor_equality_is_elementwise_and_hash_is_identity(backend):
    a = tt.tensor([1, 2])
    assert (a == tt.tensor([1, 3])).tolist() == [True, False]
    assert len({a, tt.tensor([1, 2])}) == 2


UNARY = [
    ("exp", tt.exp, lambda x: x.exp(), np.exp),
    ("log", tt.log, lambda x: x.log(), np.log),
    ("sqrt", tt.sqrt, lambda x: x.sqrt(), np.sqrt),
    ("abs", tt.abs, lambda x: x.abs(), np.abs),
    ("neg", tt.neg, operator.neg, np.negative),
]


@pytest.mark.parametrize("name, fn, method, ref", UNARY, ids=_ids(UNARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_ops(name, fn, method, ref, dtype, backend, rng, check):
    a = rng.uniform(0.1, 3.0, (3, 4)).astype(dtype)
    rtol = 1e-6 if dtype == "float32" else 1e-12
    check(fn(tt.tensor(a)), ref(a), dtype=dtype, rtol=rtol)
    check(method(tt.tensor(a)), ref(a), dtype=dtype, rtol=rtol)


@pytest.mark.parametrize("name, fn, method, ref", UNARY, ids=_ids(UNARY))
def test_unary_ops_accept_plain_data(name, fn, method, ref, backend, check):
    check(fn([1.0, 4.0]), ref(np.array([1.0, 4.0], dtype=np.float32)), dtype="float32")


def test_abs_and_neg_keep_int64(backend, check):
    check(tt.abs(tt.tensor([-2, 3])), np.array([2, 3]), dtype="int64")
    check(-tt.tensor([-2, 3]), np.array([2, -3]), dtype="int64")


def test_special_values_follow_pytorch_without_warnings(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's divide/invalid/overflow warnings are silenced
        assert tt.log(tt.tensor([0.0])).item() == -np.inf
        assert np.isnan(tt.log(tt.tensor([-1.0])).item())
        assert np.isnan(tt.sqrt(tt.tensor([-1.0])).item())
        assert tt.exp(tt.tensor([1000.0])).item() == np.inf
        assert (tt.tensor([1.0, -1.0]) / 0.0).tolist() == [np.inf, -np.inf]
        assert np.isnan((tt.tensor([0.0]) / tt.tensor([0.0])).item())
        assert (tt.tensor([1, 0]) / tt.tensor([0, 1])).tolist() == [np.inf, 0.0]


def test_maximum_propagates_nan(backend):
    out = tt.maximum(tt.tensor([np.nan, 1.0]), tt.tensor([0.0, np.nan]))
    assert np.isnan(out.numpy()).all()


def test_ops_do_not_modify_their_inputs(backend):
    a, b = tt.tensor([1.0, 2.0]), tt.tensor([3.0, 4.0])
    out = a + b
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [3.0, 4.0]
    assert not out.shares_memory(a) and not out.shares_memory(b)


@pytest.mark.parametrize(
    "fn", [tt.add, tt.sub, tt.mul, tt.div, tt.pow, tt.maximum, tt.eq, tt.lt],
    ids=lambda f: f.__name__,
)
def test_broadcasting_failure_names_op_and_shapes(fn, backend):
    message = rf"{fn.__name__}: shapes \(2, 3\) and \(4,\) cannot be broadcast"
    with pytest.raises(ValueError, match=message):
        fn(tt.ones(2, 3), tt.ones(4))


def test_operator_broadcasting_failure(backend):
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(2,\)"):
        tt.ones(2, 3) + tt.ones(2)


# ------------------------------------------------------------------ clip, where


@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (None, 0.0), (0.0, None), (-1, 1)])
def test_clip(low, high, backend, rng, check):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    check(tt.clip(tt.tensor(a), low, high), np.clip(a, low, high), dtype="float32")
    check(tt.tensor(a).clamp(low, high), np.clip(a, low, high), dtype="float32")


def test_clip_int_tensor(backend, check):
    x = tt.tensor([-5, 0, 5])
    check(x.clip(-1, 1), np.array([-1, 0, 1]), dtype="int64")
    check(x.clip(-0.5, 2.5), np.array([-0.5, 0.0, 2.5]), dtype="float32")


def test_clip_needs_a_bound(backend):
    with pytest.raises(ValueError, match="clip: give at least one"):
        tt.clip(tt.ones(2))


def test_clip_bounds_must_be_numbers(backend):
    with pytest.raises(TypeError, match="clip: bounds must be numbers"):
        tt.clip(tt.ones(2), tt.zeros(2), None)


def test_where_broadcasts(backend, rng, check):
    cond = rng.random((3, 1)) > 0.5
    a = rng.standard_normal((1, 4)).astype(np.float32)
    check(tt.where(tt.tensor(cond), tt.tensor(a), 0.0), np.where(cond, a, np.float32(0)),
          dtype="float32")


def test_where_promotes_branches(backend, check):
    check(tt.where(tt.tensor([True, False]), tt.tensor([1, 2]), 0.5), np.array([1.0, 0.5]),
          dtype="float32")


def test_where_needs_a_bool_condition(backend):
    with pytest.raises(TypeError, match="where: the condition must be a bool tensor, got int64"):
        tt.where(tt.tensor([1, 0]), 1.0, 2.0)


def test_where_broadcast_failure(backend):
    with pytest.raises(ValueError, match=r"where: shapes \(2,\) and \(3,\)"):
        tt.where(tt.tensor([True, False]), tt.ones(3), 0.0)
