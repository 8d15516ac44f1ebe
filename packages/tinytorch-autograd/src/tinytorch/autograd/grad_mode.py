"""Grad mode: whether ops record the graph. `no_grad` turns recording off (inference, optimizer steps)."""

from __future__ import annotations

import contextlib
import contextvars

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("tinytorch_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """True when ops on tensors that require grad are being recorded."""
    return _enabled.get()


def set_grad_enabled(mode: bool) -> None:
    """Turn recording on or off for the rest of this context."""
    _enabled.set(bool(mode))


@contextlib.contextmanager
def _grad_mode(mode: bool):
    token = _enabled.set(mode)
    try:
        yield
    finally:
        _enabled.reset(token)


def no_grad():
    """Context manager: inside it no op is recorded and results never require grad.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> w = tt.ones(3, requires_grad=True)
        >>> with no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """
    return _grad_mode(False)


def enable_grad():
    """Context manager: record ops again inside a `no_grad` block."""
    return _grad_mode(True)
