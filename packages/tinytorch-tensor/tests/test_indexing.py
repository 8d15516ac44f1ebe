"""Indexing: basic keys give views, advanced keys copies; setitem writes in place, or not at all."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt


@pytest.fixture
def base():
    """A (3, 4, 5) float32 array with distinct values, and a Tensor copy of it."""
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    return a, tt.tensor(a)


BASIC_KEYS = [
    1,
    -1,
    slice(1, 3),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(-2, None),
    (1, 2),
    (1, 2, 3),  # a 0-d view
    (slice(None), 0),
    (slice(None), slice(1, None, 2), -1),
    (None, Ellipsis),
    (Ellipsis, 1),
    (Ellipsis, None),
    (1, slice(None), None),
    (slice(None, None, -2), Ellipsis, slice(3, 0, -1)),
    (slice(5, 10),),  # empty
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_indexing_returns_a_view(key, base, backend, check):
    a, x = base
    out = x[key]
    check(out, a[key])
    assert out.strides == tuple(s // 4 for s in a[key].strides)
    if out.size:
        assert out.shares_memory(x)
        assert tt.getitem(x, key).shares_memory(x)


def test_int_tensor_as_a_basic_index(base, backend, check):
    a, x = base
    check(x[tt.tensor(2)], a[2])


def _numpy_key(key):
    """The numpy spelling of a key: lists inside a tuple become index arrays."""
    if not isinstance(key, tuple):
        return key
    return tuple(np.asarray(k) if isinstance(k, list) else k for k in key)


ADVANCED_KEYS = [
    [0, 2],
    [2, 2, 0],
    [-1],
    ([0, 1], [1, 3]),
    (slice(None), [3, 0]),
    (Ellipsis, [4, 4]),
    np.array([[0, 1], [2, 0]]),
]


@pytest.mark.parametrize("key", ADVANCED_KEYS, ids=repr)
@pytest.mark.parametrize("as_tensor", [False, True], ids=["list", "tensor"])
def test_advanced_indexing_returns_a_copy(key, as_tensor, base, backend, check):
    a, x = base

    def wrap(k):
        return tt.tensor(k) if as_tensor and isinstance(k, (list, np.ndarray)) else k

    tt_key = tuple(wrap(k) for k in key) if isinstance(key, tuple) else wrap(key)
    np_key = _numpy_key(key) if isinstance(key, tuple) else np.asarray(key)
    out = x[tt_key]
    check(out, a[np_key])
    assert not out.shares_memory(x)


@pytest.mark.parametrize("mask_of", [lambda a: a > 30, lambda a: (a[:, 0, 0] > 10),
                                     lambda a: a[:, :, 0] > 17],
                         ids=["full", "rows", "first_two_dims"])
def test_bool_mask_indexing(mask_of, base, backend, check):
    a, x = base
    mask = mask_of(a)
    out = x[tt.tensor(mask)]
    check(out, a[mask])
    assert not out.shares_memory(x)
    check(x[mask_of(x)], a[mask])  # a mask made by a comparison on the tensor itself


def test_bool_list_is_a_mask(backend, check):
    check(tt.tensor([1, 2, 3])[[True, False, True]], np.array([1, 3]))


def test_writing_through_a_view_changes_the_base(base, backend):
    a, x = base
    view = x[1, :, ::2]
    view.numpy()[...] = -1.0  # write via the view's memory
    expected = a.copy()
    expected[1, :, ::2] = -1.0
    np.testing.assert_array_equal(x.numpy(), expected)


def test_writing_into_an_advanced_result_leaves_the_base(base, backend):
    a, x = base
    picked = x[[0, 1]]
    picked[...] = 0.0
    np.testing.assert_array_equal(x.numpy(), a)


def test_index_out_of_range_mentions_the_shape(base, backend):
    message = r"getitem: .*index 3 is out of bounds.*\(tensor shape \(3, 4, 5\)\)"
    with pytest.raises(IndexError, match=message):
        base[1][3]
    with pytest.raises(IndexError, match=r"tensor shape \(3, 4, 5\)"):
        base[1][0, 9]
    with pytest.raises(IndexError, match=r"tensor shape \(3, 4, 5\)"):
        base[1][[0, 7]]
    with pytest.raises(IndexError, match=r"tensor shape \(3, 4, 5\)"):
        base[1][0, 0, 0, 0]


def test_mask_of_the_wrong_shape(base, backend):
    with pytest.raises(IndexError, match=r"getitem: .*\(tensor shape \(3, 4, 5\)\)"):
        base[1][tt.tensor([True, False])]


@pytest.mark.parametrize("key", ["a", 1.5, tt.tensor([0.0, 1.0]), [0.5], object()],
                         ids=["str", "float", "float_tensor", "float_list", "object"])
def test_bad_index_types(key, base, backend):
    with pytest.raises(TypeError, match="getitem"):
        base[1][key]


def test_len_iter_item_bool(backend):
    x = tt.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(x) == 3
    assert [row.tolist() for row in x] == [[1, 2], [3, 4], [5, 6]]
    assert x[2, 1].item() == 6 and int(x[0, 0]) == 1 and float(x[1, 1]) == 4.0
    assert bool(tt.tensor([1])) and not bool(tt.tensor(0.0))
    with pytest.raises(ValueError, match=r"item: .* shape \(3, 2\)"):
        x.item()
    with pytest.raises(ValueError, match=r"bool: .* shape \(3, 2\) is ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="len"):
        len(tt.tensor(1.0))


def test_tensor_as_a_python_index(backend):
    assert [10, 20, 30][tt.tensor(2)] == 30
    with pytest.raises(TypeError, match="index"):
        [10, 20][tt.tensor(1.0)]


# ---------------------------------------------------------------------- setitem

SETITEMS = [
    # (key, value) written into a (3, 4) float32 tensor; value in numpy terms
    (0, 7.0),
    ((1, 2), -1.0),
    (slice(None), 0.0),
    ((slice(None), 1), np.array([1.0, 2.0, 3.0])),
    (slice(0, 2), np.array([9.0, 8.0, 7.0, 6.0])),  # broadcast over rows
    ((slice(None), slice(None, None, -2)), np.array([[1.0], [2.0], [3.0]])),  # broadcast, neg step
    ([0, 2], 5.0),
    (([0, 2], [1, 3]), np.array([10.0, 20.0])),
    ((Ellipsis, -1), 3),
    (1, 2),  # an int scalar into a float tensor
]


@pytest.mark.parametrize("key, value", SETITEMS, ids=repr)
@pytest.mark.parametrize("value_as_tensor", [False, True], ids=["plain", "tensor"])
def test_setitem(key, value, value_as_tensor, backend):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = tt.tensor(a)
    expected = a.copy()
    np_key = _numpy_key(key)
    expected[np_key] = value
    x[key] = tt.tensor(value) if value_as_tensor else value
    np.testing.assert_array_equal(x.numpy(), expected)
    assert x.dtype == np.float32


def test_setitem_function(backend):
    x = tt.zeros(3)
    tt.setitem(x, 1, 4.0)
    assert x.tolist() == [0.0, 4.0, 0.0]


@pytest.mark.parametrize(
    "target_dtype, value, expected",
    [
        ("float32", tt.tensor([1.5, 2.5], dtype="float64"), [1.5, 2.5]),
        ("float32", tt.tensor([1, 2]), [1.0, 2.0]),
        ("int64", tt.tensor([1.7, -2.7]), [1, -2]),  # truncation toward zero, as numpy
        ("int64", 3.9, [3, 3]),
        ("bool", tt.tensor([0.0, 2.0]), [False, True]),
        ("float64", tt.tensor([True, False]), [1.0, 0.0]),
    ],
)
def test_setitem_casts_values_to_the_tensor_dtype(target_dtype, value, expected, backend):
    x = tt.zeros(2, dtype=target_dtype)
    x[:] = value
    assert x.dtype == np.dtype(target_dtype)
    assert x.tolist() == expected


def test_setitem_with_a_mask(backend):
    a = np.array([[1.0, -2.0], [-3.0, 4.0]], dtype=np.float32)
    x = tt.tensor(a)
    x[x < 0] = 0.0
    np.testing.assert_array_equal(x.numpy(), np.maximum(a, 0))
    x[tt.tensor([True, False])] = tt.tensor([7.0, 8.0])
    assert x.tolist() == [[7.0, 8.0], [0.0, 4.0]]


def test_setitem_through_a_view_changes_the_base(backend):
    x = tt.zeros(3, 4)
    row = x[1]
    row[:] = tt.arange(4)
    col = x.T[2]  # a non-contiguous view
    col[::2] = -1.0
    expected = np.zeros((3, 4), np.float32)
    expected[1] = np.arange(4)
    expected[::2, 2] = -1.0
    np.testing.assert_array_equal(x.numpy(), expected)
    assert row.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_setitem_is_seen_by_every_view(backend):
    x = tt.zeros(2, 3)
    flat = x.reshape(-1)
    x[1, 2] = 5.0
    assert flat[5].item() == 5.0


def test_setitem_with_an_overlapping_value(backend):
    x = tt.arange(5)
    x[1:] = x[:-1]
    assert x.tolist() == [0, 0, 1, 2, 3]  # numpy copies an overlapping source first


BAD_SETITEMS = [
    # (key, value, exception, message)
    (slice(0, 2), tt.ones(3), ValueError,
     r"setitem: a value of shape \(3,\) cannot be written into x\[.*\] of shape \(2, 4\) "
     r"\(tensor shape \(3, 4\)\)"),
    ((slice(None), 0), tt.ones(2, 1), ValueError,
     r"setitem: a value of shape \(2, 1\) .* of shape \(3,\)"),
    (5, 1.0, IndexError, r"setitem: index 5 is out of bounds .*\(tensor shape \(3, 4\)\)"),
    ([0, 1, 9], 1.0, IndexError, r"setitem: .*9.*\(tensor shape \(3, 4\)\)"),
    (tt.tensor([True, False]), 1.0, IndexError, r"setitem: .*\(tensor shape \(3, 4\)\)"),
    ("a", 1.0, TypeError, r"setitem: indices must be"),
    ((0, [1, 2]), tt.ones(3), ValueError, r"setitem: a value of shape \(3,\)"),
]


@pytest.mark.parametrize("key, value, exc, message", BAD_SETITEMS, ids=range(len(BAD_SETITEMS)))
def test_failed_setitem_names_shapes_and_loses_nothing(key, value, exc, message, backend):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = tt.tensor(a)
    with pytest.raises(exc, match=message):
        x[key] = value
    np.testing.assert_array_equal(x.numpy(), a)


@pytest.mark.parametrize("make", [lambda: tt.ones(1, 3).expand(2, 3),
                                  lambda: tt.ones(3).broadcast_to((2, 3)),
                                  lambda: tt.ones(3, 1).expand(3, 4)[1]],
                         ids=["expand", "broadcast_to", "row_of_expand"])
def test_writing_into_an_expanded_view_is_an_error(make, backend):
    x = make()
    before = x.numpy().copy()
    message = r"setitem: this tensor is a read-only broadcast view .*contiguous\(\)"
    with pytest.raises(ValueError, match=message):
        x[0] = 5.0
    np.testing.assert_array_equal(x.numpy(), before)


def test_an_expanded_view_made_contiguous_is_writable(backend):
    base = tt.ones(1, 3)
    x = base.expand(2, 3).contiguous()
    x[0, 0] = 5.0
    assert x.tolist() == [[5.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert base.tolist() == [[1.0, 1.0, 1.0]]


def test_an_element_is_a_0d_view(backend):
    x = tt.zeros(2, 3)
    element = x[1, 2]
    assert element.shape == () and element.shares_memory(x)
    element[...] = 5.0
    assert x[1, 2].item() == 5.0 and x.sum().item() == 5.0
