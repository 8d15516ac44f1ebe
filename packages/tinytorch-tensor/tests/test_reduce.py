"""Reductions over one axis, several or all: values, dtypes, keepdims, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt

# (name, tinytorch function, numpy reference taking (array, axis, keepdims))
REDUCTIONS = [
    ("sum", tt.sum, lambda a, axis, kd: np.sum(a, axis=axis, keepdims=kd)),
    ("mean", tt.mean, lambda a, axis, kd: np.mean(a, axis=axis, keepdims=kd)),
    ("max", tt.max, lambda a, axis, kd: np.max(a, axis=axis, keepdims=kd)),
    ("min", tt.min, lambda a, axis, kd: np.min(a, axis=axis, keepdims=kd)),
    ("var", tt.var, lambda a, axis, kd: np.var(a, axis=axis, keepdims=kd, ddof=1)),
    ("std", tt.std, lambda a, axis, kd: np.std(a, axis=axis, keepdims=kd, ddof=1)),
]

AXES = [None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2), [1, 2]]


def _ids(table):
    return [row[0] for row in table]


@pytest.mark.parametrize("name, fn, ref", REDUCTIONS, ids=_ids(REDUCTIONS))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_float_reductions(name, fn, ref, axis, keepdims, backend, rng, check):
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    np_axis = tuple(axis) if isinstance(axis, list) else axis  # numpy wants a tuple
    expected = ref(a.astype(np.float64), np_axis, keepdims)
    check(fn(tt.tensor(a), axis=axis, keepdims=keepdims), expected, dtype="float32", rtol=1e-5,
          atol=1e-6)
    check(getattr(tt.tensor(a), name)(axis, keepdims), expected, dtype="float32", rtol=1e-5,
          atol=1e-6)


@pytest.mark.parametrize("name, fn, ref", REDUCTIONS, ids=_ids(REDUCTIONS))
def test_float64_reductions_keep_float64(name, fn, ref, backend, rng, check):
    a = rng.standard_normal((4, 6))
    check(fn(tt.tensor(a), axis=1), ref(a, 1, False), dtype="float64", rtol=1e-12)


@pytest.mark.parametrize("name, fn, ref", REDUCTIONS, ids=_ids(REDUCTIONS))
def test_int_reductions(name, fn, ref, backend, check):
    a = np.array([[3, -1, 4], [1, 5, -9]])
    dtype = "int64" if name in ("sum", "max", "min") else "float32"
    check(fn(tt.tensor(a), axis=0), ref(a, 0, False).astype(dtype), dtype=dtype, rtol=1e-6)


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_and_std_correction(correction, backend, rng, check):
    a = rng.standard_normal((5, 7))
    check(tt.var(tt.tensor(a), axis=1, correction=correction), np.var(a, axis=1, ddof=correction),
          rtol=1e-12)
    check(tt.tensor(a).std(0, correction=correction), np.std(a, axis=0, ddof=correction),
          rtol=1e-12)


@pytest.mark.parametrize("name, fn, ref", [("argmax", tt.argmax, np.argmax),
                                           ("argmin", tt.argmin, np.argmin)])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(name, fn, ref, axis, keepdims, backend, rng, check):
    a = rng.permutation(24).reshape(2, 3, 4).astype(np.float32)  # distinct values
    expected = ref(a, axis=axis, keepdims=keepdims)
    check(fn(tt.tensor(a), axis=axis, keepdims=keepdims), expected, dtype="int64")
    check(getattr(tt.tensor(a), name)(axis, keepdims), expected, dtype="int64")


def test_argmax_picks_the_first_of_ties(backend):
    assert tt.tensor([1, 7, 7, 2]).argmax().item() == 1
    assert tt.tensor([[0.0, 0.0], [0.0, 0.0]]).argmin(axis=1).tolist() == [0, 0]


@pytest.mark.parametrize("name, fn, ref", [("any", tt.any, np.any), ("all", tt.all, np.all)])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_any_all(name, fn, ref, axis, keepdims, backend, check):
    a = np.array([[True, False, False], [True, True, False]])
    expected = ref(a, axis=axis, keepdims=keepdims)
    check(fn(tt.tensor(a), axis=axis, keepdims=keepdims), expected, dtype="bool")
    check(fn(tt.tensor(a.astype(np.float32)), axis=axis, keepdims=keepdims), expected,
          dtype="bool")


def test_sum_of_bools_counts(backend, check):
    check(tt.tensor([[True, False], [True, True]]).sum(axis=0), np.array([2, 1]), dtype="int64")


def test_keepdims_result_broadcasts_back(backend, rng, check):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    x = tt.tensor(a)
    centred = x - x.mean(axis=1, keepdims=True)
    check(centred, a - a.astype(np.float64).mean(axis=1, keepdims=True), dtype="float32",
          rtol=1e-5, atol=1e-6)
    check(centred.mean(axis=1), np.zeros(4), atol=1e-6)


def test_reducing_a_0d_tensor_gives_itself(backend):
    x = tt.tensor(2.5)
    for axis in (None, 0, -1, (0,)):
        assert x.sum(axis).item() == 2.5 and x.sum(axis).shape == ()
        assert x.max(axis).item() == 2.5
    assert x.argmax(0).item() == 0


def test_reducing_a_0d_tensor_over_a_bad_axis(backend):
    with pytest.raises(IndexError, match="sum: axis 1 is out of range"):
        tt.tensor(2.5).sum(axis=1)


def test_sum_and_mean_of_empty(backend):
    assert tt.zeros(0).sum().item() == 0.0
    assert tt.zeros(3, 0).sum(axis=1).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("fn", [tt.max, tt.min, tt.argmax, tt.argmin], ids=lambda f: f.__name__)
def test_max_of_empty_is_an_error(fn, backend):
    message = rf"{fn.__name__}: cannot reduce over an empty dimension .*\(3, 0\)"
    with pytest.raises(ValueError, match=message):
        fn(tt.zeros(3, 0), axis=1)


def test_max_of_empty_along_a_full_axis_is_fine(backend):
    assert tt.zeros(0, 3).max(axis=1).shape == (0,)


@pytest.mark.parametrize(
    "fn", [tt.sum, tt.mean, tt.max, tt.min, tt.var, tt.std, tt.any, tt.all, tt.argmax, tt.argmin],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("axis", [2, -3])
def test_bad_axis_names_op_and_axis(fn, axis, backend):
    message = rf"{fn.__name__}: axis {axis} is out of range for a tensor with 2 dimension\(s\)"
    with pytest.raises(IndexError, match=message):
        fn(tt.ones(2, 3), axis=axis)


def test_repeated_axis(backend):
    with pytest.raises(ValueError, match=r"sum: repeated axis"):
        tt.ones(2, 3).sum(axis=(1, -1))


@pytest.mark.parametrize("fn", [tt.argmax, tt.argmin], ids=lambda f: f.__name__)
def test_argmax_takes_one_axis(fn, backend):
    with pytest.raises(TypeError, match=rf"{fn.__name__}: axis must be an int or None"):
        fn(tt.ones(2, 3), axis=(0, 1))


def test_non_integer_axis(backend):
    with pytest.raises(TypeError, match="sum: axis must be an int"):
        tt.ones(2, 3).sum(axis=1.0)


def test_reduction_of_a_non_contiguous_view(backend, rng, check):
    a = rng.standard_normal((6, 8)).astype(np.float32)
    view = tt.tensor(a).T[::2]
    check(view.sum(axis=1), a.T[::2].astype(np.float64).sum(axis=1), dtype="float32", rtol=1e-5,
          atol=1e-6)
