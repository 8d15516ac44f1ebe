"""Shape ops: reshape/view, flatten, transpose/permute, expand/broadcast_to, squeeze/unsqueeze, concatenate/stack.

Which of them copy:

| op | result |
|----|--------|
| `view`, `transpose`, `permute`, `expand`, `broadcast_to`, `squeeze`, `unsqueeze` | always a view (no copy) |
| `reshape`, `flatten` | a view when the strides allow it, else a copy |
| `concatenate`, `stack` | always a new tensor |

A view shares memory with its input (`Tensor.shares_memory`), so writing into
one shows in the other. `transpose` and `expand` make tensors that are not
contiguous; `contiguous()` copies them into row-major order.
"""

from __future__ import annotations

import math

import numpy as np

from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import as_tensor, normalize_axes, normalize_axis, operands, shape_arg


class Reshape(Op):
    """Same elements in row-major order, new shape."""

    name = "reshape"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x):
        return np.reshape(x, self.shape)


class Permute(Op):
    """Reorder dimensions: output dim i is input dim ``dims[i]`` (a view with permuted strides)."""

    name = "permute"

    def __init__(self, dims: tuple[int, ...]):
        self.dims = dims

    def forward(self, x):
        return np.transpose(x, self.dims)


class BroadcastTo(Op):
    """Repeat size-1 (and new leading) dimensions without copying: their stride becomes 0."""

    name = "broadcast_to"

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)


class Concatenate(Op):
    """Join tensors along an existing axis."""

    name = "concatenate"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)


def _infer_shape(op: str, x: Tensor, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Resolve one -1 in ``shape`` and check the element count matches ``x``."""
    # BEGIN SOLUTION 02 reshape
    if sum(1 for s in shape if s == -1) > 1:
        raise ValueError(f"{op}: only one dimension can be -1, got {shape}")
    if any(s < -1 for s in shape):
        raise ValueError(f"{op}: invalid size in shape {shape}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or x.size % known:
            raise ValueError(
                f"{op}: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into shape {shape}"
            )
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    elif known != x.size:
        raise ValueError(
            f"{op}: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
            f"into shape {shape} ({known} elements)"
        )
    return shape
    # END SOLUTION


def reshape(x, *shape) -> Tensor:
    """``x`` with a new shape holding the same number of elements; one entry may be -1 (inferred).

    Returns a view when the strides allow it, else a copy. Example:
    ``arange(6).reshape(2, -1).shape == (2, 3)``.
    """
    x = as_tensor(x, "reshape")
    target = _infer_shape("reshape", x, shape_arg("reshape", shape))
    return x if target == x.shape else apply(Reshape(target), x)


def view(x, *shape) -> Tensor:
    """Like `reshape`, but always a view: raises RuntimeError when the strides would need a copy."""
    x = as_tensor(x, "view")
    target = _infer_shape("view", x, shape_arg("view", shape))
    probe = x.data.view()
    try:
        probe.shape = target  # numpy refuses exactly when a copy would be needed
    except AttributeError:
        raise RuntimeError(
            f"view: a tensor of shape {x.shape} with strides {x.strides} cannot be viewed as "
            f"{target} without copying; call .contiguous() first or use reshape()"
        ) from None
    return apply(Reshape(target), x)


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` .. ``end_dim`` (inclusive) into one."""
    x = as_tensor(x, "flatten")
    if x.ndim == 0:
        return reshape(x, 1)
    s = normalize_axis("flatten", start_dim, x.ndim)
    e = normalize_axis("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :])


def permute(x, *dims) -> Tensor:
    """Reorder the dimensions: output dimension i is input dimension ``dims[i]`` (a view)."""
    x = as_tensor(x, "permute")
    dims = shape_arg("permute", dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {len(dims)} dims {dims} given for a tensor of shape {x.shape}")
    norm = tuple(normalize_axis("permute", d, x.ndim) for d in dims)
    if sorted(norm) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the dimensions of shape {x.shape}")
    return apply(Permute(norm), x)


def transpose(x, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap dimensions ``dim0`` and ``dim1`` (a view; the last two by default)."""
    x = as_tensor(x, "transpose")
    # BEGIN SOLUTION 02 reshape
    if x.ndim < 2:
        return x
    d0, d1 = normalize_axis("transpose", dim0, x.ndim), normalize_axis("transpose", dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return apply(Permute(tuple(dims)), x)
    # END SOLUTION


def broadcast_to(x, shape) -> Tensor:
    """``x`` broadcast to ``shape`` following numpy's rules (a read-only view with stride-0 dimensions)."""
    x = as_tensor(x, "broadcast_to")
    target = shape_arg("broadcast_to", (shape,) if isinstance(shape, (tuple, list)) else (shape,))
    try:
        ok = np.broadcast_shapes(x.shape, target) == target
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {x.shape} to {target}")
    return x if target == x.shape else apply(BroadcastTo(target), x)


def expand(x, *shape) -> Tensor:
    """PyTorch's expand: like `broadcast_to`, where -1 keeps that dimension's size."""
    x = as_tensor(x, "expand")
    shape = shape_arg("expand", shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: shape {shape} has fewer dimensions than the tensor's {x.shape}")
    target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    if any(s < 0 for s in target):
        raise ValueError(f"expand: -1 is not allowed for a new leading dimension in {shape}")
    for i, size in enumerate(x.shape):
        if size != 1 and size != target[i + lead]:
            raise ValueError(
                f"expand: cannot expand shape {x.shape} to {target}: dimension {i} has size {size}, not 1"
            )
    return broadcast_to(x, target)


def squeeze(x, axis=None) -> Tensor:
    """Remove size-1 dimensions: all of them, or those in ``axis`` (others there are left alone, as PyTorch)."""
    x = as_tensor(x, "squeeze")
    axes = normalize_axes("squeeze", axis, x.ndim) if x.ndim else None
    drop = set(range(x.ndim)) if axes is None else set(axes)
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in drop and s == 1)))


def unsqueeze(x, axis: int) -> Tensor:
    """Insert a size-1 dimension at ``axis`` (in [-ndim-1, ndim])."""
    x = as_tensor(x, "unsqueeze")
    a = normalize_axis("unsqueeze", axis, x.ndim + 1)
    return reshape(x, x.shape[:a] + (1,) + x.shape[a:])


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join a sequence of tensors along an existing ``axis``; every other dimension must match."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    tensors = list(operands("concatenate", *tensors))
    first = tensors[0]
    if first.ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    a = normalize_axis("concatenate", axis, first.ndim)
    for i, t in enumerate(tensors[1:], start=1):
        if t.ndim != first.ndim or any(t.shape[d] != first.shape[d] for d in range(first.ndim) if d != a):
            raise ValueError(
                f"concatenate: tensor {i} has shape {t.shape}, which does not match tensor 0's "
                f"shape {first.shape} outside dimension {a}"
            )
    return apply(Concatenate(a), *tensors)


cat = concatenate


def stack(tensors, axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new ``axis``."""
    tensors = [as_tensor(t, "stack") for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    for i, t in enumerate(tensors[1:], start=1):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has shape {tensors[0].shape}")
    a = normalize_axis("stack", axis, tensors[0].ndim + 1)
    return concatenate([unsqueeze(t, a) for t in tensors], axis=a)
