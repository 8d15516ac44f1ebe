"""The documentation site builds with `mkdocs build --strict`, and covers every package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


def test_mkdocs_paths_list_every_package_src():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for pkg in PACKAGES:
        assert f"packages/{pkg.name}/src" in config, (
            f"add packages/{pkg.name}/src to the mkdocstrings `paths:` in mkdocs.yml"
        )


def test_every_package_has_an_api_page():
    directives = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        directives.update(re.findall(r"^:::\s*([\w.]+)", page.read_text(), flags=re.M))
    for pkg in PACKAGES:
        name = "tito" if pkg.name == "tito-cli" else "tinytorch." + pkg.name.split("-", 1)[1]
        assert any(d == name or d.startswith(name + ".") for d in directives), (
            f"no docs/api page renders `::: {name}`"
        )


def test_nav_pages_exist():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config.split("\nnav:", 1)[1].split("\n\n", 1)[0]
    pages = re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, flags=re.M)
    assert pages
    for page in pages:
        assert (ROOT / "docs" / page).is_file(), f"nav entry {page} has no file"


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install --group test)")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = site / "index.html"
    assert index.is_file()
    api = (site / "api" / "tensor" / "index.html").read_text(encoding="utf-8")
    # Generated from docstrings, not hand-written: the class and a few functions are there.
    for symbol in ("Tensor", "matmul", "shares_memory", "use_backend"):
        assert symbol in api, f"{symbol} missing from the tensor API page"
    kernels = (site / "api" / "kernels" / "index.html").read_text(encoding="utf-8")
    assert "isa" in kernels and "gemm" in kernels
    assert (site / "tensor" / "memory" / "index.html").is_file()
    shutil.rmtree(site)
