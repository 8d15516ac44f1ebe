"""`Adam` and `AdamW`: adaptive moment estimation, with L2 or decoupled weight decay.

PyTorch's exact semantics. For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

    g = g + weight_decay * p               (Adam: L2 folded into the gradient)
    p = p * (1 - lr * weight_decay)        (AdamW instead: decoupled decay, applied to p first)
    m = beta1 * m + (1 - beta1) * g        first moment  (running mean of g)
    v = beta2 * v + (1 - beta2) * g^2      second moment (running mean of g^2)
    v_max = max(v_max, v)                  (amsgrad only; then v_max replaces v below)
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)      bias corrections
    p = p - lr * m_hat / (sqrt(v_hat) + eps)

``m`` and ``v`` each have the parameter's shape: Adam's state is 2x the parameters' memory
(3x with amsgrad), created on the first step.

On the native backend a float32 parameter is updated by one fused C++ call
(``tinytorch.tensor._C.adam_update`` / ``adamw_update``: one pass over memory, no temporaries,
the same float32 numbers as the numpy code below); see `tinytorch.optim._fused`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from . import _fused
from .optimizer import Optimizer, check_number


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with optional L2 weight decay and AMSGrad.

    Args:
        params: tensors or param-group dicts (``None``: bind later with `Optimizer.bind`, as
            the seed's ``Trainer(model, loss, Adam(lr=0.001), ...)`` does).
        lr: learning rate.
        betas: decay rates of the first and second moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty, added to the gradient (see `AdamW` for the decoupled form).
        amsgrad: use the running maximum of the second moment (AMSGrad).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> w = tt.tensor([1.0, 1.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> w.grad = tt.tensor([5.0, -0.01])    # the first step moves by ~lr * sign(g)
        >>> opt.step()
        >>> [round(x, 4) for x in w.tolist()]
        [0.9, 1.1]
    """

    name = "Adam"
    decoupled = False

    def __init__(
        self,
        params: Iterable | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
    ):
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        super()._validate(options)
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self.name}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_number(self.name, "beta1", betas[0], 0.0, 1.0, high_open=True)
        check_number(self.name, "beta2", betas[1], 0.0, 1.0, high_open=True)
        check_number(self.name, "eps", options["eps"])
        check_number(self.name, "weight_decay", options["weight_decay"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        C = _fused.kernels()  # the C++ kernels, or None on the numpy backend
        for p in group["params"]:
            g = self._grad(p)
            if g is None:
                continue
            state = self._state(p)
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(p.data)  # m: (same shape as p)
                state["exp_avg_sq"] = np.zeros_like(p.data)  # v: (same shape as p)
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
            # BEGIN SOLUTION 10 adam
            if C is not None and self._fused_update(C, p, g, state, group):
                continue  # one C++ call did the whole update (see _fused_update)
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            if weight_decay != 0:
                if self.decoupled:
                    # AdamW: p = p * (1 - lr * wd)
                    p.data *= 1 - lr * weight_decay
                else:
                    # Adam: g = g + wd * p
                    g = g + weight_decay * p.data
            # m = beta1 * m + (1 - beta1) * g
            m *= beta1
            m += (1 - beta1) * g
            # v = beta2 * v + (1 - beta2) * g^2
            v *= beta2
            v += (1 - beta2) * (g * g)
            # bias corrections: m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t)
            step_size = lr / (1 - beta1**t)
            bias_correction2_sqrt = math.sqrt(1 - beta2**t)
            if amsgrad:
                # v_max = max(v_max, v); use v_max in the denominator
                v_max = state["max_exp_avg_sq"]
                np.maximum(v_max, v, out=v_max)
                v = v_max
            # p = p - lr * m_hat / (sqrt(v_hat) + eps)
            denom = np.sqrt(v) / bias_correction2_sqrt + eps
            p.data -= step_size * (m / denom)
            # END SOLUTION

    def _fused_update(self, C, p, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]):
        """One C++ call updates p, m, v (and v_max); False if the arrays do not fit."""
        m, v = state["exp_avg"], state["exp_avg_sq"]
        v_max = state["max_exp_avg_sq"] if group["amsgrad"] else None
        if not _fused.fits(p.data, g, m, v, *([] if v_max is None else [v_max])):
            return False
        beta1, beta2 = group["betas"]
        update = C.adamw_update if self.decoupled else C.adam_update
        update(
            p.data,
            g,
            m,
            v,
            v_max,
            step=int(state["step"]) + 1,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
        )
        state["step"] += 1  # only once the kernel has run (it checks everything first)
        return True


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``p *= 1 - lr * wd``.

    Unlike `Adam`'s L2 penalty, the decay does not pass through the adaptive denominator, so
    every weight decays at the same relative rate. The default ``weight_decay`` is 0.01.

    Args:
        params: tensors or param-group dicts (``None``: bind later).
        lr: learning rate.
        betas: decay rates of the moment estimates.
        eps: added to the denominator.
        weight_decay: decoupled decay coefficient.
        amsgrad: use AMSGrad.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> w = tt.tensor([2.0], requires_grad=True)
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = tt.tensor([0.0])          # no gradient signal: only the decay acts
        >>> opt.step()
        >>> round(w.item(), 4)                 # 2 * (1 - 0.1 * 0.5)
        1.9
    """

    name = "AdamW"
    decoupled = True

    def __init__(
        self,
        params: Iterable | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )


__all__ = ["Adam", "AdamW"]
