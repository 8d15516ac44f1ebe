"""`Function`: the base class for a custom differentiable op."""

from __future__ import annotations

from tinytorch.tensor import Tensor, dispatch


class Function(dispatch.Op):
    """A custom op: a numpy ``forward`` and a ``backward`` written with tensor ops.

    Subclass it, set ``name``, take the op's attributes in ``__init__``, and call
    ``MyFunction.apply(*tensors, **attributes)``. It runs through the dispatch
    point like every built-in op, so it is recorded, profiled and switchable.
    Write ``backward`` with tensor ops (or other Functions) and gradients of
    gradients work too.

    Examples:
        >>> import numpy as np
        >>> import tinytorch.tensor as tt
        >>> class Softplus(Function):
        ...     name = "softplus"
        ...     def forward(self, x):
        ...         return np.logaddexp(0.0, x)
        ...     def backward(self, inputs, out, grad):
        ...         (x,) = inputs
        ...         return (grad / ((-x).exp() + 1),)
        >>> x = tt.tensor([0.0, 1.0], requires_grad=True)
        >>> Softplus.apply(x).sum().backward()
        >>> [round(v, 4) for v in x.grad.tolist()]
        [0.5, 0.7311]
    """

    @classmethod
    def apply(cls, *tensors: Tensor, **attributes) -> Tensor:
        """Run the function on ``tensors`` (attributes go to ``__init__``) and record it."""
        return dispatch.apply(cls(**attributes), *tensors)
