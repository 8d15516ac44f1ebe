"""Indexing: ``x[key]`` and ``x[key] = value``, with numpy's basic and advanced rules.

Basic indexing (ints, slices, ``None``, ``...``) returns a **view**: no copy,
and writes through it change the original. Advanced indexing (integer or bool
tensors, lists) gathers into a **new** tensor. ``x[key] = value`` writes in
place, so every view of ``x`` sees the change.
"""

from __future__ import annotations

import numpy as np

from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import as_tensor, cast_to


class GetItem(Op):
    """x[key]."""

    name = "getitem"

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        out = x[self.key]
        if not isinstance(out, np.ndarray):
            # An all-int key gives a numpy scalar (a copy); with a trailing ... numpy
            # returns the same element as a 0-d view, as basic indexing promises.
            key = self.key if isinstance(self.key, tuple) else (self.key,)
            out = x[key + (Ellipsis,)]
        return out


class SetItem(Op):
    """x[key] = value, in place: the output *is* x's array."""

    name = "setitem"

    def __init__(self, key):
        self.key = key

    def forward(self, x, value):
        x[self.key] = value
        return x


def _index_part(op: str, k):
    if isinstance(k, Tensor):
        k = k.data
    elif isinstance(k, list):
        k = np.asarray(k)
    if isinstance(k, np.ndarray):
        if k.dtype.kind not in "biu":
            raise TypeError(f"{op}: index tensors must hold integers or bools, got {k.dtype}")
        return k
    if k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)):
        return k
    raise TypeError(
        f"{op}: indices must be ints, slices, None, ..., or int/bool tensors, got {type(k).__name__}"
    )


def normalize_key(op: str, key):
    """A key numpy understands: Tensors become arrays, lists become index arrays; other types are refused."""
    if isinstance(key, tuple):
        return tuple(_index_part(op, k) for k in key)
    return _index_part(op, key)


def getitem(x, key) -> Tensor:
    """``x[key]``: a view for basic indexing, a copy for advanced (tensor or list) indexing."""
    x = as_tensor(x, "getitem")
    key = normalize_key("getitem", key)
    try:
        return apply(GetItem(key), x)
    except IndexError as exc:
        raise IndexError(f"getitem: {exc} (tensor shape {x.shape})") from None


def setitem(x: Tensor, key, value) -> None:
    """``x[key] = value`` in place; ``value`` is cast to x's dtype and broadcast to the indexed shape.

    Nothing is written when the key or the value's shape is wrong (numpy checks both first).
    """
    key = normalize_key("setitem", key)
    if not x.data.flags.writeable:
        raise ValueError(
            "setitem: this tensor is a read-only broadcast view (from expand/broadcast_to); "
            "call .contiguous() to get a writable copy"
        )
    value = cast_to(value, x.dtype, "setitem")
    try:
        result = apply(SetItem(key), x, value)
    except IndexError as exc:
        raise IndexError(f"setitem: {exc} (tensor shape {x.shape})") from None
    except ValueError:
        raise ValueError(
            f"setitem: a value of shape {value.shape} cannot be written into x{_show(key)} of shape "
            f"{x.data[key].shape} (tensor shape {x.shape})"
        ) from None
    # The write happened in x's own array; x now carries the op's graph node (autograd sets it).
    x._node, x._requires_grad = result._node, result._requires_grad or x._requires_grad


def _show(key) -> str:
    return f"[{key!r}]" if not isinstance(key, tuple) else "[" + ", ".join(map(repr, key)) + "]"
