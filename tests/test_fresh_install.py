"""Installs as a user does them, into fresh virtual environments (slow: builds C++).

1. `pip install packages/tinytorch-tensor` (with build isolation, from a pristine copy of the
   package, as from a fresh clone) into a fresh venv, then import it and multiply matrices;
   `pip install packages/tito-cli` into the same venv, then `tito --version` and a clean
   `tito system doctor`.
2. The local wheelhouse (DESIGN.md §8): `tools/build_wheels.py --download-deps` into a temp
   dir, then `pip install --no-index --find-links <dir> tinytorch-tensor` in another fresh
   venv pulls exactly tinytorch-tensor and numpy, and works.

These need PyPI for the build requirements (scikit-build-core, pybind11, hatchling) and take
a minute or two each. They are marked `slow`; `-m "not slow"` skips them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

CHECK_TENSOR = r"""
import json, pathlib, sys
import numpy as np
import tinytorch, tinytorch.tensor as tt
from tinytorch.tensor import _C

assert getattr(tinytorch, "__file__", None) is None, "tinytorch must be a namespace package"
g = tt.manual_seed(0)
a, b = tt.randn(64, 96, generator=g), tt.randn(96, 32, generator=g)
out = (a @ b).numpy()
err = float(np.max(np.abs(out - a.numpy().astype(np.float64) @ b.numpy())))
assert err < 1e-3, err
print(json.dumps({"file": tt.__file__, "isa": _C.isa(), "err": err,
                  "backend": tt.get_backend(), "paths": list(tinytorch.__path__)}))
"""


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "TINYTORCH_BACKEND",
                        "TINYTORCH_ISA")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: list, timeout: int = 900, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, env=clean_env(), check=False, **kwargs)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
        f"{proc.stderr[-4000:]}"
    )
    return proc


def make_venv(where: Path) -> Path:
    run([sys.executable, "-m", "venv", where])
    bindir = where / ("Scripts" if os.name == "nt" else "bin")
    return bindir / ("python.exe" if os.name == "nt" else "python")


def installed(python: Path) -> dict[str, str]:
    out = run([python, "-c",
               "import json, importlib.metadata as m; print(json.dumps({d.metadata['Name']"
               ".lower(): d.version for d in m.distributions()}))"]).stdout
    return json.loads(out)


def pristine_copy(pkg: str, dest: Path) -> Path:
    """The package as a fresh clone has it: no build/ tree, no caches."""
    target = dest / pkg
    shutil.copytree(ROOT / "packages" / pkg, target,
                    ignore=shutil.ignore_patterns("build", "__pycache__", "*.egg-info",
                                                  ".pytest_cache", "*.so", "*.pyd"))
    return target


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory) -> Path:
    """One fresh venv with tinytorch-tensor and tito-cli installed from source, no editable."""
    base = tmp_path_factory.mktemp("fresh-install")
    python = make_venv(base / "venv")
    tensor = pristine_copy("tinytorch-tensor", base)
    run([python, "-m", "pip", "install", tensor])
    run([python, "-m", "pip", "install", ROOT / "packages" / "tito-cli"])
    return python


def test_pip_install_tensor_builds_and_imports(user_venv):
    info = json.loads(run([user_venv, "-c", CHECK_TENSOR], cwd=user_venv.parent).stdout)
    venv_dir = user_venv.parent.parent
    assert Path(info["file"]).resolve().is_relative_to(venv_dir.resolve()), info
    assert info["backend"] == "native"
    assert info["isa"] in ("avx512", "avx2", "scalar", "neon")
    for path in info["paths"]:
        assert not (Path(path) / "__init__.py").exists()
    dists = installed(user_venv)
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    meta = tomllib.loads((ROOT / "packages/tinytorch-tensor/pyproject.toml").read_text())
    assert dists["tinytorch-tensor"] == meta["project"]["version"]
    assert "tinytorch" not in dists  # never PyPI's unrelated project


def test_pip_install_tito_cli_runs(user_venv):
    bindir = user_venv.parent
    tito = bindir / ("tito.exe" if os.name == "nt" else "tito")
    proc = run([tito, "--version"])
    version = installed(user_venv)["tito-cli"]
    assert proc.stdout.strip() == f"tito-cli {version}"
    doctor = subprocess.run([str(tito), "system", "doctor", "--json"], capture_output=True,
                            text=True, timeout=300, env=clean_env(), check=False)
    data = json.loads(doctor.stdout)
    failed = [c for c in data["checks"] if c["status"] == "fail"]
    assert not failed and doctor.returncode == 0, failed
    info = json.loads(run([tito, "system", "info", "--json"]).stdout)
    assert info["packages"]["tinytorch-tensor"]["editable"] is None
    assert info["extension"]["loaded"] is True


def test_local_wheelhouse_installs_one_layer_offline(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheelhouse")
    dist = base / "dist"
    run([sys.executable, ROOT / "tools" / "build_wheels.py", "--out", dist, "--download-deps"],
        cwd=ROOT)
    wheels = {w.name.split("-")[0].lower() for w in dist.glob("*.whl")}
    assert {"tinytorch_tensor", "tito_cli", "numpy", "rich"} <= wheels
    for wheel in dist.glob("tinytorch_*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            assert "tinytorch/__init__.py" not in zf.namelist(), wheel.name

    python = make_venv(base / "venv")
    before = set(installed(python))
    run([python, "-m", "pip", "install", "--no-index", "--find-links", dist, "tinytorch-tensor"])
    added = set(installed(python)) - before
    assert added == {"tinytorch-tensor", "numpy"}, added
    info = json.loads(run([python, "-c", CHECK_TENSOR], cwd=base).stdout)
    assert info["backend"] == "native"

    run([python, "-m", "pip", "install", "--no-index", "--find-links", dist, "tito-cli"])
    tito = python.parent / ("tito.exe" if os.name == "nt" else "tito")
    assert run([tito, "--version"]).stdout.startswith("tito-cli ")


CHECK_NN = """
import tinytorch.nn as nn, tinytorch.tensor as tt
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
loss = nn.CrossEntropyLoss()(model(tt.randn(5, 4)), tt.tensor([0, 1, 0, 1, 1]))
loss.backward()
print(all(p.grad is not None for p in model.parameters()))
"""


def test_local_wheelhouse_installs_nn_with_exactly_its_layers_below(tmp_path_factory):
    """`pip install tinytorch-nn` from a wheelhouse pulls tensor and autograd, nothing else."""
    base = tmp_path_factory.mktemp("wheelhouse_nn")
    dist = base / "dist"
    run([sys.executable, ROOT / "tools" / "build_wheels.py", "--out", dist, "--download-deps",
         "tinytorch-tensor", "tinytorch-autograd", "tinytorch-nn"], cwd=ROOT)
    python = make_venv(base / "venv")
    before = set(installed(python))
    run([python, "-m", "pip", "install", "--no-index", "--find-links", dist, "tinytorch-nn"])
    added = set(installed(python)) - before
    assert added == {"tinytorch-tensor", "tinytorch-autograd", "tinytorch-nn", "numpy"}, added
    assert run([python, "-c", CHECK_NN], cwd=base).stdout.strip() == "True"
