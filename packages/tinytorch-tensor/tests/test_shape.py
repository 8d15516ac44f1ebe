"""Shape ops: reshape/view, flatten, transpose/permute, expand, (un)squeeze, cat/stack."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tinytorch.tensor as tt


@pytest.fixture
def base():
    """A (2, 3, 4) float32 array with distinct values, and the same as a Tensor."""
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    return a, tt.tensor(a)


# --------------------------------------------------------------- reshape, view


@pytest.mark.parametrize(
    "args, shape",
    [((6, 4), (6, 4)), (((4, 6),), (4, 6)), (([24],), (24,)), ((-1,), (24,)),
     ((2, -1, 3), (2, 4, 3)),
     ((1, 24, 1), (1, 24, 1)), ((2, 3, 4), (2, 3, 4))],
)
@pytest.mark.parametrize("method", ["reshape", "view"])
def test_reshape_and_view(args, shape, method, base, backend, check):
    a, x = base
    out = getattr(x, method)(*args)
    check(out, a.reshape(shape))
    assert out.shares_memory(x)


def test_reshape_function(base, backend, check):
    a, x = base
    check(tt.reshape(x, 4, 6), a.reshape(4, 6))
    check(tt.view(x, (3, 8)), a.reshape(3, 8))


def test_reshape_of_a_non_contiguous_tensor_copies(base, backend, check):
    a, x = base
    out = x.transpose(0, 2).reshape(-1)
    check(out, a.transpose(2, 1, 0).reshape(-1))
    assert not out.shares_memory(x)


def test_reshape_to_and_from_0d(backend):
    x = tt.tensor([5.0])
    assert x.reshape(()).shape == () and x.reshape(()).item() == 5.0
    assert tt.tensor(5.0).reshape(1, 1).shape == (1, 1)


@pytest.mark.parametrize("method", ["reshape", "view"])
@pytest.mark.parametrize("shape", [(5,), (5, -1), (4, 7)])
def test_impossible_reshape_names_op_and_shapes(method, shape, backend):
    message = rf"{method}: cannot reshape a tensor of shape \(2, 3, 4\)"
    with pytest.raises(ValueError, match=message):
        getattr(tt.zeros(2, 3, 4), method)(*shape)


def test_reshape_with_two_unknowns(backend):
    with pytest.raises(ValueError, match=r"reshape: only one dimension can be -1"):
        tt.zeros(4).reshape(-1, -1)


def test_reshape_with_negative_size(backend):
    with pytest.raises(ValueError, match=r"reshape: invalid size"):
        tt.zeros(4).reshape(-2, -2)


def test_reshape_with_non_int(backend):
    with pytest.raises(TypeError, match="reshape: shape entries must be ints"):
        tt.zeros(4).reshape(2.0, 2)


def test_view_that_needs_a_copy_is_an_error(base, backend):
    _, x = base
    message = re.escape(
        "view: a tensor of shape (4, 3, 2) with strides (1, 4, 12) cannot be viewed as (24,)"
    )
    with pytest.raises(RuntimeError, match=message):
        x.T.view(-1)


def test_view_of_a_non_contiguous_tensor_when_strides_allow(base, backend, check):
    a, x = base
    t = x.transpose(0, 1)  # (3, 2, 4): the last dimension is still contiguous
    out = t.view(3, 2, 2, 2)
    check(out, a.transpose(1, 0, 2).reshape(3, 2, 2, 2))
    assert out.shares_memory(x)


@pytest.mark.parametrize(
    "start, end, shape", [(0, -1, (24,)), (1, -1, (2, 12)), (0, 1, (6, 4)), (1, 1, (2, 3, 4)),
                          (-2, 2, (2, 12))],
)
def test_flatten(start, end, shape, base, backend, check):
    a, x = base
    check(x.flatten(start, end), a.reshape(shape))
    check(tt.flatten(x, start, end), a.reshape(shape))


def test_flatten_0d(backend):
    assert tt.tensor(3.0).flatten().shape == (1,)


def test_flatten_start_after_end(base, backend):
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        base[1].flatten(2, 1)


# ---------------------------------------------------------- transpose, permute


@pytest.mark.parametrize("dims", [(0, 1), (0, 2), (-1, -3), (1, 1)])
def test_transpose(dims, base, backend, check):
    a, x = base
    out = x.transpose(*dims)
    check(out, np.swapaxes(a, *dims))
    assert out.shares_memory(x)


def test_transpose_defaults_to_last_two(base, backend, check):
    a, x = base
    check(x.transpose(), np.swapaxes(a, -2, -1))
    check(tt.transpose(x), np.swapaxes(a, -2, -1))


def test_transpose_of_1d_is_itself(backend):
    x = tt.arange(3)
    assert x.transpose() is x


@pytest.mark.parametrize("dims", [(2, 0, 1), (0, 1, 2), (-1, 0, 1), (1, 2, 0)])
def test_permute(dims, base, backend, check):
    a, x = base
    out = x.permute(*dims)
    check(out, np.transpose(a, dims))
    check(tt.permute(x, dims), np.transpose(a, dims))
    assert out.shares_memory(x)


def test_T_reverses_dimensions(base, backend, check):
    a, x = base
    check(x.T, a.T)
    check(x[0].T, a[0].T)


@pytest.mark.parametrize("dims", [(0, 1), (0, 1, 1), (0, 1, 3), (0, 1, 2, 3)])
def test_bad_permutation(dims, base, backend):
    with pytest.raises((ValueError, IndexError), match="permute"):
        base[1].permute(*dims)


def test_transpose_bad_axis(base, backend):
    with pytest.raises(IndexError, match="transpose: axis 3 is out of range"):
        base[1].transpose(0, 3)


# ---------------------------------------------------------- expand, broadcast


@pytest.mark.parametrize(
    "src, args, shape",
    [((3, 1), (3, 4), (3, 4)), ((3, 1), (-1, 4), (3, 4)), ((1,), (2, 3, 5), (2, 3, 5)),
     ((2, 1, 1), (2, -1, 6), (2, 1, 6)), ((1, 4), ((5, 4),), (5, 4))],
)
def test_expand(src, args, shape, backend, check):
    a = np.arange(int(np.prod(src)), dtype=np.float32).reshape(src)
    x = tt.tensor(a)
    out = x.expand(*args)
    check(out, np.broadcast_to(a, shape))
    assert out.shares_memory(x)
    assert 0 in out.strides or out.shape == x.shape


@pytest.mark.parametrize("args", [((3, 4),), ((2, 3, 4),)])
def test_broadcast_to(args, backend, check):
    a = np.arange(4, dtype=np.float32)
    out = tt.broadcast_to(tt.tensor(a), *args)
    check(out, np.broadcast_to(a, args[0]))
    check(tt.tensor(a).broadcast_to(args[0]), np.broadcast_to(a, args[0]))


def test_broadcast_to_same_shape_is_itself(backend):
    x = tt.zeros(2, 3)
    assert x.broadcast_to((2, 3)) is x


@pytest.mark.parametrize(
    "src, shape, message",
    [((3, 2), (3, 4), r"expand: cannot expand shape \(3, 2\) to \(3, 4\)"),
     ((3, 1), (4,), r"expand: shape \(4,\) has fewer dimensions than the tensor's \(3, 1\)"),
     ((3,), (-1, 3), r"expand: -1 is not allowed for a new leading dimension")],
)
def test_bad_expand(src, shape, message, backend):
    with pytest.raises(ValueError, match=message):
        tt.zeros(*src).expand(*shape)


@pytest.mark.parametrize("target", [(4, 2), (2,), (1, 1)])
def test_bad_broadcast_to(target, backend):
    message = re.escape(f"broadcast_to: cannot broadcast a tensor of shape (3, 1) to {target}")
    with pytest.raises(ValueError, match=message):
        tt.zeros(3, 1).broadcast_to(target)


# ----------------------------------------------------------- squeeze, unsqueeze


@pytest.mark.parametrize(
    "axis, shape",
    [(None, (3, 4)), (0, (3, 1, 4)), (2, (1, 3, 4)), ((0, 2), (3, 4)), (-2, (1, 3, 4)),
     (1, (1, 3, 1, 4))],  # axis 1 has size 3: left alone, as in PyTorch
)
def test_squeeze(axis, shape, backend, check):
    a = np.arange(12, dtype=np.float32).reshape(1, 3, 1, 4)
    x = tt.tensor(a)
    out = x.squeeze(axis)
    check(out, a.reshape(shape))
    assert out.shares_memory(x)
    check(tt.squeeze(x, axis), a.reshape(shape))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_unsqueeze(axis, backend, check):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = tt.tensor(a)
    out = x.unsqueeze(axis)
    check(out, np.expand_dims(a, axis))
    assert out.shares_memory(x)
    check(tt.unsqueeze(x, axis), np.expand_dims(a, axis))


def test_squeeze_and_unsqueeze_of_a_transposed_view_stay_views(base, backend, check):
    a, x = base
    t = x.transpose(0, 2).unsqueeze(1)
    check(t, np.expand_dims(a.transpose(2, 1, 0), 1))
    assert t.shares_memory(x) and t.squeeze(1).shares_memory(x)


@pytest.mark.parametrize("axis", [3, -4])
def test_unsqueeze_bad_axis(axis, backend):
    with pytest.raises(IndexError, match=f"unsqueeze: axis {axis} is out of range"):
        tt.zeros(2, 3).unsqueeze(axis)


def test_squeeze_bad_axis(backend):
    with pytest.raises(IndexError, match="squeeze: axis 2 is out of range"):
        tt.zeros(2, 1).squeeze(2)


# ------------------------------------------------------------------ cat, stack


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate(axis, rng, backend, check):
    parts = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3)]
    out = tt.concatenate([tt.tensor(p) for p in parts], axis=axis)
    check(out, np.concatenate(parts, axis=axis))
    check(tt.cat([tt.tensor(p) for p in parts], axis), np.concatenate(parts, axis=axis))
    assert not any(out.shares_memory(tt.tensor(p)) for p in parts)


def test_concatenate_of_different_lengths_and_views(backend, check):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = tt.tensor(a)
    check(tt.cat([x, x.T[:2].T, x[:, ::-1]], axis=1), np.concatenate([a, a.T[:2].T, a[:, ::-1]], 1))


def test_concatenate_promotes_dtypes(backend, check):
    check(tt.cat([tt.tensor([1, 2]), tt.tensor([0.5])]), np.array([1, 2, 0.5]), dtype="float32")
    check(tt.cat([tt.tensor([1.0], dtype="float64"), tt.tensor([2.0])]), np.array([1.0, 2.0]),
          dtype="float64")


def test_concatenate_mismatch_names_shapes(backend):
    message = re.escape(
        "concatenate: tensor 1 has shape (2, 4), which does not match tensor 0's shape (2, 3) "
        "outside dimension 0"
    )
    with pytest.raises(ValueError, match=message):
        tt.cat([tt.zeros(2, 3), tt.zeros(2, 4)])


def test_concatenate_rank_mismatch(backend):
    with pytest.raises(ValueError, match=r"concatenate: tensor 1 has shape \(3,\)"):
        tt.cat([tt.zeros(2, 3), tt.zeros(3)], axis=1)


@pytest.mark.parametrize(
    "tensors, message",
    [([], "concatenate: needs at least one tensor"),
     ([tt.tensor(1.0), tt.tensor(2.0)], "concatenate: zero-dimensional")],
)
def test_concatenate_degenerate(tensors, message, backend):
    with pytest.raises(ValueError, match=message):
        tt.concatenate(tensors)


def test_concatenate_bad_axis(backend):
    with pytest.raises(IndexError, match="concatenate: axis 2 is out of range"):
        tt.cat([tt.zeros(2, 3), tt.zeros(2, 3)], axis=2)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis, rng, backend, check):
    parts = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(4)]
    check(tt.stack([tt.tensor(p) for p in parts], axis=axis), np.stack(parts, axis=axis))


def test_stack_of_scalars(backend, check):
    check(tt.stack([tt.tensor(1.0), tt.tensor(2.0)]), np.array([1.0, 2.0], np.float32))


def test_stack_mismatch(backend):
    message = re.escape("stack: tensor 1 has shape (3,), tensor 0 has shape (2,)")
    with pytest.raises(ValueError, match=message):
        tt.stack([tt.zeros(2), tt.zeros(3)])
    with pytest.raises(ValueError, match="stack: needs at least one tensor"):
        tt.stack([])
