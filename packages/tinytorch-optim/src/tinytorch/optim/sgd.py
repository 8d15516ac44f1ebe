"""`SGD`: stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

PyTorch's exact semantics. For each parameter ``p`` with gradient ``g``::

    g = g + weight_decay * p                        (L2 penalty, folded into the gradient)
    b = g                          on the first step
    b = momentum * b + (1 - dampening) * g          afterwards
    g = g + momentum * b   if nesterov   else   g = b
    p = p - lr * g

The momentum buffer ``b`` (one array per parameter, 1x the parameters' memory) is created on
the first step.

On the native backend a float32 parameter is updated by one fused C++ call
(``tinytorch.tensor._C.sgd_update``: one pass over memory, no temporaries, the same float32
numbers as the numpy code below); see `tinytorch.optim._fused`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from . import _fused
from .optimizer import Optimizer, check_number


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    Args:
        params: tensors or param-group dicts (``None``: bind later with `Optimizer.bind`).
        lr: learning rate.
        momentum: momentum factor (0 turns momentum off and keeps no state).
        dampening: how much of the new gradient enters the buffer: ``(1 - dampening) * g``.
        weight_decay: L2 penalty coefficient, added to the gradient as ``weight_decay * p``.
        nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> w = tt.tensor([1.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     w.grad = tt.tensor([1.0])       # a constant gradient
        ...     opt.step()
        >>> round(w.item(), 4)                  # 1 - 0.1*1 - 0.1*(0.9*1 + 1)
        0.71
    """

    name = "SGD"

    def __init__(
        self,
        params: Iterable | None = None,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        super()._validate(options)
        check_number(self.name, "momentum", options["momentum"])
        check_number(self.name, "dampening", options["dampening"])
        check_number(self.name, "weight_decay", options["weight_decay"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                f"{self.name}: nesterov=True needs momentum > 0 and dampening == 0 "
                f"(got momentum={options['momentum']}, dampening={options['dampening']})"
            )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        C = _fused.kernels()  # the C++ kernels, or None on the numpy backend
        for p in group["params"]:
            g = self._grad(p)
            if g is None:
                continue
            # BEGIN SOLUTION 10 sgd
            if C is not None and self._fused_update(C, p, g, group):
                continue  # one C++ call did the whole update (see _fused_update)
            # g = g + wd * p   (a new array: never write into p.grad)
            if weight_decay != 0:
                g = g + weight_decay * p.data
            if momentum != 0:
                state = self._state(p)
                buf = state.get("momentum_buffer")
                if buf is None:
                    # b = g on the first step
                    buf = state["momentum_buffer"] = np.array(g, dtype=p.data.dtype, copy=True)
                else:
                    # b = momentum * b + (1 - dampening) * g
                    buf *= momentum
                    buf += (1 - dampening) * g
                # nesterov: g = g + momentum * b, else g = b
                g = g + momentum * buf if nesterov else buf
            # p = p - lr * g   (in place: the parameter keeps its identity)
            p.data -= lr * g
            # END SOLUTION

    def _fused_update(self, C, p, g: np.ndarray, group: dict[str, Any]) -> bool:
        """One C++ call updates p (and its momentum buffer); False if the arrays do not fit."""
        if not _fused.fits(p.data, g):
            return False
        momentum = group["momentum"]
        buf, init = None, False
        if momentum != 0:
            buf = self.state.get(id(p), {}).get("momentum_buffer")
            if buf is None:
                # first step: the kernel writes b = g into a new buffer (the state, not a temporary)
                buf, init = np.empty_like(p.data), True
            elif not _fused.fits(buf):
                return False
        C.sgd_update(
            p.data,
            g,
            buf,
            lr=group["lr"],
            momentum=momentum,
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            init_buffer=init,
        )
        if init:
            self._state(p)["momentum_buffer"] = buf
        return True


__all__ = ["SGD"]
