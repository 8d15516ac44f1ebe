"""Every public class and function has a docstring with an example, and the examples run."""

import doctest
import importlib
import inspect
from pathlib import Path

import pytest

MODULES = [
    "tinytorch.optim",
    "tinytorch.optim.optimizer",
    "tinytorch.optim.sgd",
    "tinytorch.optim.adam",
    "tinytorch.optim.clip",
    "tinytorch.optim.lr_scheduler",
    "tinytorch.core.optimizers",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_public_symbols_have_docstrings_with_examples(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    missing = []
    for sym in getattr(module, "__all__", []):
        obj = getattr(module, sym)
        if getattr(obj, "__module__", name) != name or not (
            inspect.isclass(obj) or inspect.isfunction(obj)
        ):
            continue
        doc = inspect.getdoc(obj) or ""
        if "Examples:" not in doc or ">>>" not in doc:
            missing.append(sym)
        if inspect.isclass(obj):  # public methods defined on the class itself
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (
                    inspect.isfunction(member) or isinstance(member, property)
                ):
                    continue
                if not inspect.getdoc(member):
                    missing.append(f"{sym}.{attr} (no docstring)")
    assert not missing, f"{name}: " + ", ".join(missing)


def test_seed_module_is_aliases_only():
    import tinytorch.core.optimizers as seed
    import tinytorch.optim as optim

    for name in optim.__all__:
        assert getattr(seed, name) is getattr(optim, name), name


def test_no_namespace_breaking_init_files():
    src = Path(importlib.import_module("tinytorch.optim").__file__).parents[1]  # .../src/tinytorch
    assert src.name == "tinytorch" and not (src / "__init__.py").exists()
    assert not (src / "core" / "__init__.py").exists()
