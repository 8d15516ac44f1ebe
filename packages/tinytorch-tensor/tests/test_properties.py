"""Property tests (hypothesis): broadcasting, reductions and views against numpy on random shapes.

Each property runs on both backends with small shapes and a bounded number of examples,
so that the file takes a few seconds.
"""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
import tinytorch.tensor as tt
from hypothesis import HealthCheck, given, settings

# The backend fixture is the same for every example of a test, which is what we want.
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

seeds = st.integers(0, 2**32 - 1)
DTYPES = ["float32", "float64", "int64", "bool"]


def _data(shape, dtype, seed):
    """Random test values of ``shape`` and ``dtype`` (from numpy, with a drawn seed)."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "int64":
        return rng.integers(-5, 6, shape)
    return rng.standard_normal(shape).astype(dtype)


# ----------------------------------------------------------------- broadcasting

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "maximum": (tt.maximum, np.maximum),
    "lt": (lambda a, b: a < b, np.less),
    "eq": (tt.eq, np.equal),
}


@PROPERTY
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    op=st.sampled_from(sorted(BINARY)),
    dtype=st.sampled_from(["float32", "int64"]),
    seed=seeds,
)
def test_broadcasting_matches_numpy(shapes, op, dtype, seed, backend):
    shape_a, shape_b = shapes.input_shapes
    a, b = _data(shape_a, dtype, seed), _data(shape_b, dtype, seed + 1)
    fn, ref = BINARY[op]
    out = fn(tt.tensor(a), tt.tensor(b))
    expected = ref(a, b)
    assert out.shape == np.broadcast_shapes(shape_a, shape_b) == shapes.result_shape
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


@PROPERTY
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    seed=seeds,
)
def test_where_broadcasts_three_ways(shapes, seed, backend):
    shape_c, shape_a, shape_b = shapes.input_shapes
    c = _data(shape_c, "bool", seed)
    a, b = _data(shape_a, "float32", seed), _data(shape_b, "float32", seed + 1)
    out = tt.where(tt.tensor(c), tt.tensor(a), tt.tensor(b))
    assert out.shape == shapes.result_shape
    np.testing.assert_array_equal(out.numpy(), np.where(c, a, b))


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=2, max_side=4), data=st.data())
def test_incompatible_shapes_name_the_op(shape, data, backend):
    axis = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[axis] += 1  # both sizes > 1 and different: cannot broadcast
    with pytest.raises(ValueError, match="add: shapes .* cannot be broadcast together"):
        tt.ones(*shape) + tt.ones(*other)


# -------------------------------------------------------------------- reductions

REDUCTIONS = {
    "sum": (tt.sum, lambda a, axis, kd: np.sum(a, axis=axis, keepdims=kd)),
    "mean": (tt.mean, lambda a, axis, kd: np.mean(a, axis=axis, keepdims=kd)),
    "max": (tt.max, lambda a, axis, kd: np.max(a, axis=axis, keepdims=kd)),
    "min": (tt.min, lambda a, axis, kd: np.min(a, axis=axis, keepdims=kd)),
    "var": (lambda x, axis, keepdims: tt.var(x, axis, keepdims, correction=0),
            lambda a, axis, kd: np.var(a, axis=axis, keepdims=kd)),
    "any": (tt.any, lambda a, axis, kd: np.any(a > 0, axis=axis, keepdims=kd)),
    "all": (tt.all, lambda a, axis, kd: np.all(a > 0, axis=axis, keepdims=kd)),
}


@st.composite
def shape_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    ndim = len(shape)
    axis = draw(
        st.none()
        | st.integers(-ndim, ndim - 1)
        | st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                   unique_by=lambda a: a % ndim).map(tuple)
    )
    return shape, axis


@PROPERTY
@given(case=shape_and_axis(), op=st.sampled_from(sorted(REDUCTIONS)), keepdims=st.booleans(),
       seed=seeds)
def test_reductions_match_numpy(case, op, keepdims, seed, backend):
    shape, axis = case
    a = _data(shape, "float32", seed)
    fn, ref = REDUCTIONS[op]
    x = tt.tensor(a) if op not in ("any", "all") else tt.tensor(a) > 0
    out = fn(x, axis=axis, keepdims=keepdims)
    expected = ref(a.astype(np.float64), axis, keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    if keepdims:
        assert out.ndim == x.ndim
        assert np.broadcast_shapes(out.shape, x.shape) == x.shape
        assert (x.float() - out.float()).shape == x.shape  # it broadcasts back against the input


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), data=st.data(),
       keepdims=st.booleans(), seed=seeds)
def test_argmax_matches_numpy(shape, data, keepdims, seed, backend):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    a = _data(shape, "float32", seed)
    out = tt.tensor(a).argmax(axis, keepdims)
    np.testing.assert_array_equal(out.numpy(), np.argmax(a, axis=axis, keepdims=keepdims))
    assert out.dtype == np.int64


# ------------------------------------------------------------------------- views


def _permute(x, dims):
    return x.permute(*dims) if isinstance(x, tt.Tensor) else x.transpose(dims)


def _swap(x, d0, d1):
    return x.transpose(d0, d1) if isinstance(x, tt.Tensor) else np.swapaxes(x, d0, d1)


@st.composite
def view_chains(draw):
    """A base shape and 1-3 view steps; each step applies one view to a numpy array or a Tensor."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    steps, current = [], shape
    for _ in range(draw(st.integers(1, 3))):
        ndim = len(current)
        kinds = ["permute", "transpose", "slice", "index"] if ndim else ["slice"]
        kind = draw(st.sampled_from(kinds))
        if kind == "permute":
            dims = tuple(draw(st.permutations(range(ndim))))
            steps.append((f"permute{dims}", lambda x, d=dims: _permute(x, d)))
            current = tuple(current[d] for d in dims)
        elif kind == "transpose" and ndim >= 2:
            d0, d1 = draw(st.integers(0, ndim - 1)), draw(st.integers(0, ndim - 1))
            steps.append((f"transpose({d0}, {d1})", lambda x, p=(d0, d1): _swap(x, *p)))
            dims = list(range(ndim))
            dims[d0], dims[d1] = dims[d1], dims[d0]
            current = tuple(current[d] for d in dims)
        elif kind == "index" and ndim >= 2 and current[0] > 0:
            i = draw(st.integers(-current[0], current[0] - 1))
            steps.append((f"[{i}]", lambda x, i=i: x[i]))
            current = current[1:]
        else:
            key = tuple(draw(st.slices(n)) for n in current)
            steps.append((f"[{key}]", lambda x, k=key: x[k]))
            current = np.empty(current)[key].shape
    return shape, steps


