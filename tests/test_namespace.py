"""The `tinytorch` namespace stays a PEP 420 namespace, and every package keeps its layout.

One stray `src/tinytorch/__init__.py` breaks the namespace for every other TinyTorch package
(in editable installs first), so this is checked for every package, and for the installed
`tinytorch` too.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


def load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10: tomli comes with the test group
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


def import_name(dist: str) -> str:
    """`tinytorch-nn` -> `tinytorch.nn`; `tito-cli` -> `tito`."""
    if dist == "tito-cli":
        return "tito"
    assert dist.startswith("tinytorch-"), f"unexpected distribution name {dist!r}"
    return "tinytorch." + dist[len("tinytorch-") :].replace("-", "_")


def test_there_are_packages():
    names = [p.name for p in PACKAGES]
    assert "tinytorch-tensor" in names and "tito-cli" in names


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.name)
def test_no_tinytorch_init_in_any_package(pkg):
    # tinytorch.core is shared too: every package adds its seed modules to it.
    offenders = [p for pattern in ("tinytorch/__init__.py", "tinytorch/core/__init__.py")
                 for p in pkg.rglob(pattern) if "build" not in p.parts]
    assert not offenders, (
        f"{offenders} makes a shared namespace (`tinytorch` or `tinytorch.core`) a regular "
        "package and breaks it for every other TinyTorch distribution: delete it"
    )
    assert not (pkg / "src" / "tinytorch.py").exists()


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.name)
def test_package_layout(pkg):
    meta = load_toml(pkg / "pyproject.toml")["project"]
    dist = meta["name"]
    assert dist == pkg.name, f"directory {pkg.name} holds distribution {dist}"
    assert re.fullmatch(r"\d+\.\d+\.\d+([a-z]+\d+)?", meta["version"]), "static version"
    for needed in ("README.md", "CHANGELOG.md"):
        assert (pkg / needed).is_file(), f"{pkg.name} has no {needed}"
    assert (pkg / "tests").is_dir(), f"{pkg.name} has no tests/"
    module_dir = pkg / "src" / Path(*import_name(dist).split("."))
    assert (module_dir / "__init__.py").is_file(), f"expected {module_dir}/__init__.py"
    if dist != "tito-cli":
        # Every TinyTorch layer is reachable only through the namespace.
        assert sorted(p.name for p in (pkg / "src").iterdir()
                      if not p.name.startswith(".") and p.name != "__pycache__") == ["tinytorch"]
    # Never depend on PyPI's unrelated `tinytorch` / `tito` projects.
    for req in meta.get("dependencies", []):
        name = re.match(r"[A-Za-z0-9._-]+", req).group().lower()
        assert name not in ("tinytorch", "tito"), f"{dist} depends on {name!r}"


def test_installed_tinytorch_is_a_namespace_package():
    spec = importlib.util.find_spec("tinytorch")
    if spec is None:
        pytest.skip("no tinytorch package installed in this environment")
    assert spec.origin in (None, "namespace"), (
        f"`tinytorch` resolves to a regular module/package at {spec.origin}; something ships "
        "tinytorch/__init__.py (run `tito system doctor`)"
    )
    assert spec.submodule_search_locations is not None
    for location in spec.submodule_search_locations:
        assert not (Path(location) / "__init__.py").exists(), location


def test_every_installed_layer_imports_through_the_namespace():
    import tinytorch

    assert getattr(tinytorch, "__file__", None) is None
    for pkg in PACKAGES:
        dist = load_toml(pkg / "pyproject.toml")["project"]["name"]
        name = import_name(dist)
        if importlib.util.find_spec(name.split(".")[0]) is None:
            continue
        module = pytest.importorskip(name)
        assert Path(module.__file__).resolve().is_relative_to(pkg.resolve()) or \
            "site-packages" in module.__file__
