"""Containers: `Sequential` (a chain of layers), `ModuleList`, `ModuleDict`, and the `MLP` builder."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

from .module import Module


def _as_module(owner: str, where, m) -> Module:
    if not isinstance(m, Module):
        hint = (
            " (did you pass the class instead of an instance, e.g. ReLU instead of ReLU()?)"
            if isinstance(m, type) and issubclass(m, Module)
            else ""
        )
        raise TypeError(f"{owner}: item {where} must be a Module, got {type(m).__name__}{hint}")
    return m


class Sequential(Module):
    """Layers applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Takes modules as positional arguments, as one list (the seed's ``Sequential([...])``),
    or as an ``OrderedDict`` of names to modules. Supports indexing (a slice gives a new
    Sequential sharing the layers), ``len``, iteration and `append`.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.nn import Linear, ReLU
        >>> net = Sequential([Linear(4, 8), ReLU(), Linear(8, 2)])
        >>> net(tt.randn(3, 4)).shape
        (3, 2)
        >>> len(net), type(net[1]).__name__
        (3, 'ReLU')
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (OrderedDict, dict)):
            for name, m in layers[0].items():
                self.add_module(str(name), _as_module("Sequential", repr(name), m))
            return
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, m in enumerate(layers):
            self.add_module(str(i), _as_module("Sequential", i, m))

    def _index(self, idx: int) -> int:
        n = len(self._modules)
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise TypeError(f"Sequential: indices must be ints or slices, got {type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"Sequential: index {idx} is out of range for {n} layers")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[self._index(idx)]
        self._modules[key] = _as_module("Sequential", idx, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        doomed = keys[idx] if isinstance(idx, slice) else [keys[self._index(idx)]]
        for k in doomed:
            del self._modules[k]
        if all(k.isdigit() for k in keys):  # keep the numbering 0..n-1
            items = list(self._modules.values())
            self._modules.clear()
            for i, m in enumerate(items):
                self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    @property
    def layers(self) -> list[Module]:
        """The layers as a list (the seed's attribute)."""
        return list(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns self."""
        self.add_module(
            str(len(self._modules)), _as_module("Sequential", len(self._modules), module)
        )
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def forward(self, x):
        # BEGIN SOLUTION 05 sequential
        for m in self._modules.values():
            x = m(x)
        return x
        # END SOLUTION


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain Python list would hide them).

    Examples:
        >>> from tinytorch.nn import Linear
        >>> blocks = ModuleList([Linear(4, 4) for _ in range(3)])
        >>> len(blocks), len(list(blocks.parameters()))
        (3, 6)
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx: int) -> int:
        n = len(self._modules)
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise TypeError(f"ModuleList: indices must be ints or slices, got {type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"ModuleList: index {idx} is out of range for {n} modules")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self._modules[str(self._index(idx))] = _as_module("ModuleList", idx, module)

    def __delitem__(self, idx) -> None:
        items = list(self._modules.values())
        del items[idx if isinstance(idx, slice) else self._index(idx)]
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self.add_module(
            str(len(self._modules)), _as_module("ModuleList", len(self._modules), module)
        )
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        items = list(self._modules.values())
        items.insert(index, _as_module("ModuleList", index, module))
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: iterate over it and call each module")


class ModuleDict(Module):
    """A dict of modules whose parameters are registered.

    Examples:
        >>> from tinytorch.nn import Linear
        >>> heads = ModuleDict({"cls": Linear(8, 10), "box": Linear(8, 4)})
        >>> sorted(heads.keys())
        ['box', 'cls']
    """

    def __init__(self, modules: dict | None = None):
        super().__init__()
        for name, m in (modules or {}).items():
            self[name] = m

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        module = _as_module("ModuleDict", repr(key), module)
        if key in self._modules:
            self._modules[key] = module
        else:
            self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        """The names."""
        return self._modules.keys()

    def values(self):
        """The modules."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs."""
        return self._modules.items()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "ModuleDict has no forward: look modules up by name and call them"
        )


def _activation(spec, where: str) -> Module | None:
    from . import activation as A

    if spec is None:
        return None
    if isinstance(spec, str):
        table = {
            "relu": A.ReLU,
            "leaky_relu": A.LeakyReLU,
            "sigmoid": A.Sigmoid,
            "tanh": A.Tanh,
            "gelu": A.GELU,
            "silu": A.SiLU,
            "identity": A.Identity,
            "softmax": lambda: A.Softmax(-1),
            "log_softmax": lambda: A.LogSoftmax(-1),
        }
        if spec.lower() not in table:
            raise ValueError(
                f"MLP: unknown {where} {spec!r}; use one of {', '.join(sorted(table))}"
            )
        return table[spec.lower()]()
    if isinstance(spec, Module):
        raise TypeError(
            f"MLP: {where} must be a Module class or factory (e.g. ReLU), not an instance, so that "
            "each layer gets its own"
        )
    if callable(spec):
        m = spec()
        if not isinstance(m, Module):
            raise TypeError(f"MLP: {where} factory returned {type(m).__name__}, not a Module")
        return m
    raise TypeError(f"MLP: {where} must be a Module class, a factory or a name, got {spec!r}")


class MLP(Sequential):
    """A multi-layer perceptron built from layer sizes: Linear, activation, ..., Linear.

    ``MLP([2, 64, 64, 3])`` is ``Sequential(Linear(2, 64), ReLU(), Linear(64, 64), ReLU(),
    Linear(64, 3))``. The activation is a Module class or factory (``ReLU``,
    ``lambda: LeakyReLU(0.2)``) or a name (``"tanh"``); ``output_activation`` (default none:
    the outputs are logits) is added after the last Linear; ``dropout > 0`` adds a Dropout
    after each hidden activation.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> net = MLP([2, 16, 16, 3], activation="tanh")
        >>> net(tt.randn(5, 2)).shape
        (5, 3)
        >>> net.num_parameters()
        371
    """

    def __init__(
        self,
        sizes,
        activation="relu",
        output_activation=None,
        bias: bool = True,
        dropout: float = 0.0,
    ):
        from .dropout import Dropout
        from .linear import Linear

        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError(
                f"MLP: sizes must be a list of at least 2 layer sizes (input, ..., output), got {sizes!r}"
            )
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
                raise ValueError(f"MLP: every size must be a positive int, got {sizes!r}")
        # BEGIN SOLUTION 05 mlp
        layers: list[Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Linear(a, b, bias=bias))
            if i < len(sizes) - 2:
                layers.append(_activation(activation, "activation"))
                if dropout:
                    layers.append(Dropout(dropout))
        out = _activation(output_activation, "output_activation")
        if out is not None:
            layers.append(out)
        # END SOLUTION
        super().__init__(*layers)
        self.sizes = sizes


__all__ = ["Sequential", "ModuleList", "ModuleDict", "MLP"]
