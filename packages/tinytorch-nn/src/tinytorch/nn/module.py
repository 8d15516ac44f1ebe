"""`Module`: the base class of every layer and model.

A Module owns *parameters* (learnable `Parameter` tensors), *buffers* (state
that is saved but not learned, like BatchNorm's running mean) and *submodules*.
Assigning any of them to an attribute registers it, in assignment order:

    self.fc = Linear(4, 3)            # a submodule
    self.scale = Parameter(ones(3))   # a parameter
    self.register_buffer("count", zeros(1))

From that registry come the tree walks (`parameters`, `named_parameters`,
`children`, `modules`), checkpoints (`state_dict` / `load_state_dict`), modes
(`train` / `eval`), `zero_grad`, dtype conversion (`double`, `to`) and a nested
`repr` like PyTorch's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
from tinytorch.tensor import Tensor
from tinytorch.tensor.dtypes import as_dtype

from .parameter import Parameter


class StateDictError(RuntimeError, ValueError):
    """`Module.load_state_dict` found missing or unexpected keys or mismatched shapes.

    A RuntimeError (as PyTorch raises) that is also a ValueError. ``missing_keys``,
    ``unexpected_keys`` and ``shape_mismatches`` hold the details.
    """

    def __init__(self, message: str, missing_keys=(), unexpected_keys=(), shape_mismatches=()):
        super().__init__(message)
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)
        self.shape_mismatches = list(shape_mismatches)


class IncompatibleKeys(NamedTuple):
    """What `Module.load_state_dict` returns: the keys it did not find and the keys it did not use."""

    missing_keys: list
    unexpected_keys: list


class RemovableHandle:
    """Returned by `Module.register_forward_hook`; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        """Unregister the hook (no error if it is already gone)."""
        self._hooks.pop(self._key, None)


_hook_counter = [0]


