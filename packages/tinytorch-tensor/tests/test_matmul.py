"""matmul: every rank rule, batch broadcasting, strided inputs, odd and empty sizes, dtypes, errors.

References are numpy float64 products of the same float32 inputs. fp32 GEMM error grows
with the reduction length K: each output is a K-term sum of O(1) products whose size is
~sqrt(K), so the tolerance is rtol=1e-5 with atol=1e-5*sqrt(K) (relative 1e-5 of a typical
output), never wider.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tinytorch.tensor as tt


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _packed_field(values):
    """``values`` as the float32 field of a packed record array: misaligned, 5-byte strides."""
    records = np.zeros(values.shape, dtype=[("tag", "i1"), ("value", "f4")])
    records["value"] = values
    return records["value"]


# Each case makes the two numpy float32 operands (possibly non-contiguous views); the
# Tensors are made with from_numpy, so they keep those exact strides.
CASES = {
    # 2-D, odd and small sizes
    "1x1x1": lambda r: (randn(r, 1, 1), randn(r, 1, 1)),
    "2x3x4": lambda r: (randn(r, 2, 3), randn(r, 3, 4)),
    "7x13x5": lambda r: (randn(r, 7, 13), randn(r, 13, 5)),
    "64x64x64": lambda r: (randn(r, 64, 64), randn(r, 64, 64)),
    "65x33x17": lambda r: (randn(r, 65, 33), randn(r, 33, 17)),
    "127x255x97": lambda r: (randn(r, 127, 255), randn(r, 255, 97)),
    "257x513x129": lambda r: (randn(r, 257, 513), randn(r, 513, 129)),
    "row_times_matrix": lambda r: (randn(r, 1, 300), randn(r, 300, 17)),
    "outer_product": lambda r: (randn(r, 300, 1), randn(r, 1, 200)),
    "long_k": lambda r: (randn(r, 5, 2000), randn(r, 2000, 3)),
    # 1-D operands
    "dot": lambda r: (randn(r, 37), randn(r, 37)),
    "vec_mat": lambda r: (randn(r, 20), randn(r, 20, 9)),
    "mat_vec": lambda r: (randn(r, 9, 20), randn(r, 20)),
    "vec_batched": lambda r: (randn(r, 6), randn(r, 3, 6, 4)),
    "batched_vec": lambda r: (randn(r, 3, 4, 6), randn(r, 6)),
    "dot_of_one": lambda r: (randn(r, 1), randn(r, 1)),
    # batched, with and without broadcasting
    "batched": lambda r: (randn(r, 3, 4, 5), randn(r, 3, 5, 6)),
    "batched_times_2d": lambda r: (randn(r, 3, 4, 5), randn(r, 5, 6)),
    "2d_times_batched": lambda r: (randn(r, 4, 5), randn(r, 3, 5, 6)),
    "broadcast_batch_1": lambda r: (randn(r, 1, 4, 5), randn(r, 3, 5, 6)),
    "broadcast_batch_both": lambda r: (randn(r, 2, 1, 4, 5), randn(r, 3, 5, 6)),
    "4d": lambda r: (randn(r, 2, 3, 8, 5), randn(r, 2, 3, 5, 7)),
    "batch_of_odd": lambda r: (randn(r, 5, 33, 17), randn(r, 5, 17, 65)),
    # non-contiguous operands
    "a_transposed": lambda r: (randn(r, 13, 7).T, randn(r, 13, 5)),
    "b_transposed": lambda r: (randn(r, 7, 13), randn(r, 5, 13).T),
    "both_transposed": lambda r: (randn(r, 40, 30).T, randn(r, 20, 40).T),
    "stepped_slices": lambda r: (randn(r, 20, 30)[::2, ::3], randn(r, 20, 12)[::2, 1::2]),
    "negative_steps": lambda r: (randn(r, 6, 8)[::-1], randn(r, 8, 5)[:, ::-1]),
    "column_slice": lambda r: (randn(r, 16, 40)[:, 5:30], randn(r, 25, 3)),
    "batched_transposed": lambda r: (randn(r, 3, 5, 4).transpose(0, 2, 1),
                                     randn(r, 3, 6, 5).transpose(0, 2, 1)),
    "batch_permuted": lambda r: (randn(r, 4, 3, 5).transpose(1, 0, 2), randn(r, 3, 5, 6)),
    "expanded_batch": lambda r: (np.broadcast_to(randn(r, 4, 5), (3, 4, 5)), randn(r, 3, 5, 6)),
    "expanded_rows": lambda r: (np.broadcast_to(randn(r, 1, 5), (4, 5)), randn(r, 5, 6)),
    "unaligned_field": lambda r: (_packed_field(randn(r, 6, 5)), randn(r, 5, 4)),
    # zero-size
    "m0": lambda r: (randn(r, 0, 3), randn(r, 3, 4)),
    "k0": lambda r: (randn(r, 3, 0), randn(r, 0, 4)),
    "n0": lambda r: (randn(r, 3, 4), randn(r, 4, 0)),
    "batch0": lambda r: (randn(r, 0, 4, 5), randn(r, 0, 5, 6)),
    "batched_k0": lambda r: (randn(r, 2, 3, 0), randn(r, 2, 0, 4)),
    "batched_k0_times_2d": lambda r: (randn(r, 2, 3, 0), randn(r, 0, 4)),
    "dot_of_empty": lambda r: (randn(r, 0), randn(r, 0)),
}


def _k(a):
    return a.shape[-1] if a.ndim else 1


def _tolerance(a):
    return dict(rtol=1e-5, atol=1e-5 * math.sqrt(max(_k(a), 1)))


@pytest.mark.parametrize("case", list(CASES))
def test_float32_matmul_matches_numpy(case, backend, check):
    a, b = CASES[case](np.random.default_rng(0))
    a_before, b_before = a.copy(), b.copy()
    x, y = tt.from_numpy(a), tt.from_numpy(b)
    out = x @ y
    check(out, a.astype(np.float64) @ b.astype(np.float64), dtype="float32", **_tolerance(a))
    assert out.is_contiguous()
    assert not out.shares_memory(x) and not out.shares_memory(y)
    np.testing.assert_array_equal(a, a_before)  # inputs untouched
    np.testing.assert_array_equal(b, b_before)


@pytest.mark.parametrize("case", list(CASES))
def test_native_backend_agrees_with_numpy_backend(case):
    a, b = CASES[case](np.random.default_rng(1))
    results = {}
    for name in ("native", "numpy"):
        with tt.use_backend(name):
            results[name] = tt.matmul(tt.from_numpy(a), tt.from_numpy(b))
    native, reference = results["native"], results["numpy"]
    assert native.shape == reference.shape and native.dtype == reference.dtype == np.float32
    # Both are fp32 with different summation orders: twice the one-sided tolerance.
    tol = _tolerance(a)
    np.testing.assert_allclose(native.numpy(), reference.numpy(), rtol=2 * tol["rtol"],
                               atol=2 * tol["atol"])


def test_k0_gives_zeros(backend):
    out = tt.ones(3, 0) @ tt.ones(0, 4)
    assert out.shape == (3, 4) and out.tolist() == [[0.0] * 4] * 3


def test_matmul_forms_agree(backend, rng, check):
    a, b = randn(rng, 4, 6), randn(rng, 6, 3)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    x, y = tt.tensor(a), tt.tensor(b)
    for out in (x @ y, tt.matmul(x, y), x.matmul(y), x @ b, a @ y):
        check(out, expected, dtype="float32", **_tolerance(a))


def test_matmul_accepts_lists(backend, check):
    check(tt.matmul([[1.0, 2.0]], [[3.0], [4.0]]), np.array([[11.0]]), dtype="float32")


@pytest.mark.parametrize(
    "case", ["7x13x5", "a_transposed", "broadcast_batch_both", "mat_vec", "k0"]
)
def test_float64_matmul(case, backend, check):
    a, b = (v.astype(np.float64) for v in CASES[case](np.random.default_rng(2)))
    check(tt.from_numpy(a) @ tt.from_numpy(b), a @ b, dtype="float64", rtol=1e-12, atol=1e-12)


def test_int64_matmul_is_exact(backend, rng, check):
    a, b = rng.integers(-50, 50, (5, 7)), rng.integers(-50, 50, (2, 7, 3))
    check(tt.tensor(a) @ tt.tensor(b), a @ b, dtype="int64")


@pytest.mark.parametrize(
    "a_dtype, b_dtype, result",
    [("float32", "float64", "float64"), ("int64", "float32", "float32"),
     ("int64", "float64", "float64"), ("bool", "float32", "float32")],
)
def test_mixed_dtypes_promote(a_dtype, b_dtype, result, backend, check):
    a = np.array([[1, 0], [2, 1]]).astype(a_dtype)
    b = np.array([[0.5, 1.0], [1.5, 2.0]]).astype(b_dtype)
    check(tt.tensor(a) @ tt.tensor(b), a.astype(np.float64) @ b.astype(np.float64), dtype=result)


@pytest.mark.parametrize(
    "shape_a, shape_b, message",
    [
        ((32, 100), (64, 10),
         r"matmul: shapes \(32, 100\) and \(64, 10\) do not align \(100 != 64\)"),
        ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\) do not align"),
        ((2, 3), (4,), r"matmul: shapes \(2, 3\) and \(4,\) do not align"),
        ((5,), (4, 2), r"matmul: shapes \(5,\) and \(4, 2\) do not align"),
        ((2, 3, 4), (3, 4, 5),
         r"matmul: batch dimensions \(2,\) and \(3,\) of shapes \(2, 3, 4\) and \(3, 4, 5\) "
         r"cannot be broadcast"),
        ((), (3,), r"matmul: both operands need at least 1 dimension, got shapes \(\) and \(3,\)"),
    ],
)
def test_matmul_errors_name_the_shapes(shape_a, shape_b, message, backend):
    with pytest.raises(ValueError, match=message):
        tt.zeros(*shape_a) @ tt.zeros(*shape_b)


def test_operator_error_is_the_same(backend):
    with pytest.raises(ValueError, match=r"matmul: shapes \(32, 100\) and \(64, 10\) do not align"):
        tt.randn(32, 100) @ tt.randn(64, 10)
