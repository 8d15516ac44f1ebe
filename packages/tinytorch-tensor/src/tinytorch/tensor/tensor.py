"""`Tensor`: an n-dimensional array of numbers, with a slot for its gradient.

A Tensor wraps one numpy array (``tensor.data``) and adds what a deep-learning
framework needs around it: ops that all pass through one dispatch point (so
autograd and profilers can watch them), a ``requires_grad`` flag and a ``grad``
slot, and memory made visible (`Tensor.nbytes`, `Tensor.strides`,
`Tensor.is_contiguous`, `Tensor.shares_memory`).
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .dtypes import as_dtype, canonical_dtype


def to_array(data, dtype=None, op: str = "tensor", copy: bool = True) -> np.ndarray:
    """Convert ``data`` (Tensor, ndarray, scalar or nested list) into a numpy array of a supported dtype.

    Python floats become float32 (the default float); numpy arrays keep their
    dtype unless ``dtype`` is given; narrow integers widen to int64. With
    ``copy=False`` an ndarray of the right dtype is used as is (shared memory).
    """
    # BEGIN SOLUTION 02 tensor_data
    if isinstance(data, Tensor):
        data = data.data
    want = as_dtype(dtype, op) if dtype is not None else None
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        target = want if want is not None else canonical_dtype(arr.dtype, op)
        if copy or arr.dtype != target:
            arr = np.array(arr, dtype=target, copy=True)
        return arr
    try:
        arr = np.array(data)
    except ValueError as exc:  # ragged lists
        raise ValueError(f"{op}: cannot make a tensor from {type(data).__name__}: {exc}") from None
    if arr.dtype == object:
        raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__} of mixed or non-numeric items")
    if want is not None:
        target = want
    elif arr.dtype.kind == "f":
        target = dtypes.DEFAULT_FLOAT  # Python floats are float32 here, as in PyTorch
    else:
        target = canonical_dtype(arr.dtype, op)
    return arr.astype(target, copy=False)
    # END SOLUTION


class Tensor:
    """An n-dimensional array with a gradient slot; every op on it goes through the dispatch point.

    ``Tensor(data)`` copies ``data`` (a nested list, scalar, numpy array or Tensor);
    use `tinytorch.tensor.from_numpy` to share an array's memory instead.

    Args:
        data: the values.
        dtype: one of float32 (default for floats), float64, int64, bool.
        requires_grad: record ops on this tensor for `backward` (floats only).

    Examples:
        >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> (x * 2 + 1).sum().item()
        24.0
    """

    # __slots__ keeps Tensors small; subclasses (nn's Parameter) may add a __dict__.
    __slots__ = ("data", "grad", "_requires_grad", "_node", "__weakref__")
    __array_priority__ = 1000  # make ndarray + Tensor call Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        self.data: np.ndarray = to_array(data, dtype)
        self.grad: Tensor | None = None
        self._node = None  # the graph node that made this tensor (set by autograd)
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """Wrap an op's output array without copying or checking (internal)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t._node = None
        t._requires_grad = False
        return t

    # ----------------------------------------------------------- gradient slot
    @property
    def requires_grad(self) -> bool:
        """Whether ops on this tensor are recorded so that `backward` can reach it."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, "
                f"this one is {self.data.dtype}"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set `requires_grad` in place and return self."""
        self.requires_grad = flag
        return self

    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into the graph's leaves' ``.grad`` (needs tinytorch-autograd).

        ``grad`` is the upstream gradient (default: 1 for a one-element tensor);
        ``create_graph=True`` records the backward pass so gradients can be differentiated again.
        """
        from .dispatch import backward_engine

        engine = backward_engine()
        if engine is None:
            raise RuntimeError(
                "backward: no autograd engine is installed; "
                "pip install tinytorch-autograd and `import tinytorch.autograd`"
            )
        engine(self, grad, create_graph=create_graph)

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory but cut off from the graph."""
        return Tensor._wrap(self.data)

    # ------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The element type: float32, float64, int64 or bool."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """The number of elements (as numpy's ``size``; same as `numel`)."""
        return self.data.size

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self.data.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes of the elements this tensor spans (a view reports its own elements, not its base's)."""
        return self.data.nbytes

    @property
    def strides(self) -> tuple[int, ...]:
        """Steps, in elements, between neighbours along each dimension (numpy's are in bytes).

        A C-contiguous (2, 3) tensor has strides (3, 1); its transpose (1, 3);
        a broadcast (expanded) dimension has stride 0.
        """
        return tuple(s // self.data.itemsize for s in self.data.strides)

    def is_contiguous(self) -> bool:
        """True when the elements lie in memory in row-major order with no gaps."""
        return bool(self.data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        """This tensor if it is contiguous, else a row-major copy (the C++ copy kernel)."""
        return self if self.is_contiguous() else _mem.contiguous(self)

    def clone(self) -> Tensor:
        """A contiguous copy that owns its memory (recorded by autograd)."""
        return _mem.contiguous(self)

    def shares_memory(self, other: Tensor) -> bool:
        """True if this tensor and ``other`` may read or write the same bytes (one is a view of the other)."""
        return _mem.shares_memory(self, other)

    def data_ptr(self) -> int:
        """Address of the first element (two views of one buffer can differ only by offset)."""
        return self.data.__array_interface__["data"][0]

    @property
    def device(self) -> str:
        """Always ``"cpu"``."""
        return "cpu"

    # --------------------------------------------------------- conversions
    def numpy(self) -> np.ndarray:
        """The underlying numpy array (shared memory, not a copy)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a number, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The values as (nested) Python lists."""
        return self.data.tolist()

    def to(self, dtype) -> Tensor:
        """This tensor converted to ``dtype`` (self if it already has it)."""
        return _ew.cast(self, dtype)

    astype = to

    def float(self) -> Tensor:
        """Convert to float32."""
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        """Convert to float64."""
        return self.to(dtypes.float64)

    def long(self) -> Tensor:
        """Convert to int64."""
        return self.to(dtypes.int64)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len: a 0-d tensor has no length")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype != dtypes.int64 or self.data.size != 1:
            raise TypeError("index: only single-element int64 tensors can be used as an index")
        return int(self.data)

    __hash__ = object.__hash__  # == is elementwise, so hash by identity like PyTorch

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", threshold=200)
        extras = ""
        if self.dtype != dtypes.float32:
            extras += f", dtype={self.dtype}"
        if self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other): return _ew.add(self, other)
    def __radd__(self, other): return _ew.add(other, self)
    def __sub__(self, other): return _ew.sub(self, other)
    def __rsub__(self, other): return _ew.sub(other, self)
    def __mul__(self, other): return _ew.mul(self, other)
    def __rmul__(self, other): return _ew.mul(other, self)
    def __truediv__(self, other): return _ew.div(self, other)
    def __rtruediv__(self, other): return _ew.div(other, self)
    def __pow__(self, other): return _ew.pow(self, other)
    def __rpow__(self, other): return _ew.pow(other, self)
    def __neg__(self): return _ew.neg(self)
    def __abs__(self): return _ew.abs(self)
    def __matmul__(self, other): return _mm.matmul(self, other)
    def __rmatmul__(self, other): return _mm.matmul(other, self)

    def __eq__(self, other): return _ew.eq(self, other)  # type: ignore[override]
    def __ne__(self, other): return _ew.ne(self, other)  # type: ignore[override]
    def __lt__(self, other): return _ew.lt(self, other)
    def __le__(self, other): return _ew.le(self, other)
    def __gt__(self, other): return _ew.gt(self, other)
    def __ge__(self, other): return _ew.ge(self, other)

    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return _ew.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return _ew.log(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return _ew.sqrt(self)

    def abs(self) -> Tensor:
        """Elementwise absolute value."""
        return _ew.abs(self)

    def pow(self, exponent) -> Tensor:
        """Elementwise self**exponent."""
        return _ew.pow(self, exponent)

    def clip(self, min=None, max=None) -> Tensor:
        """Clamp every element into [min, max] (either bound may be None)."""
        return _ew.clip(self, min, max)

    clamp = clip

    def maximum(self, other) -> Tensor:
        """Elementwise larger of self and ``other``."""
        return _ew.maximum(self, other)

    def minimum(self, other) -> Tensor:
        """Elementwise smaller of self and ``other``."""
        return _ew.minimum(self, other)

    def matmul(self, other) -> Tensor:
        """Matrix product (see `tinytorch.tensor.matmul`)."""
        return _mm.matmul(self, other)

    # ------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (int, tuple or None for all)."""
        return _red.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``."""
        return _red.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims: bool = False) -> Tensor:
        """Largest value over ``axis`` (values only; `argmax` gives the indices)."""
        return _red.max(self, axis, keepdims)

    def min(self, axis=None, keepdims: bool = False) -> Tensor:
        """Smallest value over ``axis``."""
        return _red.min(self, axis, keepdims)

    def argmax(self, axis=None, keepdims: bool = False) -> Tensor:
        """Index of the largest value over ``axis`` (of the flattened tensor if None)."""
        return _red.argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims: bool = False) -> Tensor:
        """Index of the smallest value over ``axis``."""
        return _red.argmin(self, axis, keepdims)

    def var(self, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """Variance over ``axis``, dividing by N - correction (1: unbiased, as PyTorch)."""
        return _red.var(self, axis, keepdims, correction)

    def std(self, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """Standard deviation over ``axis`` (square root of `var`)."""
        return _red.std(self, axis, keepdims, correction)

    def any(self, axis=None, keepdims: bool = False) -> Tensor:
        """True where any element over ``axis`` is nonzero."""
        return _red.any(self, axis, keepdims)

    def all(self, axis=None, keepdims: bool = False) -> Tensor:
        """True where every element over ``axis`` is nonzero."""
        return _red.all(self, axis, keepdims)

    # ------------------------------------------------------------ shape ops
    def reshape(self, *shape) -> Tensor:
        """Same elements, new shape (one -1 is inferred); a view when possible, else a copy."""
        return _sh.reshape(self, *shape)

    def view(self, *shape) -> Tensor:
        """Same elements, new shape, always a view; raises if that needs a copy."""
        return _sh.view(self, *shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions start_dim..end_dim into one."""
        return _sh.flatten(self, start_dim, end_dim)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two dimensions (a view)."""
        return _sh.transpose(self, dim0, dim1)

    def permute(self, *dims) -> Tensor:
        """Reorder the dimensions (a view)."""
        return _sh.permute(self, *dims)

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (a view), the matrix transpose for 2-D."""
        return _sh.permute(self, *reversed(range(self.ndim)))

    def expand(self, *shape) -> Tensor:
        """Broadcast size-1 dimensions to ``shape`` (-1 keeps a size) without copying: stride 0."""
        return _sh.expand(self, *shape)

    def broadcast_to(self, shape) -> Tensor:
        """Broadcast to ``shape`` (a view with stride-0 dimensions)."""
        return _sh.broadcast_to(self, shape)

    def squeeze(self, axis=None) -> Tensor:
        """Drop size-1 dimensions (all, or the given ones)."""
        return _sh.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert a size-1 dimension at ``axis``."""
        return _sh.unsqueeze(self, axis)

    # -------------------------------------------------------------- indexing
    def __getitem__(self, key) -> Tensor:
        return _ix.getitem(self, key)

    def __setitem__(self, key, value) -> None:
        _ix.setitem(self, key, value)


# The op modules import Tensor, so they are imported after it is defined.
from .ops import elementwise as _ew  # noqa: E402
from .ops import indexing as _ix  # noqa: E402
from .ops import matmul as _mm  # noqa: E402
from .ops import memory as _mem  # noqa: E402
from .ops import reduce as _red  # noqa: E402
from .ops import shape as _sh  # noqa: E402
