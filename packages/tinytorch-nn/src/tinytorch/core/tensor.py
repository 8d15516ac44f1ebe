"""The seed's ``tinytorch.core.tensor``: the one `Tensor` of `tinytorch.tensor`, plus `Parameter`.

A thin alias module, so that the original course's imports run unchanged:

Examples:
    >>> from tinytorch.core.tensor import Tensor
    >>> (Tensor([1.0, 2.0]) * 3).tolist()
    [3.0, 6.0]

Importing it also imports `tinytorch.autograd`, so that ``Tensor.backward()`` works
for seed code that imports nothing else.
"""

import tinytorch.autograd  # noqa: F401  (Tensor.backward needs the engine)
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import *  # noqa: F403  (every public name of tinytorch.tensor)
from tinytorch.tensor import __all__ as _tensor_all

__all__ = [*_tensor_all, "Parameter"]
