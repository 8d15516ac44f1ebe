"""Release checks of the real course (fast: no workspace is installed here).

Discovers the modules from ``course/*/module.yaml``, so that it covers whatever modules exist:
every module.yaml fits the schema, every solution marker in the packages is valid and names a
known task, every task has a region, a generated workspace leaks no solution, the reference
passes every module's tests and every available checkpoint, the labs become valid
nbgrader notebooks with no solution in them, every module with tasks has autograded check
cells in its lab, and every lab runs top to bottom (its check cells' asserts included) with the
reference packages.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tito.checkpoints import discover_checkpoints, installed_distributions
from tito.course import load_course
from tito.regions import comment_prefix, parse
from tito.runner import clean_env, run_pytest
from tito.workspace import UNSCANNED_PACKAGES, build_tree, check_tasks_have_regions

ROOT = Path(__file__).resolve().parent.parent
MODULE_DIRS = sorted(p.parent for p in ROOT.glob("course/*/module.yaml"))
COURSE = load_course(ROOT / "course") if MODULE_DIRS else None
WITH_TASKS = [m for m in (COURSE.modules.values() if COURSE else []) if m.tasks]
LABS = [m for m in (COURSE.modules.values() if COURSE else []) if m.lab]
QUESTIONS = {
    "00": "Can I configure my TinyTorch development environment?",
    "01": "Can I create and manipulate the building blocks of ML?",
    "02": "Can I add nonlinearity - the key to neural network intelligence?",
    "03": "Can I build the fundamental building blocks of neural networks?",
    "04": "Can I build complete multi-layer neural networks?",
    "05": "Can I process spatial data like images with convolutional operations?",
    "06": "Can I build attention mechanisms for sequence understanding?",
    "07": "Can I stabilize training with normalization techniques?",
    "08": "Can I automatically compute gradients for learning?",
    "09": "Can I optimize neural networks with sophisticated algorithms?",
    "10": "Can I build complete training loops for end-to-end learning?",
    "11": "Can I prevent overfitting and build robust models?",
    "12": "Can I implement high-performance computational kernels?",
    "13": "Can I analyze performance and identify bottlenecks in ML systems?",
    "14": "Can I deploy and monitor ML systems in production?",
    "15": "Can I build complete end-to-end ML systems from scratch?",
}

needs_course = pytest.mark.skipif(not MODULE_DIRS, reason="no course/*/module.yaml yet")


def reference_regions() -> dict[str, list]:
    """Path -> regions, for every package source with markers (tito's own sources aside)."""
    out = {}
    for pkg in sorted((ROOT / "packages").iterdir()):
        if pkg.name in UNSCANNED_PACKAGES or not pkg.is_dir():
            continue
        for f in sorted(pkg.rglob("*")):
            parts = f.relative_to(pkg).parts
            if not f.is_file() or comment_prefix(f) is None or parts[0] in ("tests", "build"):
                continue
            text = f.read_text(encoding="utf-8", errors="replace")
            if "SOLUTION" in text:
                regions = parse(text, f.relative_to(ROOT).as_posix()).regions
                if regions:
                    out[f.relative_to(ROOT).as_posix()] = regions
    return out


@needs_course
def test_every_module_yaml_is_valid_and_named_after_its_directory():
    assert COURSE is not None
    assert len(COURSE.modules) == len(MODULE_DIRS)
    for m in COURSE.modules.values():
        assert m.path.name == f"{m.id}_{m.name}"
        assert (m.path / "README.md").is_file(), m.path
        for t in m.tasks:
            for f in t.files:
                assert (ROOT / f).is_file(), f"module {m.id} task {t.id}: no file {f}"


@needs_course
def test_markers_are_valid_and_every_task_has_a_region():
    build_tree(ROOT, COURSE)  # raises RegionError (file:line) on any bad marker
    assert check_tasks_have_regions(ROOT, COURSE) == []
    regions = reference_regions()
    for rel, rs in regions.items():
        for r in rs:
            task = COURSE.modules[r.module].task(r.task)
            assert rel in task.files, f"{rel}: region of {r.module} {r.task} not in its files"


@pytest.fixture(scope="module")
def stubbed_tree():
    return build_tree(ROOT, COURSE)


def _norm(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


@needs_course
def test_no_stub_leaks_a_solution(stubbed_tree):
    regions = reference_regions()
    assert regions or not WITH_TASKS, "modules have tasks but no package source has a region"
    texts = {
        rel: _norm(data.decode("utf-8", "replace"))
        for rel, data in stubbed_tree.items()
        if not rel.endswith((".png", ".npz", ".gz"))
    }
    for rel, rs in regions.items():
        stubbed = parse(stubbed_tree[rel].decode(), rel)
        assert len(stubbed.regions) == len(rs), rel
        for r in stubbed.regions:
            body = "".join(r.body).strip()
            stub = r"(raise NotImplementedError\(.*\)|throw tt::NotImplemented\(.*\);)"
            assert re.fullmatch(stub, body), f"{rel}:{r.begin + 1}: not a bare stub: {body}"
            assert f"module {r.module} (" in body and f"task {r.task}:" in body
        for r in rs:  # grep the whole workspace for each multi-line solution
            solution = _norm("".join(r.body))
            if solution.count("\n") < 1:
                continue
            leaks = [p for p, t in texts.items() if solution in t]
            assert not leaks, f"{rel}:{r.begin + 1} ({r.module} {r.task}) leaks into {leaks}"


@needs_course
@pytest.mark.parametrize("module", [m.id for m in WITH_TASKS])
def test_reference_passes_module_tests(module):
    m = COURSE.modules[module]
    if not (m.path / m.tests).is_dir():
        pytest.fail(f"module {module} has tasks but no tests directory {m.tests}")
    result = run_pytest(
        sys.executable, [m.path / m.tests], cwd=ROOT, backend=m.backend, timeout=600
    )
    assert result.ok, result.summary() + "\n" + result.output[-3000:]


def test_sixteen_checkpoints_with_the_seed_questions():
    cps = discover_checkpoints(ROOT / "tests" / "checkpoints")
    assert list(cps) == [f"{i:02d}" for i in range(16)]
    for cid, cp in cps.items():
        assert cp.question == QUESTIONS[cid], cid
        assert "tinytorch-tensor" in cp.requires


def test_reference_passes_every_available_checkpoint():
    cps = discover_checkpoints(ROOT / "tests" / "checkpoints")
    have = installed_distributions(sys.executable)
    unlock = COURSE.checkpoint_module() if COURSE else {}
    failures = []
    for cid, cp in cps.items():
        if any(r not in have for r in cp.requires):
            continue
        backend = COURSE.modules[unlock[cid]].backend if cid in unlock else None
        result = run_pytest(sys.executable, [cp.path], cwd=ROOT, backend=backend, timeout=600)
        if not result.ok:
            failures.append(f"{cid} {cp.name}: {result.summary()}\n{result.output[-2000:]}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory):
    """``tito nbgrader generate`` of the real course, once: the release directory."""
    pytest.importorskip("nbformat")
    from tito.cli import main

    out = tmp_path_factory.mktemp("nbgrader_release")
    assert main(["nbgrader", "generate", "--source", str(ROOT), "--out", str(out)]) == 0
    return out


def _notebook_path(release: Path, m) -> Path:
    return release / m.dirname / (Path(m.lab).stem + ".ipynb")


@needs_course
def test_nbgrader_notebooks_from_the_labs(nbgrader_release):
    nbformat = pytest.importorskip("nbformat")
    labs = [m for m in LABS if (m.path / m.lab).is_file()]
    if not labs:
        pytest.skip("no labs yet")
    regions = reference_regions()
    for m in labs:
        path = _notebook_path(nbgrader_release, m)
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
        text = "\n".join(c.source for c in nb.cells)
        lab_text = (m.path / m.lab).read_text()
        for r in parse(lab_text, m.lab, bare=True).regions:
            solution = _norm("".join(r.body))
            if solution:
                assert solution not in _norm(text), f"{m.lab}: a lab solution leaks"
        assert regions is not None


@needs_course
def test_every_module_with_tasks_has_autograded_lab_cells(nbgrader_release):
    """A lab's ``# %% tags=["tests"]`` cells become nbgrader's autograded, locked cells: every
    module whose tasks a student is graded on must have at least one, with real asserts."""
    assert WITH_TASKS, "no module has tasks"
    missing = []
    for m in WITH_TASKS:
        assert m.lab, f"module {m.id} has tasks but module.yaml names no lab"
        nb = json.loads(_notebook_path(nbgrader_release, m).read_text(encoding="utf-8"))
        graded = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
        if not graded:
            missing.append(f"{m.dirname}/{m.lab}")
        for c in graded:
            meta, source = c["metadata"]["nbgrader"], "".join(c["source"])
            assert c["cell_type"] == "code" and meta["locked"] and not meta["solution"], meta
            assert meta["points"] > 0 and re.search(r"(?m)^\s*assert\b", source), (
                f"{m.lab}: autograded cell {meta['grade_id']} asserts nothing"
            )
    assert not missing, f"labs without an autograded cell (tag a check cell tests): {missing}"


def _run_lab(m) -> subprocess.CompletedProcess:
    """Run one lab as a script, as a student would, on its module's backend."""
    return subprocess.run(
        [sys.executable, str(m.path / m.lab)],
        cwd=ROOT,
        env=clean_env(m.backend, {"MPLBACKEND": "Agg"}),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def lab_runs():
    """Module id -> the finished run of its lab; two at a time (labs are mostly one-threaded)."""
    tt = pytest.importorskip("tinytorch.tensor")
    runnable = [m for m in LABS if m.backend != "native" or tt.native_available()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([m.id for m in runnable], pool.map(_run_lab, runnable), strict=True))


@needs_course
@pytest.mark.slow
@pytest.mark.parametrize("module", [m.id for m in LABS])
def test_lab_runs_top_to_bottom_and_its_checks_pass(module, lab_runs):
    """Every cell in order, the autograded check cells included, with the reference packages.

    The labs also time things (printed, never asserted): this is the slow part of the file.
    """
    m = COURSE.modules[module]
    assert (m.path / m.lab).is_file(), f"module {module}: lab {m.lab} is missing"
    if module not in lab_runs:
        pytest.skip(f"lab {m.lab} needs the native backend (the C++ extension is not built)")
    proc = lab_runs[module]
    assert proc.returncode == 0, (
        f"{m.dirname}/{m.lab} exited with {proc.returncode}:\n{proc.stdout[-1500:]}\n"
        f"{proc.stderr[-3000:]}"
    )


def test_cpp_stub_exception_is_not_implemented_error():
    tt = pytest.importorskip("tinytorch.tensor")
    if not tt.native_available():
        pytest.skip("the C++ extension is not built")
    from tinytorch.tensor import _C

    assert issubclass(_C.NotImplemented, NotImplementedError)
