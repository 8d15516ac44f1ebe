"""tinytorch.tensor: numpy-backed tensors with readable C++ kernels.

Everything a student needs to hold and move numbers: the `Tensor` class,
creation functions, elementwise math with broadcasting, reductions, shape ops
and indexing (views or copies, made visible), and `matmul` on a packed,
register-tiled, SIMD, threaded C++ GEMM.

Every op passes through one dispatch point (`tinytorch.tensor.dispatch.apply`),
where the backend is chosen (`use_backend("numpy")` runs the numpy reference of
every op) and where `tinytorch-autograd` records the graph.

Examples:
    >>> import tinytorch.tensor as tt
    >>> x = tt.arange(6, dtype="float32").reshape(2, 3)
    >>> (x @ x.T).tolist()
    [[5.0, 14.0], [14.0, 50.0]]
"""

from . import dispatch
from .backend import BACKENDS, get_backend, native_available, set_backend, use_backend
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import SUPPORTED_DTYPES, bool_, float32, float64, int64, result_type
from .info import check_python, system_info
from .ops.elementwise import (
    abs,
    add,
    cast,
    clamp,
    clip,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    sqrt,
    sub,
    where,
)
from .ops.indexing import getitem, setitem
from .ops.matmul import matmul
from .ops.memory import contiguous, shares_memory
from .ops.reduce import all, any, argmax, argmin, max, mean, min, std, sum, var
from .ops.shape import (
    broadcast_to,
    cat,
    concatenate,
    expand,
    flatten,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
    view,
)
from .random import Generator, default_generator, manual_seed
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Tensor", "dispatch", "BACKENDS", "get_backend", "set_backend", "use_backend", "native_available",
    "tensor", "from_numpy", "zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand",
    "randn", "randint", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
    "randn_like", "SUPPORTED_DTYPES", "float32", "float64", "int64", "bool_", "result_type",
    "add", "sub", "mul", "div", "pow", "neg", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
    "ge", "exp", "log", "sqrt", "abs", "clip", "clamp", "where", "cast", "sum", "mean", "max",
    "min", "argmax", "argmin", "var", "std", "any", "all", "reshape", "view", "flatten",
    "transpose", "permute", "expand", "broadcast_to", "squeeze", "unsqueeze", "concatenate",
    "cat", "stack", "getitem", "setitem", "matmul", "contiguous", "shares_memory", "Generator",
    "default_generator", "manual_seed", "system_info", "check_python",
]
