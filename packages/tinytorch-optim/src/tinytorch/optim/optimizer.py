"""`Optimizer`: the base class of every update rule (param groups, state, state dicts, binding).

An optimizer holds **param groups** (dicts: ``{"params": [tensors...], "lr": ..., ...}``, each
with its own options) and a per-parameter **state** (momentum buffers, Adam's moments, step
counts: numpy arrays and numbers). ``step()`` reads every parameter's ``.grad`` and updates
the parameter's array in place, so every reference to the parameter (the model's, the
optimizer's) stays valid.

The seed builds an optimizer before it knows the model (``Adam(lr=0.001)`` handed to a
``Trainer``): an optimizer made without parameters is *unbound*, and `Optimizer.bind` gives it
its parameters later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from tinytorch.autograd import enable_grad
from tinytorch.tensor import Tensor


class Optimizer:
    """Base class: holds param groups and per-parameter state; subclasses write `_update_group`.

    Args:
        params: an iterable of tensors (e.g. ``model.parameters()``), or of dicts (param groups:
            ``{"params": [...], "lr": 0.1}``, options missing from a group come from
            ``defaults``), or ``None`` to bind later with `bind`.
        defaults: the default value of every option (``{"lr": 0.01, ...}``).

    A subclass sets ``name``, implements ``_validate(options)`` (raise ``ValueError`` for a bad
    hyperparameter) and ``_update_group(group)`` (update each parameter of one group, in place).
    ``step`` runs the update under ``tinytorch.autograd.no_grad``.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> w = tt.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.5)
        >>> (w * w).sum().backward()    # grad = 2w = [2, 4]
        >>> opt.step()
        >>> w.tolist()                  # w - 0.5 * grad
        [0.0, 0.0]
    """

    name = "Optimizer"

    def __init__(self, params: Iterable | None, defaults: dict[str, Any]):
        self._validate(defaults)
        self.defaults: dict[str, Any] = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        # Per-parameter state, keyed by id(param): the params themselves are kept alive by
        # param_groups. (Tensor overrides ==, so tensors cannot be dict keys.)
        self.state: dict[int, dict[str, Any]] = {}
        if params is not None:
            self.bind(params)

    # ------------------------------------------------------------------ hooks for subclasses
    def _validate(self, options: dict[str, Any]) -> None:
        """Raise ``ValueError`` naming the optimizer and the value for a bad hyperparameter."""
        lr = options.get("lr", 0.0)
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr >= 0.0:
            raise ValueError(
                f"{self.name}: invalid learning rate lr={lr!r} (must be a number >= 0)"
            )

    def _update_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement _update_group")

    # ------------------------------------------------------------------ binding and groups
    @property
    def is_bound(self) -> bool:
        """Whether the optimizer has parameters (made with them, or `bind` was called).

        Examples:
            >>> from tinytorch.optim import Adam
            >>> Adam(lr=0.001).is_bound
            False
        """
        return bool(self.param_groups)

    def bind(self, params: Iterable) -> Optimizer:
        """Give an optimizer made without parameters its parameters; returns self.

        This is how the seed's ``Trainer(model, loss, Adam(lr=0.001), ...)`` works: the trainer
        calls ``optimizer.bind(model.parameters())``. Binding twice is an error (use
        `add_param_group` to add parameters).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import Adam
            >>> opt = Adam(lr=0.001)
            >>> opt = opt.bind([tt.zeros(3, requires_grad=True)])
            >>> opt.is_bound, len(opt.param_groups[0]["params"])
            (True, 1)
        """
        if self.param_groups:
            raise RuntimeError(
                f"{self.name}.bind: the optimizer already has parameters; "
                "use add_param_group to add more"
            )
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self.name}: params must be an iterable of tensors or of dicts, got a single "
                "Tensor (wrap it in a list: [w])"
            )
        if isinstance(params, dict):
            params = [params]
        items = list(params)
        if not items:
            raise ValueError(f"{self.name}: got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        try:
            for group in groups:
                self.add_param_group(group)
        except Exception:
            self.param_groups = []
            raise
        return self

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the rest come from ``defaults``).

        Useful to fine-tune: a new head at a higher learning rate than the body.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
            >>> opt.add_param_group({"params": [tt.zeros(3, requires_grad=True)], "lr": 1.0})
            >>> [g["lr"] for g in opt.param_groups], opt.param_groups[1]["momentum"]
            ([0.1, 1.0], 0.9)
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{self.name}: a param group must be a dict, got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{self.name}: a param group needs a 'params' key")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{self.name}: can only optimize Tensors, param {i} of the group is "
                    f"{type(p).__name__}"
                )
            if p.data.dtype.kind != "f":
                raise TypeError(
                    f"{self.name}: can only optimize floating-point tensors, got {p.dtype}"
                )
        unknown = (
            set(param_group) - set(self.defaults) - {"params", "initial_lr", "max_lr", "min_lr"}
        )
        if unknown:
            raise ValueError(f"{self.name}: unknown option(s) {sorted(unknown)} in a param group")
        group = {**self.defaults, **param_group, "params": params}
        self._validate(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(
                f"{self.name}: some parameters appear in more than one group (or twice)"
            )
        self.param_groups.append(group)

    def _check_bound(self, what: str) -> None:
        if not self.param_groups:
            raise RuntimeError(
                f"{self.name}.{what}: the optimizer has no parameters yet; pass them when you make "
                f"it ({self.name}(model.parameters(), ...)) or call "
                "optimizer.bind(model.parameters())"
            )

    def parameters(self) -> list[Tensor]:
        """Every parameter of every group, in order (the order `state_dict` indexes them by).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> len(SGD([tt.zeros(2, requires_grad=True)], lr=0.1).parameters())
            1
        """
        return [p for g in self.param_groups for p in g["params"]]

    # ------------------------------------------------------------------ the update
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: to ``None`` (default: frees memory) or to zeros.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> w = tt.ones(2, requires_grad=True)
            >>> (w * 3).sum().backward()
            >>> opt = SGD([w], lr=0.1)
            >>> opt.zero_grad(); w.grad is None
            True
        """
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient (in place); returns ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss (PyTorch's convention); it runs
        with gradients enabled, before the update. Parameters whose ``grad`` is ``None`` are
        skipped.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> w = tt.tensor([3.0], requires_grad=True)
            >>> opt = SGD([w], lr=0.25)
            >>> def closure():
            ...     opt.zero_grad()
            ...     loss = (w * w).sum()
            ...     loss.backward()
            ...     return loss
            >>> opt.step(closure).item(), w.item()     # loss at w=3; then 3 - 0.25 * 6
            (9.0, 1.5)
        """
        from tinytorch.autograd import no_grad

        self._check_bound("step")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _grad(self, p: Tensor) -> np.ndarray | None:
        """The gradient array of ``p`` (None to skip it), checked against p's shape."""
        if p.grad is None:
            return None
        g = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
        if g.shape != p.data.shape:
            raise ValueError(
                f"{self.name}.step: gradient of shape {g.shape} for a parameter of shape {p.shape}"
            )
        return g

    def _state(self, p: Tensor) -> dict[str, Any]:
        return self.state.setdefault(id(p), {})

    # ------------------------------------------------------------------ memory
    def state_bytes(self) -> int:
        """Bytes held in optimizer state (buffers, moments); scalars like step counts not counted.

        State is created on the first `step` (as in PyTorch): plain SGD holds 0 bytes, SGD with
        momentum 1x the parameters' bytes, Adam/AdamW 2x (3x with ``amsgrad``).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import Adam
            >>> w = tt.zeros(1000, requires_grad=True)        # 4000 bytes of float32
            >>> opt = Adam([w])
            >>> w.grad = tt.ones(1000)
            >>> opt.step()
            >>> opt.state_bytes()
            8000
        """
        return sum(
            v.nbytes for s in self.state.values() for v in s.values() if isinstance(v, np.ndarray)
        )

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: numbers, lists and numpy arrays (no objects).

        Parameters are referenced by their index in `parameters` (as in PyTorch):
        ``{"state": {index: {"step": 3, "exp_avg": array, ...}}, "param_groups": [{"lr": ...,
        "params": [0, 1, ...]}, ...]}``. Arrays are copies. Save it with ``np.savez`` plus JSON
        for the rest; nothing needs pickling.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
            >>> sd = opt.state_dict()
            >>> sd["param_groups"][0]["params"], sd["param_groups"][0]["lr"], sd["state"]
            ([0], 0.1, {})
        """
        self._check_bound("state_dict")
        index = {id(p): i for i, p in enumerate(self.parameters())}
        groups = []
        for g in self.param_groups:
            entry = {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items() if k != "params"
            }
            entry["params"] = [index[id(p)] for p in g["params"]]
            groups.append(entry)
        state = {}
        for p in self.parameters():
            s = self.state.get(id(p))
            if s:
                state[index[id(p)]] = {
                    k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()
                }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict` into this (bound) optimizer with the same groups and shapes.

        Everything is checked before anything is written: the number of groups, the number of
        parameters in each, and every state array's shape against its parameter's. State keys
        may be ints or strings (as after a JSON round trip); arrays are copied.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> w = tt.zeros(2, requires_grad=True)
            >>> opt = SGD([w], lr=0.1)
            >>> opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.5, "params": [0]}]})
            >>> opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]
            (0.5, 0)
        """
        self._check_bound("load_state_dict")
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise ValueError(
                f"{self.name}.load_state_dict: expected a dict with 'state' and 'param_groups'"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{self.name}.load_state_dict: the state dict has {len(saved_groups)} param "
                f"group(s), this optimizer has {len(self.param_groups)}"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{self.name}.load_state_dict: param group {i} has {len(saved['params'])} "
                    f"parameter(s) in the state dict and {len(group['params'])} here"
                )
        # saved index -> this optimizer's parameter
        by_index = {
            int(si): p
            for saved, group in zip(saved_groups, self.param_groups, strict=True)
            for si, p in zip(saved["params"], group["params"], strict=True)
        }
        new_state: dict[int, dict[str, Any]] = {}
        for key, entry in state_dict.get("state", {}).items():
            if int(key) not in by_index:
                raise ValueError(
                    f"{self.name}.load_state_dict: state for unknown parameter index {key}"
                )
            p = by_index[int(key)]
            restored = {}
            for name, value in entry.items():
                if isinstance(value, (np.ndarray, list)):
                    arr = np.array(value, dtype=p.data.dtype)  # a copy, in the parameter's dtype
                    if arr.shape != p.data.shape:
                        raise ValueError(
                            f"{self.name}.load_state_dict: state '{name}' of parameter {key} has "
                            f"shape {arr.shape}, the parameter has shape {p.shape}"
                        )
                    restored[name] = arr
                else:
                    restored[name] = value
            new_state[id(p)] = restored
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            options = {}
            for k, v in saved.items():
                if k == "params":
                    continue
                options[k] = tuple(v) if isinstance(group.get(k), tuple) else v
            merged = {**group, **options, "params": group["params"]}
            self._validate(merged)
            new_groups.append(merged)
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        if not self.param_groups:
            lines.append("    unbound: " + ", ".join(f"{k}: {v}" for k, v in self.defaults.items()))
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in g.items() if k != "params"]
        return "\n".join(lines) + "\n)"


def check_number(
    opt: str, name: str, value, low: float = 0.0, high: float = math.inf, high_open: bool = False
) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high`` (``< high`` if ``high_open``).

    Examples:
        >>> check_number("SGD", "momentum", 0.9)
        >>> check_number("SGD", "momentum", -1)
        Traceback (most recent call last):
        ...
        ValueError: SGD: invalid momentum=-1 (must be >= 0.0)
    """
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value >= low
        and (value < high if high_open else value <= high)
    )
    if not ok:
        bound = f">= {low}" if high == math.inf else f"in [{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{opt}: invalid {name}={value!r} (must be {bound})")


__all__ = ["Optimizer", "check_number"]
