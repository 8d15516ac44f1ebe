"""Module 02 (tensor): creation, broadcasting arithmetic, matmul, reshape/transpose, reductions.

Runs on the numpy backend, so the ops' numpy ``forward`` (the student's code) is what runs.
Only module 02's code is needed: nothing from nn, data or autograd is used here.
"""

import numpy as np
import pytest
import tinytorch.tensor as tt


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


# ------------------------------------------------------------------ tensor_data
def test_python_floats_become_float32_and_ints_int64():
    assert tt.tensor([1.0, 2.5]).dtype == np.float32
    assert tt.tensor([[1, 2], [3, 4]]).dtype == np.int64
    assert tt.tensor([True, False]).dtype == np.bool_
    assert tt.tensor(3.0).shape == ()


def test_arrays_keep_their_dtype_and_are_copied():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = tt.Tensor(a)
    assert t.dtype == np.float64 and t.shape == (2, 3)
    a[0, 0] = 100.0
    assert t.data[0, 0] == 0.0  # Tensor(data) copies
    assert tt.tensor(np.arange(3, dtype=np.int32)).dtype == np.int64  # narrow ints widen
    assert tt.tensor([1, 2], dtype="float64").dtype == np.float64


def test_ragged_and_object_data_are_refused():
    with pytest.raises(ValueError):
        tt.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError):
        tt.tensor(["a", 1])


# ------------------------------------------------------------------ arithmetic
def test_elementwise_arithmetic_broadcasts():
    a = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = tt.tensor([10.0, 20.0, 30.0])
    assert (a + b).tolist() == [[11.0, 22.0, 33.0], [14.0, 25.0, 36.0]]
    assert (a - b).tolist() == [[-9.0, -18.0, -27.0], [-6.0, -15.0, -24.0]]
    assert (a * 2).tolist() == [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]
    np.testing.assert_allclose((a / b).data, a.data / b.data)
    assert (a + b).dtype == np.float32


def test_division_of_ints_is_true_division():
    out = tt.tensor([1, 2, 3]) / tt.tensor([2, 2, 2])
    assert out.dtype == np.float32
    assert out.tolist() == [0.5, 1.0, 1.5]


def test_broadcasting_column_and_row():
    col = tt.tensor([[1.0], [2.0], [3.0]])  # (3, 1)
    row = tt.tensor([10.0, 20.0])  # (2,)
    out = col * row
    assert out.shape == (3, 2)
    assert out.tolist() == [[10.0, 20.0], [20.0, 40.0], [30.0, 60.0]]


def test_incompatible_shapes_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        tt.ones(2, 3) + tt.ones(4)
    with pytest.raises(ValueError, match="mul"):
        tt.ones(2, 3) * tt.ones(3, 2)


# ------------------------------------------------------------------ matmul
def test_matmul_2d_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    out = tt.tensor(a, dtype="float64") @ tt.tensor(b, dtype="float64")
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)


def test_matmul_vector_cases_and_batches():
    m = tt.arange(6, dtype="float32").reshape(2, 3)
    v = tt.tensor([1.0, 1.0, 1.0])
    assert (m @ v).shape == (2,) and (m @ v).tolist() == [3.0, 12.0]
    assert (tt.tensor([1.0, 1.0]) @ m).tolist() == [3.0, 5.0, 7.0]
    assert (v @ v).shape == () and (v @ v).item() == 3.0
    batch = tt.ones(4, 2, 3) @ tt.ones(3, 5)
    assert batch.shape == (4, 2, 5) and batch.data.max() == 3.0


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(32, 100\) and \(64, 10\) do not align"):
        tt.ones(32, 100) @ tt.ones(64, 10)


# ------------------------------------------------------------------ reshape
def test_reshape_infers_minus_one_and_is_a_view():
    x = tt.arange(12)
    y = x.reshape(3, -1)
    assert y.shape == (3, 4)
    assert tt.shares_memory(x, y)
    y[0, 0] = 99
    assert x[0].item() == 99
    assert x.reshape(2, 2, -1).shape == (2, 2, 3)


def test_reshape_errors():
    x = tt.arange(12)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(5, -1)
    with pytest.raises(ValueError, match="only one dimension can be -1"):
        x.reshape(-1, -1)
    with pytest.raises(ValueError, match="12 elements"):
        x.reshape(5, 3)


def test_transpose_swaps_axes_without_copying():
    x = tt.arange(24).reshape(2, 3, 4)
    t = x.transpose(0, 2)
    assert t.shape == (4, 3, 2)
    assert t[3, 1, 0].item() == x[0, 1, 3].item()
    assert tt.shares_memory(x, t) and not t.is_contiguous()
    assert x.transpose().shape == (2, 4, 3)  # the last two by default
    assert tt.tensor([1, 2]).transpose().shape == (2,)


# ------------------------------------------------------------------ reduce
def test_sum_mean_max_over_axes():
    x = tt.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    assert x.sum().item() == 21.0
    assert x.sum(axis=0).tolist() == [5.0, 7.0, 9.0]
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert x.mean(axis=1).tolist() == [3.0, 4.0]
    assert x.max(axis=0).tolist() == [4.0, 5.0, 6.0]
    assert x.max().item() == 6.0
    assert x.sum(axis=(0, 1)).item() == 21.0


def test_int_sum_is_int64_and_mean_is_float():
    x = tt.tensor([[1, 2], [3, 4]])
    assert x.sum().dtype == np.int64 and x.sum().item() == 10
    assert x.mean().dtype == np.float32 and x.mean().item() == 2.5


def test_argmax_and_variance():
    x = tt.tensor([[1.0, 9.0, 3.0], [7.0, 2.0, 7.0]])
    assert x.argmax(axis=1).tolist() == [1, 0]  # the first maximum
    assert x.argmax().item() == 1
    assert x.argmax(axis=1).dtype == np.int64
    v = tt.tensor([1.0, 2.0, 3.0, 4.0])
    assert v.var().item() == pytest.approx(1.6666667)  # unbiased by default
    assert v.var(correction=0).item() == pytest.approx(1.25)
    assert v.std(correction=0).item() == pytest.approx(1.25**0.5)


def test_centering_rows_with_keepdims():
    x = tt.tensor([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    centred = x - x.mean(axis=1, keepdims=True)
    assert centred.tolist() == [[-1.0, 0.0, 1.0], [-10.0, 0.0, 10.0]]