def _check_name(kind: str, owner: Module, name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise ValueError(f'{kind} name must be non-empty and contain no ".", got {name!r}')


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of layers and models: subclass it, register parts in ``__init__``, write ``forward``.

    Calling a module (``model(x)``) runs its forward hooks and `forward`.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.nn import Module, Linear, ReLU
        >>> class TwoLayer(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = Linear(4, 8)
        ...         self.act = ReLU()
        ...         self.fc2 = Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc2(self.act(self.fc1(x)))
        >>> net = TwoLayer()
        >>> net(tt.randn(5, 4)).shape
        (5, 2)
        >>> [name for name, _ in net.named_parameters()]
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
        >>> net.num_parameters()
        58
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------- registration
    def _require_init(self, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() has run: call super().__init__() "
                f"first in {type(self).__name__}.__init__"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._require_init(name)
            self._remove_from(name, self.__dict__, self._buffers, self._modules)
            self._non_persistent_buffers.discard(name)
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__} (a Parameter or None is expected; wrap it: Parameter(x))"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._require_init(name)
            self._remove_from(name, self.__dict__, self._parameters, self._buffers)
            self._non_persistent_buffers.discard(name)
            self._modules[name] = value
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} of "
                    f"{type(self).__name__} (a Module or None is expected)"
                )
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer {name!r} of "
                    f"{type(self).__name__} (a Tensor or None is expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name: str, *dicts) -> None:
        for d in dicts:
            d.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a `Parameter`, or None for an absent one such as a disabled bias) as ``name``.

        Example: ``self.register_parameter("bias", None)`` when a layer has no bias.
        """
        self._require_init(name)
        _check_name("parameter", self, name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}"
            )
        if name in self.__dict__ or name in self._buffers or name in self._modules:
            raise KeyError(
                f"register_parameter: attribute {name!r} already exists on {type(self).__name__}"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register ``tensor`` as a buffer: module state that is not learned (no gradient).

        Persistent buffers are part of `state_dict`; all buffers follow `to` / `double`.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> m = Module()
            >>> m.register_buffer("running_mean", tt.zeros(3))
            >>> list(m.state_dict())
            ['running_mean']
        """
        self._require_init(name)
        _check_name("buffer", self, name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}"
            )
        if name in self.__dict__ or name in self._parameters or name in self._modules:
            raise KeyError(
                f"register_buffer: attribute {name!r} already exists on {type(self).__name__}"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name`` (what attribute assignment does, for computed names)."""
        self._require_init(name)
        _check_name("module", self, name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module: {name!r} must be a Module or None, got {type(module).__name__}"
            )
        if name in self.__dict__ or name in self._parameters or name in self._buffers:
            raise KeyError(
                f"add_module: attribute {name!r} already exists on {type(self).__name__}"
            )
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        """The computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward; a non-None return replaces the output.

        Profilers and activation recorders use this. Returns a handle with ``remove()``.
        """
        _hook_counter[0] += 1
        self._forward_hooks[_hook_counter[0]] = hook
        return RemovableHandle(self._forward_hooks, _hook_counter[0])

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before every forward; a non-None return replaces the inputs."""
        _hook_counter[0] += 1
        self._forward_pre_hooks[_hook_counter[0]] = hook
        return RemovableHandle(self._forward_pre_hooks, _hook_counter[0])

    # -------------------------------------------------------------- tree walks
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their names (each module once)."""
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, m in self.named_children():
            yield m

    def named_modules(
        self, prefix: str = "", _memo: set | None = None
    ) -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, with dotted names ('' for this one)."""
        memo = set() if _memo is None else _memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        """This module and every module below it."""
        for _, m in self.named_modules():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool):
        seen: set[int] = set()
        walk = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in walk:
            for name, t in getattr(m, registry).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))  # shared (tied) tensors are listed once
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name (``'0.weight'``), each shared one once."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (what an optimizer updates)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted name."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalar parameters (only those with ``requires_grad`` if ``trainable_only``)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (True) or evaluation mode (False) on this module and all below; returns self.

        Dropout and BatchNorm behave differently in the two modes.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (False freezes the module); returns self."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None, or to zeros with ``set_to_none=False``)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module; returns self.

        Example: re-initialise every Linear layer::

            def init_weights(m):
                if isinstance(m, Linear):
                    init.xavier_uniform_(m.weight)
            model.apply(init_weights)
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------- dtype
    def to(self, dtype) -> Module:
        """Convert every floating-point parameter and buffer to ``dtype`` in place; returns self.

        The Parameter objects stay the same (their ``.data`` is replaced), so references
        held elsewhere (an optimizer's) stay valid. Integer buffers are left alone.
        """
        dt = as_dtype(dtype, "Module.to")
        if dt.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes are allowed, got {dt}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dt:
                t.data = t.data.astype(dt)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.data.astype(dt))
        return self

    def double(self) -> Module:
        """Convert floating-point parameters and buffers to float64 (for `gradcheck`); returns self."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Convert floating-point parameters and buffers to float32; returns self."""
        return self.to(np.float32)

    # --------------------------------------------------------------- state dict
    def _state_entries(self, prefix: str = "") -> OrderedDict:
        """Dotted name -> (owning module's path, owning module, local name, kind, tensor)."""
        out: OrderedDict = OrderedDict()
        for path, m in self.named_modules(prefix.rstrip(".")):
            head = f"{path}." if path else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[head + name] = (path, m, name, "parameter", p)
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent_buffers:
                    out[head + name] = (path, m, name, "buffer", b)
        return out

    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name, in registration order.

        The values share memory with the module (detached tensors, or the Parameters
        themselves with ``keep_vars=True``): copy them to keep a snapshot.

        Examples:
            >>> from tinytorch.nn import Linear
            >>> {k: v.shape for k, v in Linear(4, 3).state_dict().items()}
            {'weight': (3, 4), 'bias': (3,)}
        """
        out: OrderedDict = OrderedDict()
        for key, (_, _, _, _, t) in self._state_entries(prefix).items():
            out[key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (name -> Tensor or numpy array) into this module, in place.

        Everything is checked before anything is written. A shape mismatch is always an
        error; with ``strict=True`` (the default) so are missing and unexpected keys. The
        error (`StateDictError`) names the layer, the parameter and both shapes, and lists
        the missing and unexpected keys. Values are cast to each parameter's dtype.

        Returns the missing and unexpected keys (empty lists when strict).

        Examples:
            >>> from tinytorch.nn import Linear
            >>> a, b = Linear(4, 3), Linear(4, 3)
            >>> b.load_state_dict(a.state_dict())
            IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(
                f"load_state_dict: expected a mapping of names to tensors, got {type(state_dict).__name__}"
            )
        entries = self._state_entries()
        missing = [k for k in entries if k not in state_dict]
        unexpected = [k for k in state_dict if k not in entries]
        problems: list[str] = []
        mismatches = []
        arrays: dict[str, np.ndarray] = {}
        for key, (path, m, name, kind, t) in entries.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            if tuple(arr.shape) != tuple(t.shape):
                layer = (
                    f"layer {path!r} ({m._short_repr()})" if path else f"layer {m._short_repr()}"
                )
                problems.append(
                    f"  {layer}: {kind} {name!r} ({key}) has shape {tuple(t.shape)} in the model "
                    f"but {tuple(arr.shape)} in the state_dict"
                )
                mismatches.append((key, tuple(t.shape), tuple(arr.shape)))
            else:
                arrays[key] = arr
        if strict and missing:
            problems.append("  missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("  unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise StateDictError(
                f"load_state_dict: cannot load into {type(self).__name__} "
                f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n"
                + "\n".join(problems),
                missing,
                unexpected,
                mismatches,
            )
        for key, arr in arrays.items():
            t = entries[key][4]
            t.data[...] = arr.astype(t.data.dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The layer's settings shown inside its repr, e.g. ``in_features=4, out_features=3, bias=True``."""
        return ""

    def _short_repr(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, m in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(m), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


__all__ = ["Module", "StateDictError", "IncompatibleKeys", "RemovableHandle"]
