"""Memory made visible: nbytes, strides in elements, contiguity, copies versus shared memory."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt

DTYPES = ["float32", "float64", "int64", "bool"]
ITEMSIZE = {"float32": 4, "float64": 8, "int64": 8, "bool": 1}


@pytest.mark.parametrize("dtype", DTYPES)
def test_itemsize_and_nbytes(dtype):
    x = tt.zeros(3, 5, dtype=dtype)
    assert x.itemsize == ITEMSIZE[dtype]
    assert x.nbytes == 15 * ITEMSIZE[dtype]
    assert x.size == x.numel() == 15


def test_nbytes_of_a_view_counts_its_own_elements(backend):
    x = tt.zeros(4, 6)
    assert x[1:3].nbytes == 2 * 6 * 4
    assert x[:, ::2].nbytes == 4 * 3 * 4


@pytest.mark.parametrize(
    "make, strides",
    [
        (lambda x: x, (12, 4, 1)),
        (lambda x: x.transpose(0, 2), (1, 4, 12)),
        (lambda x: x.permute(1, 2, 0), (4, 1, 12)),
        (lambda x: x[:, ::2], (12, 8, 1)),
        (lambda x: x[::-1], (-12, 4, 1)),
        (lambda x: x[1], (4, 1)),
        (lambda x: x[:, :, 1:2].expand(2, 3, 5), (12, 4, 0)),
        (lambda x: x[0, 0].broadcast_to((3, 4)), (0, 1)),
        (lambda x: x.unsqueeze(1), (12, 12, 4, 1)),
    ],
    ids=["contiguous", "transpose", "permute", "step", "negative_step", "row", "expand",
         "broadcast_to", "unsqueeze"],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_strides_are_in_elements(make, strides, dtype, backend):
    x = make(tt.zeros(2, 3, 4, dtype=dtype))
    assert x.strides == strides
    assert x.strides == tuple(s // x.itemsize for s in x.numpy().strides)


@pytest.mark.parametrize(
    "make, contiguous",
    [
        (lambda x: x, True),
        (lambda x: x[1:], True),
        (lambda x: x[:, 1], False),
        (lambda x: x.T, False),
        (lambda x: x[:, ::2], False),
        (lambda x: x[::-1], False),
        (lambda x: x[:1].expand(3, 4), False),
        (lambda x: x[1:2], True),
        (lambda x: x[:, :1], False),
        (lambda x: x[:1, :].T, True),  # (4, 1): a size-1 dimension's stride does not matter
    ],
    ids=["base", "rows", "column", "T", "step", "negative_step", "expand", "one_row", "one_column",
         "row_T"],
)
def test_is_contiguous(make, contiguous, backend):
    x = make(tt.zeros(3, 4))
    assert x.is_contiguous() is contiguous
    assert x.is_contiguous() == x.numpy().flags.c_contiguous


def test_contiguous_returns_self_when_already_contiguous(backend):
    x = tt.zeros(3, 4)
    assert x.contiguous() is x
    assert x[1:].contiguous().shares_memory(x)


# Non-contiguous layouts for contiguous()/clone(); each maps a (4, 6) numpy array to a view.
LAYOUTS = {
    "transposed": lambda a: a.T,
    "sliced_steps": lambda a: a[::2, 1::3],
    "negative_steps": lambda a: a[::-1, ::-2],
    "column": lambda a: a[:, 2],
    "expanded": lambda a: np.broadcast_to(a[:1], (5, 4, 6)),
    "expanded_inner": lambda a: np.broadcast_to(a[:, :1], (4, 6)),
    "permuted_3d": lambda a: a.reshape(2, 3, 4).transpose(2, 0, 1),
    "transposed_slice": lambda a: a[1:, 2:].T,
    "empty": lambda a: a[:, 6:],
    "big_transpose": lambda a: np.tile(a, (40, 30)).T,  # (180, 160): the blocked transpose
}


def _values(dtype):
    return (np.arange(24).reshape(4, 6) % 7 - 3).astype(dtype)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_contiguous_copies_a_non_contiguous_tensor(layout, dtype, backend, check):
    view = LAYOUTS[layout](_values(dtype))
    x = tt.from_numpy(view)
    out = x.contiguous()
    check(out, np.ascontiguousarray(view), dtype=dtype)
    assert out.is_contiguous()
    assert not out.shares_memory(x)
    assert out.strides == tuple(s // out.itemsize for s in np.ascontiguousarray(view).strides)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_contiguous_native_agrees_with_numpy_backend(layout, dtype):
    view = LAYOUTS[layout](_values(dtype))
    results = {}
    for name in ("native", "numpy"):
        with tt.use_backend(name):
            results[name] = tt.contiguous(tt.from_numpy(view))
    native, reference = results["native"].numpy(), results["numpy"].numpy()
    assert native.dtype == reference.dtype and native.flags.c_contiguous
    np.testing.assert_array_equal(native, reference)


@pytest.mark.parametrize("make", [lambda: tt.zeros(3, 4), lambda: tt.zeros(3, 4).T,
                                  lambda: tt.tensor(2.0), lambda: tt.zeros(0, 3)],
                         ids=["contiguous", "transposed", "0d", "empty"])
def test_clone_always_copies(make, backend, check):
    x = make()
    original = x.numpy().copy()
    y = x.clone()
    check(y, original, dtype=x.dtype)
    assert y is not x and y.is_contiguous()
    assert y.data_ptr() != x.data_ptr() or x.size == 0
    y.numpy()[...] = 7  # writes to the clone stay there
    np.testing.assert_array_equal(x.numpy(), original)


def test_contiguous_function_always_copies(backend):
    x = tt.zeros(2, 2)
    assert not tt.contiguous(x).shares_memory(x)


def test_from_numpy_shares_memory():
    a = np.zeros(3, dtype=np.float32)
    x = tt.from_numpy(a)
    a[0] = 1.0
    x.numpy()[1] = 2.0
    assert x.tolist() == [1.0, 2.0, 0.0] and a.tolist() == [1.0, 2.0, 0.0]
    assert x.data_ptr() == a.ctypes.data


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.float16])
def test_from_numpy_refuses_dtypes_it_cannot_share(dtype):
    # Sharing cannot widen int32 to int64: refusing beats a silent copy that breaks sharing.
    with pytest.raises(TypeError, match=rf"from_numpy: cannot share an array of dtype {np.dtype(dtype)}"):
        tt.from_numpy(np.zeros(3, dtype=dtype))


def test_from_numpy_refuses_non_arrays():
    with pytest.raises(TypeError, match="from_numpy: expected a numpy array, got list"):
        tt.from_numpy([1.0])


@pytest.mark.parametrize("make", [tt.tensor, tt.Tensor])
def test_tensor_and_Tensor_copy_their_data(make):
    a = np.zeros(3, dtype=np.float32)
    x = make(a)
    a[0] = 1.0
    assert x.tolist() == [0.0, 0.0, 0.0]
    assert not np.shares_memory(x.numpy(), a)


def test_numpy_shares_memory():
    x = tt.zeros(3)
    x.numpy()[2] = 5.0
    assert x[2].item() == 5.0
    assert np.asarray(x) is x.numpy()


def test_detach_shares_memory():
    x = tt.zeros(2, requires_grad=True)
    d = x.detach()
    assert d.shares_memory(x) and not d.requires_grad


@pytest.mark.parametrize(
    "key, offset_elements",
    [(slice(1, None), 6), ((2, slice(3, None)), 15), ((slice(None), 4), 4),
     ((slice(None, None, -1),), 18),
     ((1, 5), 11)],
    ids=["rows", "row_tail", "column", "reversed", "element"],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_data_ptr_of_a_slice_is_an_offset(key, offset_elements, dtype, backend):
    x = tt.zeros(4, 6, dtype=dtype)
    assert x[key].data_ptr() == x.data_ptr() + offset_elements * x.itemsize


def test_shares_memory(backend):
    x = tt.zeros(4, 6)
    assert tt.shares_memory(x, x[1])
    assert x[1].shares_memory(x[1:3, 2])
    assert not x[0].shares_memory(x[1])  # disjoint rows of one buffer
    assert not x.shares_memory(tt.zeros(4, 6))
    assert not x.shares_memory(x + 0)


def test_device_is_cpu():
    assert tt.zeros(1).device == "cpu"
