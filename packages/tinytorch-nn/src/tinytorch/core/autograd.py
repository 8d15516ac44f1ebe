"""The seed's ``tinytorch.core.autograd``: `tinytorch.autograd` re-exported, plus two seed adapters.

The seed wrapped tensors in a ``Variable`` and called ``enable_autograd()``. Here every
`Tensor` can carry gradients and recording is always on once autograd is imported, so
``Variable(x)`` is ``Tensor(x, requires_grad=True)`` and ``enable_autograd()`` does nothing.

Examples:
    >>> from tinytorch.core.autograd import Variable
    >>> x = Variable([1.0, 2.0])
    >>> (x * x).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0]
"""

from tinytorch.autograd import *  # noqa: F403  (every public name of tinytorch.autograd)
from tinytorch.autograd import __all__ as _autograd_all
from tinytorch.tensor import Tensor


def Variable(data, requires_grad: bool = True) -> Tensor:  # noqa: N802  (the seed's class name)
    """The seed's ``Variable(data)``: a `Tensor` that requires grad (floats only).

    Examples:
        >>> Variable([3.0]).requires_grad
        True
    """
    return Tensor(data, requires_grad=requires_grad)


def enable_autograd() -> None:
    """The seed's switch: a no-op, since importing `tinytorch.autograd` already records every op.

    Examples:
        >>> enable_autograd()
    """


__all__ = [*_autograd_all, "Variable", "enable_autograd"]
