"""Every public class and function has a docstring with an example; the examples run; the
seed module is an adapter over the one implementation; no namespace-breaking __init__.py."""

import doctest
import importlib
import inspect
from pathlib import Path

import pytest

MODULES = [
    "tinytorch.data",
    "tinytorch.data.dataset",
    "tinytorch.data.sampler",
    "tinytorch.data.loader",
    "tinytorch.data.transforms",
    "tinytorch.data.download",
    "tinytorch.data.cifar",
    "tinytorch.data.mnist",
    "tinytorch.data.text",
    "tinytorch.data.synthetic",
    "tinytorch.core.dataloader",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


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
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (
                    inspect.isfunction(member)
                    or isinstance(member, (property, staticmethod, classmethod))
                ):
                    continue
                if not inspect.getdoc(
                    getattr(obj, attr) if not isinstance(member, property) else member
                ):
                    missing.append(f"{sym}.{attr} (no docstring)")
    assert not missing, f"{name}: " + ", ".join(missing)


def test_seed_module_reuses_the_implementation():
    import tinytorch.core.dataloader as seed
    import tinytorch.data as data

    assert seed.DataLoader is data.DataLoader


def test_no_namespace_breaking_init_files():
    src = Path(importlib.import_module("tinytorch.data").__file__).parents[1]
    assert src.name == "tinytorch" and not (src / "__init__.py").exists()
    assert not (src / "core" / "__init__.py").exists()


def test_depends_on_tensor_only():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    names = sorted(d.split(">")[0].split("<")[0].split("=")[0].strip() for d in deps)
    assert names == ["numpy", "tinytorch-tensor"]
