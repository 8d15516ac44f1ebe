"""Docstrings across every package: the examples run, and every public symbol is documented.

The API pages are generated from these docstrings, so this is the docs' own test. It walks
every module under packages/*/src/tinytorch (private `_` modules aside), so a new package or
module is covered without being listed.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
from pathlib import Path

import pytest
from tinytorch.tensor.dispatch import Op

ROOT = Path(__file__).resolve().parents[1]


def _module_names() -> list[str]:
    names = set()
    for src in ROOT.glob("packages/*/src/tinytorch"):
        for path in src.rglob("*.py"):
            parts = path.relative_to(src.parent).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not any(p.startswith("_") for p in parts):
                names.add(".".join(parts))
    return sorted(names)


MODULES = _module_names()

# Packages whose public classes must each carry an `Examples:` doctest (ops aside: they are
# used through their lowercase functions, which show the example).
EXAMPLES_REQUIRED = ("tinytorch.nn", "tinytorch.optim", "tinytorch.data", "tinytorch.train",
                     "tinytorch.gpt")

# Internal plumbing that is public only so that other packages can reuse it.
NO_EXAMPLE_NEEDED = {"StateDictError", "IncompatibleKeys", "RemovableHandle", "check_reduction",
                     "check_indices"}


def _public_symbols(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        # Only what this module defines: re-exports are checked where they live.
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__:
            yield name, obj


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} doctest examples failed"


@pytest.mark.parametrize("name", MODULES)
def test_public_symbols_are_documented(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    need_example = name.startswith(EXAMPLES_REQUIRED)
    missing = []
    for sym, obj in _public_symbols(module):
        doc = inspect.getdoc(obj) or ""
        if not doc:
            missing.append(f"{sym} (no docstring)")
        elif (need_example and inspect.isclass(obj) and not issubclass(obj, Op)
              and sym not in NO_EXAMPLE_NEEDED and ("Examples:" not in doc or ">>>" not in doc)):
            missing.append(f"{sym} (no Examples: doctest)")
        if inspect.isclass(obj):  # public methods and properties defined on the class itself
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    member = getattr(obj, attr)  # an override inherits its base method's docstring
                if (inspect.isfunction(member) or inspect.ismethod(member)
                        or isinstance(member, property)) and not inspect.getdoc(member):
                    missing.append(f"{sym}.{attr} (no docstring)")
    assert not missing, f"{name}: " + ", ".join(missing)
