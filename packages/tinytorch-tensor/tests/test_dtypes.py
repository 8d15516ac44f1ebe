"""dtype semantics: defaults, widening, refusals, promotion, casts, requires_grad."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import tinytorch.tensor as tt

# -------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    "make",
    [
        lambda: tt.tensor(1.5),
        lambda: tt.tensor([[1.0, 2.0]]),
        lambda: tt.zeros(2),
        lambda: tt.ones(2),
        lambda: tt.empty(2),
        lambda: tt.full((2,), 0.5),
        lambda: tt.arange(0.0, 2.0),
        lambda: tt.linspace(0, 1, 3),
        lambda: tt.eye(2),
        lambda: tt.rand(2),
        lambda: tt.randn(2),
    ],
    ids=["scalar", "list", "zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand",
         "randn"],
)
def test_floats_default_to_float32(make):
    assert make().dtype == np.float32


@pytest.mark.parametrize(
    "make", [lambda: tt.tensor(3), lambda: tt.tensor([1, 2]), lambda: tt.arange(3),
             lambda: tt.randint(0, 3, 2), lambda: tt.full(2, 7)],
    ids=["scalar", "list", "arange", "randint", "full"],
)
def test_python_ints_give_int64(make):
    assert make().dtype == np.int64


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_numpy_arrays_keep_a_supported_dtype(dtype):
    data = np.arange(4).astype(dtype)
    assert tt.tensor(data).dtype == dtype
    assert tt.from_numpy(data).dtype == dtype


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32])
def test_narrow_ints_widen_to_int64(dtype, check):
    data = np.array([0, 1, 2, np.iinfo(dtype).max], dtype=dtype)
    check(tt.tensor(data), data.astype(np.int64), dtype="int64")


@pytest.mark.parametrize(
    "data",
    [np.zeros(2, np.float16), np.zeros(2, np.complex64), np.zeros(2, np.complex128),
     np.array([1, "a"], dtype=object)],
    ids=lambda a: str(a.dtype),
)
@pytest.mark.parametrize("make", [tt.tensor, tt.from_numpy, tt.Tensor])
def test_unsupported_array_dtypes_are_refused(make, data):
    with pytest.raises(TypeError, match=str(data.dtype)):
        make(data)


@pytest.mark.parametrize("dtype", ["float16", np.complex64, "int32", object])
@pytest.mark.parametrize("make", [tt.zeros, tt.ones, tt.empty])
def test_unsupported_dtype_arguments_are_refused(make, dtype):
    name = np.dtype(dtype).name if dtype is not object else "object"
    with pytest.raises(TypeError, match=f"{make.__name__}: unsupported dtype .*{name}"):
        make(2, dtype=dtype)


def test_complex_python_data_is_refused():
    with pytest.raises(TypeError, match="complex128"):
        tt.tensor([1j, 2])


def test_non_numeric_list_is_refused():
    with pytest.raises(TypeError, match="tensor"):
        tt.tensor([1, None])


@pytest.mark.parametrize(
    "name, dtype",
    [("float32", tt.float32), ("float", tt.float32), ("double", tt.float64), ("long", tt.int64),
     ("bool", tt.bool_), (float, tt.float32), (int, tt.int64), (bool, tt.bool_),
     (np.float64, tt.float64)],
)
def test_dtype_spellings(name, dtype):
    assert tt.zeros(1, dtype=name).dtype == dtype


def test_supported_dtypes():
    expected = {np.dtype(d) for d in ("float32", "float64", "int64", "bool")}
    assert set(tt.SUPPORTED_DTYPES) == expected


# ------------------------------------------------------------------- promotion


def _t(values, dtype):
    return tt.tensor(np.array(values, dtype=dtype))


PROMOTIONS = [
    # (description, a, b, operator, expected dtype)
    ("int * 0.5", lambda: _t([1, 2, 3], "int64"), lambda: 0.5, operator.mul, "float32"),
    ("0.5 * int", lambda: 0.5, lambda: _t([1, 2, 3], "int64"), operator.mul, "float32"),
    ("int + 1", lambda: _t([1, 2], "int64"), lambda: 1, operator.add, "int64"),
    ("float32 + 1.0", lambda: _t([1, 2], "float32"), lambda: 1.0, operator.add, "float32"),
    ("float32 + float64", lambda: _t([1, 2], "float32"), lambda: _t([0.1, 0.2], "float64"),
     operator.add, "float64"),
    ("int64 + float64", lambda: _t([1, 2], "int64"), lambda: _t([0.1, 0.2], "float64"),
     operator.add, "float64"),
    ("int64 + float32", lambda: _t([1, 2], "int64"), lambda: _t([0.5, 0.25], "float32"),
     operator.add, "float32"),
    ("bool + int", lambda: _t([True, False], "bool"), lambda: 3, operator.add, "int64"),
    ("bool * float", lambda: _t([True, False], "bool"), lambda: 1.5, operator.mul, "float32"),
    ("bool + int tensor", lambda: _t([True, False], "bool"), lambda: _t([1, 2], "int64"),
     operator.add, "int64"),
    ("int / int", lambda: _t([1, 2, 3], "int64"), lambda: _t([2, 2, 2], "int64"),
     operator.truediv, "float32"),
    ("int / 2", lambda: _t([1, 2, 3], "int64"), lambda: 2, operator.truediv, "float32"),
    ("float64 / int", lambda: _t([1.0, 3.0], "float64"), lambda: _t([2, 4], "int64"),
     operator.truediv, "float64"),
    ("int < 1.5", lambda: _t([1, 2], "int64"), lambda: 1.5, operator.lt, "bool"),
    ("float32 == float64", lambda: _t([0.5, 1.0], "float32"), lambda: _t([0.5, 2.0], "float64"),
     operator.eq, "bool"),
    ("int >= int", lambda: _t([1, 2], "int64"), lambda: _t([2, 2], "int64"), operator.ge, "bool"),
]


def _as_numpy(x):
    return x.numpy() if isinstance(x, tt.Tensor) else np.float64(x)


@pytest.mark.parametrize(
    "make_a, make_b, op, dtype", [p[1:] for p in PROMOTIONS], ids=[p[0] for p in PROMOTIONS]
)
def test_promotion(make_a, make_b, op, dtype, backend, check):
    a, b = make_a(), make_b()
    expected = op(_as_numpy(a), _as_numpy(b))  # numpy, in float64 where a scalar takes part
    check(op(a, b), expected.astype(dtype), dtype=dtype)


@pytest.mark.parametrize(
    "operands, dtype",
    [
        ((np.zeros(2, np.int64), 0.5), "float32"),
        ((np.zeros(2, np.float32), 1.0), "float32"),
        ((np.zeros(2, np.float32), np.zeros(2, np.float64)), "float64"),
        ((np.zeros(2, np.bool_), True), "bool"),
        ((np.zeros(2, np.bool_), 1), "int64"),
        ((1, 2), "int64"),
        ((1, 2.0), "float32"),
    ],
)
def test_result_type(operands, dtype):
    assert tt.result_type(*operands) == np.dtype(dtype)


@pytest.mark.parametrize("make", [lambda x: x.exp(), lambda x: x.log(), lambda x: x.sqrt(),
                                  lambda x: x.mean(), lambda x: x.var(), lambda x: x.std()],
                         ids=["exp", "log", "sqrt", "mean", "var", "std"])
def test_float_only_ops_give_float32_for_ints(make, backend):
    assert make(tt.tensor([1, 2, 4])).dtype == np.float32


def test_sum_of_bools_and_ints_is_int64(backend):
    assert tt.tensor([True, True, False]).sum().item() == 2
    assert tt.tensor([True, True]).sum().dtype == np.int64
    assert tt.tensor([1, 2]).sum().dtype == np.int64


# ---------------------------------------------------------------------- casts


@pytest.mark.parametrize("src", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("dst", ["float32", "float64", "int64", "bool"])
def test_cast_between_every_pair(src, dst, backend, check):
    data = np.array([0, 1, 2, -3]).astype(src)
    check(tt.tensor(data).to(dst), data.astype(dst), dtype=dst)


def test_cast_truncates_floats_toward_zero(backend, check):
    check(tt.tensor([1.7, -1.7, 2.5]).long(), np.array([1, -1, 2]), dtype="int64")


def test_cast_to_same_dtype_returns_self(backend):
    x = tt.tensor([1.0, 2.0])
    assert x.to("float32") is x
    assert tt.cast(x, tt.float32) is x


def test_cast_always_copies_to_a_new_dtype(backend):
    x = tt.tensor([1.0, 2.0])
    assert not x.double().shares_memory(x)


@pytest.mark.parametrize("method, dtype", [("float", "float32"), ("double", "float64"),
                                           ("long", "int64")])
def test_cast_methods(method, dtype, backend):
    assert getattr(tt.tensor([1, 0]), method)().dtype == np.dtype(dtype)


def test_cast_to_unsupported_dtype(backend):
    with pytest.raises(TypeError, match="cast: unsupported dtype .*float16"):
        tt.tensor([1.0]).to("float16")


# --------------------------------------------------------------- requires_grad


@pytest.mark.parametrize("data", [[1, 2], [True, False]])
def test_requires_grad_on_non_float_is_refused(data):
    with pytest.raises(TypeError, match="requires_grad"):
        tt.tensor(data, requires_grad=True)
    t = tt.tensor(data)
    with pytest.raises(TypeError, match=str(t.dtype)):
        t.requires_grad = True
    with pytest.raises(TypeError, match="requires_grad"):
        t.requires_grad_()
    assert not t.requires_grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_requires_grad_on_floats(dtype):
    t = tt.zeros(2, dtype=dtype)
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad = False
    assert not t.requires_grad