def _contiguous_base(shape, dtype, seed):
    """A contiguous Tensor of ``shape`` made by reshaping a 1-D one (a view), and its numpy copy."""
    values = _data((math.prod(shape),), dtype, seed)
    flat = tt.tensor(values)
    base = flat.reshape(shape)
    assert base.shares_memory(flat) or base.size == 0
    return base, values.reshape(shape).copy()


@PROPERTY
@given(chain=view_chains(), dtype=st.sampled_from(DTYPES), seed=seeds)
def test_views_match_numpy_and_share_memory(chain, dtype, seed, backend):
    shape, steps = chain
    base, reference_base = _contiguous_base(shape, dtype, seed)
    view, reference = base, reference_base
    for _, step in steps:
        view, reference = step(view), step(reference)

    np.testing.assert_array_equal(view.numpy(), reference)
    assert view.strides == tuple(s // reference.itemsize for s in reference.strides)
    assert view.is_contiguous() == reference.flags.c_contiguous
    if view.size:
        assert view.shares_memory(base)

    # contiguous() copies exactly the non-contiguous views; clone() always copies
    packed, cloned = view.contiguous(), view.clone()
    assert (packed is view) == view.is_contiguous()
    for copy in ([packed] if packed is not view else []) + [cloned]:
        assert copy.is_contiguous() and not copy.shares_memory(base)
        np.testing.assert_array_equal(copy.numpy(), reference)
    snapshot = cloned.numpy().copy()

    # writing through the view changes the base, exactly where numpy's view would
    fill = np.arange(view.size).reshape(view.shape) % 3
    view[...] = tt.tensor(fill)
    reference[...] = fill.astype(reference.dtype)
    np.testing.assert_array_equal(base.numpy(), reference_base)
    np.testing.assert_array_equal(cloned.numpy(), snapshot)  # the copy kept its values


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=seeds)
def test_reshape_of_contiguous_is_a_view(shape, data, dtype, seed, backend):
    base, reference = _contiguous_base(shape, dtype, seed)
    size = base.size
    d = data.draw(st.sampled_from([k for k in range(1, size + 1) if size % k == 0]))
    new_shape = data.draw(st.sampled_from([(size // d, d), (d, -1), (-1,), (1, size, 1)]))
    out = base.reshape(new_shape)
    np.testing.assert_array_equal(out.numpy(), reference.reshape(new_shape))
    assert out.shares_memory(base) and out.is_contiguous()
    assert out.strides == tuple(s // out.itemsize for s in reference.reshape(new_shape).strides)


@PROPERTY
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=seeds)
def test_expand_has_stride_0_and_contiguous_copies(shape, data, dtype, seed, backend):
    # make some dimensions size 1, then expand them (and maybe add a leading one)
    ones = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    small = tuple(1 if o else s for o, s in zip(ones, shape, strict=True))
    lead = data.draw(st.sampled_from([(), (2,)]))
    a = _data(small, dtype, seed)
    x = tt.tensor(a)
    out = x.expand(*(lead + shape))
    reference = np.broadcast_to(a, lead + shape)
    np.testing.assert_array_equal(out.numpy(), reference)
    for i, stride in enumerate(out.strides):
        if i < len(lead) or small[i - len(lead)] < shape[i - len(lead)]:
            assert stride == 0  # an expanded dimension repeats one element
        elif shape[i - len(lead)] > 1:
            assert stride == x.strides[i - len(lead)]  # a kept dimension keeps its stride
    assert out.is_contiguous() == reference.flags.c_contiguous
    assert out.shares_memory(x)
    packed = out.contiguous()
    np.testing.assert_array_equal(packed.numpy(), reference)
    assert packed.is_contiguous()
    if not out.is_contiguous():
        assert not packed.shares_memory(x)
