"""Every public class and function of these modules has a docstring with an example, and the examples run."""

import doctest
import importlib
import inspect
from pathlib import Path

import pytest

MODULES = [
    "tinytorch.nn",
    "tinytorch.nn.module",
    "tinytorch.nn.parameter",
    "tinytorch.nn.init",
    "tinytorch.nn.activation",
    "tinytorch.nn.linear",
    "tinytorch.nn.container",
    "tinytorch.nn.flatten",
    "tinytorch.nn.normalization",
    "tinytorch.nn.dropout",
    "tinytorch.nn.embedding",
    "tinytorch.nn.loss",
    "tinytorch.nn.functional",
    "tinytorch.nn.functional.activation",
    "tinytorch.nn.functional.loss",
    "tinytorch.nn.functional.normalization",
    "tinytorch.nn.functional.linear",
    "tinytorch.nn.functional.dropout",
    "tinytorch.nn.functional.embedding",
]

# Internal plumbing that is public only so that other packages can reuse it.
NO_EXAMPLE_NEEDED = {
    "StateDictError",
    "IncompatibleKeys",
    "RemovableHandle",
    "check_reduction",
    "check_indices",
}


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize(
    "name", [m for m in MODULES if m != "tinytorch.nn" and m != "tinytorch.nn.functional"]
)
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
        if not doc:
            missing.append(f"{sym} (no docstring)")
        elif (
            "Example" not in doc
            and ">>>" not in doc
            and sym not in NO_EXAMPLE_NEEDED
            and not sym.endswith("Op")
        ):
            missing.append(f"{sym} (no example)")
    assert not missing, f"{name}: " + ", ".join(missing)


def test_no_namespace_breaking_init_file():
    src = Path(importlib.import_module("tinytorch.nn").__file__).parents[1]  # .../src/tinytorch
    assert src.name == "tinytorch" and not (src / "__init__.py").exists()
