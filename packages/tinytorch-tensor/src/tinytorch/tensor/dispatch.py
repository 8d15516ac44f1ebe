"""The one dispatch point that every tensor op passes through.

An op is a small class (`Op`) with a numpy reference `Op.forward` and, where a
C++ kernel pays, a `Op.native` fast path. `apply` runs one of them on the
inputs' arrays, wraps the result in a Tensor, then calls the registered hooks.

The hooks are how the layers above plug in without this package knowing them:
`tinytorch-autograd` registers a hook that records each op in the graph (as
PyTorch's dispatcher puts Autograd above the CPU kernels), and profilers can
register one that counts and times ops. `tinytorch-tensor` itself never imports
autograd.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import backend


class Op:
    """One tensor operation: attributes in ``__init__``, a numpy ``forward``, an optional ``native``.

    Subclasses set `name` (used in error messages and profiles), implement
    `forward` on numpy arrays, and may override `native` with a C++ path that
    returns ``None`` when it does not apply (wrong dtype, say), in which case the
    numpy reference runs. Attributes set in ``__init__`` (an axis, a shape) are
    what a backward rule reads later.

    Examples:
        >>> class Double(Op):
        ...     name = "double"
        ...     def forward(self, x):
        ...         return x * 2
    """

    name = "op"

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        """The numpy reference implementation."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def native(self, *xs: np.ndarray) -> np.ndarray | None:
        """The C++ fast path, or None to fall back to `forward`."""
        return None

    def backward(self, inputs: tuple, out, grad) -> tuple:
        """The gradient rule tinytorch-autograd uses for an op that has no registered rule.

        Returns one gradient (a Tensor, or None) per input, given ``grad`` = dL/d(out);
        written with tensor ops so that gradients of gradients work. This package never
        calls it: it is the contract custom ops (nn's fused layers) fill in.
        """
        raise NotImplementedError(
            f"backward: op {self.name!r} ({type(self).__name__}) has no backward rule; register one "
            "with tinytorch.autograd.rules.register or give the op a backward(inputs, out, grad) method"
        )

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({attrs})"


#: Called as ``hook(op, inputs, output)`` after every op.
Hook = Callable[[Op, tuple, object], None]
_hooks: list[Hook] = []


class HookHandle:
    """Returned by `add_hook`; call `remove` to unregister."""

    def __init__(self, hook, registry: list):
        self._hook, self._registry = hook, registry

    def remove(self) -> None:
        """Unregister the hook (no error if it is already gone)."""
        if self._hook in self._registry:
            self._registry.remove(self._hook)


def add_hook(hook: Hook) -> HookHandle:
    """Register ``hook(op, inputs, output)`` to run after every op; returns a handle."""
    _hooks.append(hook)
    return HookHandle(hook, _hooks)


_pre_hooks: list[Callable[[Op, tuple], None]] = []


def add_pre_hook(hook: Callable[[Op, tuple], None]) -> HookHandle:
    """Register ``hook(op, inputs)`` to run before every op (it may raise to refuse the op).

    Autograd uses one to refuse in-place writes into leaves before anything is written;
    a profiler can use one to start a timer.
    """
    _pre_hooks.append(hook)
    return HookHandle(hook, _pre_hooks)


def apply(op: Op, *inputs):
    """Run ``op`` on Tensors ``inputs`` with the current backend and return a new Tensor."""
    for pre in _pre_hooks:
        pre(op, inputs)
    arrays = tuple(t.data for t in inputs)
    out = op.native(*arrays) if backend.get_backend() == "native" else None
    if out is None:
        out = op.forward(*arrays)
    result = Tensor._wrap(np.asarray(out))
    for hook in _hooks:
        hook(op, inputs, result)
    return result


# The backward engine: tinytorch-autograd installs one; Tensor.backward calls it.
_engine: Callable | None = None


def set_backward_engine(engine: Callable | None) -> None:
    """Install ``engine(tensor, grad)``, which `Tensor.backward` calls (autograd does this)."""
    global _engine
    _engine = engine


def backward_engine() -> Callable | None:
    """The installed backward engine, or None without tinytorch-autograd."""
    return _engine


from .tensor import Tensor  # noqa: E402  (Tensor's methods call back into apply)
