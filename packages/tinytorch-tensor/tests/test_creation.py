"""Creation functions: from data, filled, ranges, identity, *_like, and seeded random numbers."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt

# ------------------------------------------------------------------ from data


@pytest.mark.parametrize(
    "data, dtype",
    [
        ([1, 2, 3], "int64"),
        ([1.0, 2.0], "float32"),
        ([1, 2.5], "float32"),
        ([True, False], "bool"),
        ([[1, 2], [3, 4]], "int64"),
        (3, "int64"),
        (2.5, "float32"),
        (True, "bool"),
    ],
)
def test_tensor_from_python_data(data, dtype, check):
    check(tt.tensor(data), np.array(data).astype(dtype), dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_tensor_with_explicit_dtype(dtype, check):
    check(tt.tensor([0, 1, 2], dtype=dtype), np.array([0, 1, 2]).astype(dtype), dtype=dtype)


def test_tensor_of_a_tensor_copies_it():
    a = tt.tensor([1.0, 2.0])
    b = tt.tensor(a)
    assert b.dtype == a.dtype and not b.shares_memory(a)


def test_ragged_list_is_a_value_error():
    with pytest.raises(ValueError, match="tensor"):
        tt.tensor([[1, 2], [3]])


def test_requires_grad_at_creation():
    assert tt.tensor([1.0], requires_grad=True).requires_grad
    assert tt.zeros(2, requires_grad=True).requires_grad
    assert not tt.ones(2).requires_grad


# -------------------------------------------------------------- filled tensors


@pytest.mark.parametrize(
    "make, fill", [(tt.zeros, 0.0), (tt.ones, 1.0)], ids=["zeros", "ones"]
)
@pytest.mark.parametrize("shape_args", [(2, 3), ((2, 3),), ([2, 3],), (0,), ()])
def test_zeros_and_ones(make, fill, shape_args, check):
    shape = shape_args[0] if shape_args and isinstance(shape_args[0], (tuple, list)) else shape_args
    check(make(*shape_args), np.full(tuple(shape), fill, np.float32), dtype="float32")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_filled_tensors_take_a_dtype(dtype):
    for make in (tt.zeros, tt.ones, tt.empty):
        t = make(2, 2, dtype=dtype)
        assert t.shape == (2, 2) and t.dtype == np.dtype(dtype)


def test_empty_has_shape_and_default_dtype():
    t = tt.empty(3, 4)
    assert t.shape == (3, 4) and t.dtype == np.float32


@pytest.mark.parametrize("make", [tt.zeros, tt.ones, tt.empty, tt.rand, tt.randn])
def test_negative_dimension_is_refused(make):
    with pytest.raises(ValueError, match="negative dimension"):
        make(2, -1)


@pytest.mark.parametrize(
    "value, dtype", [(3, "int64"), (2.5, "float32"), (True, "bool")]
)
def test_full_takes_dtype_from_value(value, dtype, check):
    check(tt.full((2, 3), value), np.full((2, 3), value, dtype=dtype), dtype=dtype)


def test_full_with_int_shape_and_dtype(check):
    check(tt.full(4, 7, dtype="float64"), np.full(4, 7.0), dtype="float64")


# ----------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    "args, dtype",
    [
        ((5,), "int64"),
        ((2, 10, 3), "int64"),
        ((10, 0, -2), "int64"),
        ((0, 1, 0.25), "float32"),
        ((1.5,), "float32"),
    ],
)
def test_arange(args, dtype, check):
    check(tt.arange(*args), np.arange(*args).astype(dtype), dtype=dtype)


def test_arange_with_dtype(check):
    check(tt.arange(4, dtype="float64"), np.arange(4.0), dtype="float64")


def test_arange_step_zero():
    with pytest.raises(ValueError, match="arange"):
        tt.arange(0, 5, 0)


@pytest.mark.parametrize("start, end, steps", [(0, 1, 5), (-2, 2, 9), (3, 3, 1), (0, 1, 0)])
def test_linspace(start, end, steps, check):
    check(tt.linspace(start, end, steps), np.linspace(start, end, steps).astype(np.float32),
          dtype="float32")


def test_linspace_negative_steps():
    with pytest.raises(ValueError, match="linspace"):
        tt.linspace(0, 1, -1)


@pytest.mark.parametrize("n, m", [(3, None), (2, 4), (4, 2), (0, None)])
def test_eye(n, m, check):
    check(tt.eye(n, m), np.eye(n, m, dtype=np.float32), dtype="float32")


def test_eye_negative():
    with pytest.raises(ValueError, match="eye"):
        tt.eye(-1)


# ------------------------------------------------------------------------ *_like


@pytest.mark.parametrize("source_dtype", ["float64", "int64", "bool"])
def test_like_functions_copy_shape_and_dtype(source_dtype, check):
    x = tt.tensor(np.zeros((2, 3)).astype(source_dtype))
    check(tt.zeros_like(x), np.zeros((2, 3), source_dtype), dtype=source_dtype)
    check(tt.ones_like(x), np.ones((2, 3), source_dtype), dtype=source_dtype)
    check(tt.full_like(x, 1), np.full((2, 3), 1, source_dtype), dtype=source_dtype)
    e = tt.empty_like(x)
    assert e.shape == (2, 3) and e.dtype == np.dtype(source_dtype)


def test_like_functions_accept_a_dtype_and_plain_data(check):
    check(tt.zeros_like([[1, 2]], dtype="float32"), np.zeros((1, 2), np.float32), dtype="float32")


def test_random_like_functions_match_shape():
    x = tt.zeros(3, 2, dtype="float64")
    assert tt.rand_like(x).shape == (3, 2) and tt.rand_like(x).dtype == np.float64
    assert tt.randn_like(x).shape == (3, 2) and tt.randn_like(x).dtype == np.float64


# ------------------------------------------------------------------------ random


@pytest.mark.parametrize("draw", [
    lambda: tt.rand(5),
    lambda: tt.randn(2, 3),
    lambda: tt.randint(0, 100, (4,)),
], ids=["rand", "randn", "randint"])
def test_manual_seed_reproduces_the_stream(draw):
    tt.manual_seed(7)
    first = [draw().numpy().copy() for _ in range(2)]
    tt.manual_seed(7)
    second = [draw().numpy().copy() for _ in range(2)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # the stream moves on between draws


def test_different_seeds_differ():
    tt.manual_seed(1)
    a = tt.rand(10).numpy().copy()
    tt.manual_seed(2)
    assert not np.array_equal(a, tt.rand(10).numpy())


def test_generator_is_independent_of_the_default_stream():
    tt.manual_seed(0)
    expected = tt.rand(4).numpy().copy()
    tt.manual_seed(0)
    g = tt.Generator(seed=123)
    tt.rand(100, generator=g)  # drawing from g must not shift the default stream
    np.testing.assert_array_equal(tt.rand(4).numpy(), expected)


def test_generators_with_one_seed_agree():
    a, b = tt.Generator(seed=5), tt.Generator(seed=5)
    np.testing.assert_array_equal(
        tt.randn(6, generator=a).numpy(), tt.randn(6, generator=b).numpy()
    )
    np.testing.assert_array_equal(
        tt.randint(0, 9, 6, generator=a).numpy(), tt.randint(0, 9, 6, generator=b).numpy()
    )


def test_generator_state_round_trip():
    g = tt.Generator(seed=42)
    tt.rand(3, generator=g)
    state = g.get_state()
    after = tt.randn(5, generator=g).numpy().copy()
    tt.randn(5, generator=g)  # move on
    g.set_state(state)
    np.testing.assert_array_equal(tt.randn(5, generator=g).numpy(), after)


def test_generator_state_restores_into_another_generator():
    g = tt.Generator(seed=3)
    other = tt.Generator(seed=99)
    other.set_state(g.get_state())
    np.testing.assert_array_equal(
        tt.rand(4, generator=g).numpy(), tt.rand(4, generator=other).numpy()
    )


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_rand_is_in_unit_interval(dtype):
    x = tt.rand(10_000, dtype=dtype, generator=tt.Generator(seed=0)).numpy()
    assert x.dtype == np.dtype(dtype or "float32")
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.02  # loose: the mean of 10k uniforms has std ~0.003


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_randn_moments(dtype):
    x = tt.randn(200_000, dtype=dtype, generator=tt.Generator(seed=0)).numpy().astype(np.float64)
    assert x.dtype == np.float64
    # Standard errors on 200k samples: mean ~0.002, std ~0.0016; bounds are ~5 sigma.
    assert abs(x.mean()) < 0.01
    assert abs(x.std() - 1.0) < 0.01
    assert abs(np.mean(x**3)) < 0.03  # symmetric


def test_randn_default_dtype_and_shape():
    x = tt.randn(2, 3)
    assert x.shape == (2, 3) and x.dtype == np.float32


@pytest.mark.parametrize("make", [tt.rand, tt.randn])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_random_floats_refuse_other_dtypes(make, dtype):
    with pytest.raises(TypeError, match="float32 or float64"):
        make(3, dtype=dtype)


def test_randint_bounds_and_dtype():
    x = tt.randint(-3, 4, (10_000,), generator=tt.Generator(seed=0))
    assert x.dtype == np.int64 and x.shape == (10_000,)
    values = x.numpy()
    assert values.min() == -3 and values.max() == 3  # high is excluded; every value is drawn
    assert set(np.unique(values)) == set(range(-3, 4))


def test_randint_shapes_and_dtype_argument():
    assert tt.randint(0, 5, 3).shape == (3,)
    assert tt.randint(0, 5, (2, 2)).shape == (2, 2)
    assert tt.randint(0, 5, [2, 3], dtype="float64").dtype == np.float64


@pytest.mark.parametrize("low, high", [(5, 5), (5, 2)])
def test_randint_empty_range(low, high):
    with pytest.raises(ValueError, match="randint"):
        tt.randint(low, high, (2,))
