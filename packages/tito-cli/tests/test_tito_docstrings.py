"""Every public module, class, function and method of tito has a docstring (the API page is
generated from them)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import tito

MODULES = sorted(
    ["tito"]
    + [
        m.name
        for m in pkgutil.walk_packages(tito.__path__, "tito.")
        if not m.name.rsplit(".", 1)[-1].startswith("_")
    ]
)


@pytest.mark.parametrize("name", MODULES)
def test_public_symbols_have_docstrings(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    missing = []
    for sym, obj in vars(module).items():
        if sym.startswith("_") or getattr(obj, "__module__", None) != name:
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            missing.append(sym)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                fn = member.fget if isinstance(member, property) else member
                if inspect.isfunction(fn) and not inspect.getdoc(fn):
                    missing.append(f"{sym}.{attr}")
    assert not missing, f"{name}: no docstring on {', '.join(missing)}"
