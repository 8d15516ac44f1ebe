"""The repository tools: dev.py's package discovery and TOML fallback, check_release.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_tool(name: str):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        path = ROOT / "tools" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"_tool_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "tools"))


dev = load_tool("dev")


def write_pkg(root: Path, name: str, deps: list[str], version: str = "0.1.0") -> None:
    d = root / name
    d.mkdir(parents=True)
    dep_lines = "".join(f'    "{x}",\n' for x in deps)
    (d / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{version}"  # comment\n'
        f"dependencies = [\n{dep_lines}]\n"
    )
    (d / "CHANGELOG.md").write_text(f"## {version}\n")


def test_real_workspace_order_starts_with_tensor():
    order = [p.name for p in dev.discover_packages()]
    assert order[0] == "tinytorch-tensor"
    assert set(order) == {p.name for p in (ROOT / "packages").iterdir()
                          if (p / "pyproject.toml").exists()}
    for i, pkg in enumerate(dev.discover_packages()):
        assert all(dep in order[:i] for dep in pkg.deps), (pkg.name, pkg.deps)


def test_install_order_follows_dependencies(tmp_path, monkeypatch):
    write_pkg(tmp_path, "tinytorch-zeta", ["tinytorch-nn>=0.1,<0.2"])
    write_pkg(tmp_path, "tinytorch-nn", ["tinytorch-autograd>=0.1,<0.2", "numpy>=1.24"])
    write_pkg(tmp_path, "tinytorch-autograd", ["tinytorch-tensor>=0.1,<0.2"])
    write_pkg(tmp_path, "tinytorch-tensor", ["numpy>=1.24"])
    write_pkg(tmp_path, "tito-cli", ["rich>=13"])
    monkeypatch.setattr(dev, "PACKAGES_DIR", tmp_path)
    order = [p.name for p in dev.discover_packages()]
    assert order == ["tinytorch-tensor", "tinytorch-autograd", "tinytorch-nn", "tito-cli",
                     "tinytorch-zeta"]


def test_dependency_cycle_is_reported(tmp_path, monkeypatch):
    write_pkg(tmp_path, "tinytorch-a", ["tinytorch-b"])
    write_pkg(tmp_path, "tinytorch-b", ["tinytorch-a"])
    monkeypatch.setattr(dev, "PACKAGES_DIR", tmp_path)
    with pytest.raises(SystemExit):
        dev.discover_packages()


def test_native_package_digest_tracks_csrc(tmp_path):
    write_pkg(tmp_path, "tinytorch-tensor", [])
    pkg_dir = tmp_path / "tinytorch-tensor"
    (pkg_dir / "CMakeLists.txt").write_text("project(x)\n")
    (pkg_dir / "csrc").mkdir()
    (pkg_dir / "csrc" / "k.cpp").write_text("int f() { return 1; }\n")
    (pkg_dir / "src" / "tinytorch" / "tensor").mkdir(parents=True)
    (pkg_dir / "src" / "tinytorch" / "tensor" / "a.py").write_text("x = 1\n")
    pkg = dev.Package(pkg_dir)
    first = pkg.digest()
    assert pkg.digest() == first
    (pkg_dir / "src" / "tinytorch" / "tensor" / "a.py").write_text("x = 2\n")
    assert pkg.digest() == first  # Python edits need no reinstall
    (pkg_dir / "csrc" / "k.cpp").write_text("int f() { return 2; }\n")
    second = pkg.digest()
    assert second != first  # C++ edits rebuild
    (pkg_dir / "src" / "tinytorch" / "tensor" / "b.py").write_text("")
    assert pkg.digest() != second  # a new module is mapped by a reinstall


@pytest.mark.parametrize("path", sorted((ROOT).glob("pyproject.toml"))
                         + sorted((ROOT / "packages").glob("*/pyproject.toml")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_mini_toml_fallback_agrees_with_tomllib(path):
    tomllib = pytest.importorskip("tomllib")
    text = path.read_text()
    full, mini = tomllib.loads(text), dev._mini_toml(text)
    assert mini.get("project", {}).get("name") == full.get("project", {}).get("name")
    assert mini.get("project", {}).get("dependencies") == full.get("project", {}).get(
        "dependencies")
    assert mini.get("dependency-groups") == full.get("dependency-groups")


def test_check_release(tmp_path, monkeypatch):
    check_release = load_tool("check_release")
    write_pkg(tmp_path, "tinytorch-tensor", [], version="0.2.0")
    write_pkg(tmp_path, "tinytorch-autograd", ["tinytorch-tensor>=0.1,<0.2"])
    monkeypatch.setattr(check_release, "PACKAGES_DIR", tmp_path)
    problems = check_release.check("tinytorch-tensor", "0.2.0")
    assert len(problems) == 1 and "tinytorch-autograd" in problems[0]
    assert check_release.check("tinytorch-autograd", "0.1.0") == []
    assert any("version" in p for p in check_release.check("tinytorch-autograd", "0.1.1"))
    assert check_release.main(["not a tag"]) == 1
