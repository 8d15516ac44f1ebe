"""`Parameter`: a tensor that a `Module` learns.

A Parameter is an ordinary `tinytorch.tensor.Tensor` with ``requires_grad=True``
that a `Module` recognises: assigning one to a module attribute registers it, so
that `Module.parameters` (what an optimizer updates), `Module.state_dict` and
`Module.zero_grad` find it.
"""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor: ``requires_grad=True`` by default, registered when set on a `Module`.

    ``Parameter(data)`` copies ``data`` (a Tensor, numpy array or nested list). Ops on a
    Parameter return plain Tensors; the Parameter itself is a leaf of every graph, so
    ``backward`` accumulates into its ``.grad``. An optimizer updates it in place
    (``p.data -= lr * p.grad.data``), which keeps every reference to it valid.

    Args:
        data: the initial values (float32 unless the data or ``dtype`` says otherwise).
        requires_grad: whether gradients are computed for it (False freezes it).
        dtype: optional dtype to convert the data to.

    Examples:
        >>> import numpy as np
        >>> w = Parameter(np.zeros((2, 3), dtype=np.float32))
        >>> w.requires_grad, w.shape
        (True, (2, 3))
    """

    def __init__(self, data=None, requires_grad: bool = True, dtype=None):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        super().__init__(data, dtype=dtype, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # Tensor uses __slots__ and this subclass a __dict__: rebuild explicitly (deepcopy, pickle).
        return (_rebuild_parameter, (self.data.copy(), self.requires_grad, self.__dict__.copy()))


def _rebuild_parameter(data, requires_grad, state):
    p = Parameter(data, requires_grad=requires_grad)
    p.__dict__.update(state)
    return p


__all__ = ["Parameter"]
