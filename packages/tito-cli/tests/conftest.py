"""Fixtures: a small fake course repository (a package with marked regions, course modules with
module.yaml files, tests, a lab and checkpoints), so that tito's course commands are tested
without the real course and without building anything."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FAKE_SRC = '''\
"""A fake layer."""


def add(a, b):
    """Add."""
    # BEGIN SOLUTION 02 add
    return a + b
    # END SOLUTION


class Relu:
    """ReLU."""

    def forward(self, x):
        """Forward."""
        # BEGIN SOLUTION 03 relu
        out = [v if v > 0 else 0 for v in x]
        return out
        # END SOLUTION


def loop_forever():
    """Spins (used by the grading tests)."""
    while True:
        pass
'''

FAKE_CPP = """\
#include "common.h"
float twice(float x) {
    // BEGIN SOLUTION 03 relu
    return 2 * x;
    // END SOLUTION
}
"""

TEST_02 = """\
import sys
from pathlib import Path

import os

if not os.environ.get("TITO_GRADE_RESULTS"):  # graded: the overlay has the student's code
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "packages" / "fake-layer"
                           / "src"))


def test_add_ints():
    from tinytorch.fake import add
    assert add(2, 3) == 5


def test_add_floats():
    from tinytorch.fake import add
    assert add(0.5, 0.25) == 0.75
"""

TEST_03 = """\
import sys
from pathlib import Path

import os

if not os.environ.get("TITO_GRADE_RESULTS"):  # graded: the overlay has the student's code
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "packages" / "fake-layer"
                           / "src"))


def test_relu():
    from tinytorch.fake import Relu
    assert Relu().forward([-1, 2]) == [0, 2]
"""

LAB = """\
# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Tensor lab
# Explore the layer.

# %%
import math

# %%
def double(x):
    ### BEGIN SOLUTION
    return 2 * x  # the secret sauce
    ### END SOLUTION

# %% tags=["tests"]
assert double(2) == 4
"""

CHECKPOINT_01 = '''\
"""Can I create and manipulate the building blocks of ML?

A fake checkpoint.
"""
REQUIRES = []


def test_numbers():
    assert 1 + 1 == 2
'''

CHECKPOINT_02 = '''\
"""Can I add nonlinearity - the key to neural network intelligence?"""
REQUIRES = ["tinytorch-does-not-exist"]


def test_never():
    assert True
'''


def module_yaml(mid, name, prereqs, checkpoints, tasks, reflection=True, lab=None):
    """A module.yaml text."""
    lines = [
        f'id: "{mid}"',
        f"name: {name}",
        f'title: "Module {name}"',
        "package: tito-cli",
        f"prerequisites: {prereqs}",
        f"checkpoints: {checkpoints}",
        "time_estimate_hours: 2",
        "difficulty: 2",
        "backend: numpy",
        "tests: tests",
    ]
    if lab:
        lines.append(f"lab: {lab}")
    if tasks:
        lines.append("tasks:")
        for tid, title in tasks:
            lines += [
                f"  - id: {tid}",
                f'    title: "{title}"',
                "    files: [packages/fake-layer/src/tinytorch/fake/__init__.py]",
            ]
    else:
        lines.append("tasks: []")
    if reflection:
        lines += ["reflection:", "  - id: q1", "    words: [5, 20]"]
    return "\n".join(lines) + "\n"


def make_repo(root: Path) -> Path:
    """Write the fake repository under ``root`` and return it."""
    pkg = root / "packages" / "fake-layer"
    (pkg / "src" / "tinytorch" / "fake").mkdir(parents=True)
    (pkg / "csrc").mkdir()
    (pkg / "tests").mkdir()
    (pkg / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "fake-layer"
        version = "0.1.0"
        [tool.hatch.build.targets.wheel]
        packages = ["src/tinytorch"]
        """)
    )
    (pkg / "src" / "tinytorch" / "fake" / "__init__.py").write_text(FAKE_SRC)
    (pkg / "csrc" / "twice.cpp").write_text(FAKE_CPP)
    (pkg / "tests" / "test_fake.py").write_text("def test_ref():\n    assert True\n")
    (pkg / "build").mkdir()
    (pkg / "build" / "junk.o").write_text("x")
    course = root / "course"
    for mid, name, pre, cps, tasks, test in (
        ("01", "setup", "[]", '["01"]', [], None),
        ("02", "tensor", '["01"]', '["01"]', [("add", "Add two numbers")], TEST_02),
        ("03", "activations", '["02"]', '["02"]', [("relu", "ReLU")], TEST_03),
    ):
        d = course / f"{mid}_{name}"
        d.mkdir(parents=True)
        lab = "tensor_lab.py" if mid == "02" else None
        (d / "module.yaml").write_text(module_yaml(mid, name, pre, cps, tasks, lab=lab))
        (d / "README.md").write_text(f"# {name}\n")
        if test:
            (d / "tests").mkdir()
            (d / "tests" / f"test_{name}.py").write_text(test)
        if lab:
            (d / lab).write_text(LAB)
    (course / "README.md").write_text("# course\n")
    ck = root / "tests" / "checkpoints"
    ck.mkdir(parents=True)
    (ck / "checkpoint_01_foundation.py").write_text(CHECKPOINT_01)
    (ck / "checkpoint_02_intelligence.py").write_text(CHECKPOINT_02)
    return root


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    """A fresh fake course repository."""
    return make_repo(tmp_path / "repo")


def _run_tito(*args: str, cwd: Path | None = None, env: dict | None = None, timeout=300):
    full = {k: v for k, v in os.environ.items() if k not in ("TITO_WORKSPACE", "TITO_SOURCE")}
    full.update({"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "tito", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def tito():
    """``tito(*args, cwd=None, env=None)``: run ``python -m tito ARGS`` as a subprocess."""
    return _run_tito
