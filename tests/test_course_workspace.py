"""The course in a real, installed student workspace (slow: builds the C++ extension once).

One workspace is made with ``tito workspace init`` (editable install into its own .venv) and
shared by every test here, in order:

1. for every module with tasks: with only its prerequisites' regions put back, the module's
   tests fail; with its own regions put back too, they pass (then the workspace is reset);
2. the issue's scripted student walkthrough: put module 02 back by hand,
   ``tito module complete 02``, the workspace's code is what imports, ``checkpoint status``
   shows it, ``workspace update`` from a changed course keeps the work;
3. ``tito grade`` on three submissions (complete, partial, loops forever).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tito.course import load_course
from tito.regions import parse, replace_bodies
from tito.runner import run_pytest
from tito.workspace import UNSCANNED_PACKAGES, Workspace, install_workspace

ROOT = Path(__file__).resolve().parent.parent
HAS_COURSE = any(ROOT.glob("course/*/module.yaml"))
COURSE = load_course(ROOT / "course") if HAS_COURSE else None
WITH_TASKS = [m.id for m in (COURSE.modules.values() if COURSE else []) if m.tasks]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_COURSE, reason="no course/*/module.yaml yet"),
]


def tito(*args: str, cwd: Path | None = None, timeout: float = 1800):
    env = {k: v for k, v in os.environ.items() if k not in ("TITO_WORKSPACE", "TITO_SOURCE")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1"})
    return subprocess.run(
        [sys.executable, "-m", "tito", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def region_files(root: Path) -> list[str]:
    """Package sources of ``root`` with solution markers (relative paths)."""
    out = []
    for pkg in sorted((root / "packages").iterdir()):
        if pkg.name in UNSCANNED_PACKAGES or not pkg.is_dir():
            continue
        for f in sorted(pkg.rglob("*")):
            rel = f.relative_to(root).as_posix()
            if (
                f.is_file()
                and f.suffix in (".py", ".cpp", ".h")
                and "/build/" not in rel
                and "SOLUTION" in f.read_text(encoding="utf-8", errors="replace")
            ):
                out.append(rel)
    return out


def restore(
    ws_root: Path, modules: set[str], source: Path = ROOT, replace: dict | None = None
) -> list[str]:
    """Put the reference bodies of ``modules``' regions back into the workspace "by hand".

    ``replace`` maps ``(module, task, n)`` to ``f(region) -> body lines`` to write instead of
    the reference's body.
    Returns the files changed.
    """
    changed = []
    for rel in region_files(ws_root):
        ref = parse((source / rel).read_text(encoding="utf-8"), rel).keyed()
        mine_text = (ws_root / rel).read_text(encoding="utf-8")
        mine = parse(mine_text, rel)
        bodies = {k: ref[k].body for k in mine.keyed() if k[0] in modules and k in ref}
        for k, make in (replace or {}).items():
            if k in mine.keyed():
                bodies[k] = make(mine.keyed()[k])
        if bodies:
            new = replace_bodies(mine, bodies)
            if new != mine_text:
                (ws_root / rel).write_text(new, encoding="utf-8")
                changed.append(rel)
    return changed


def reset(ws: Workspace) -> None:
    """Every region file back to its pristine stub."""
    for rel in region_files(ws.root):
        shutil.copy2(ws.base / rel, ws.root / rel)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    target = tmp_path_factory.mktemp("student") / "ws"
    t0 = time.monotonic()
    proc = tito("workspace", "init", str(target), "--source", str(ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"workspace init with install: {time.monotonic() - t0:.0f}s")
    ws = Workspace(target.resolve())
    assert ws.python() is not None and str(ws.python()).startswith(str(ws.root))
    return ws


def run_module(ws: Workspace, module_id: str):
    m = COURSE.modules[module_id]
    if any(f.endswith((".cpp", ".h")) for t in m.tasks for f in t.files) or any(
        COURSE.modules[p].tasks
        and any(f.endswith(".cpp") for t in COURSE.modules[p].tasks for f in t.files)
        for p in COURSE.prerequisites_closure(module_id)
    ):
        install_workspace(ws, only_changed=True)  # C++ changed: rebuild (incremental)
    return run_pytest(
        ws.python(),
        [ws.root / "course" / m.dirname / m.tests],
        cwd=ws.root,
        backend=m.backend,
        timeout=900,
    )


@pytest.mark.parametrize("module_id", WITH_TASKS)
def test_stub_fails_and_reference_passes_in_the_workspace(workspace, module_id):
    prereqs = set(COURSE.prerequisites_closure(module_id))
    try:
        restore(workspace.root, prereqs)
        stubbed = run_module(workspace, module_id)
        assert not stubbed.ok and (stubbed.failed + stubbed.errors) > 0, (
            f"module {module_id}'s tests pass with its regions stubbed: {stubbed.summary()}"
        )
        assert "NotImplemented" in stubbed.output
        restore(workspace.root, prereqs | {module_id})
        solved = run_module(workspace, module_id)
        assert solved.ok, (
            f"module {module_id} fails with only its own and its prerequisites'"
            f" regions put back: {solved.summary()}\n{solved.output[-3000:]}"
        )
    finally:
        reset(workspace)


def test_student_walkthrough(workspace, tmp_path):
    ws = workspace.root
    reset(workspace)
    # The walkthrough puts back exactly one module: 02 must not need another with tasks.
    chain = [p for p in COURSE.prerequisites_closure("02") if COURSE.modules[p].tasks]
    assert chain == [], f"module 02's prerequisites {chain} have tasks"
    # 2. put module 02's reference solution back by hand
    assert restore(ws, {"02"}), "module 02 has no region to put back"
    # 3. tito module complete 02 passes
    proc = tito("module", "complete", "02", cwd=ws)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "module 02 complete" in proc.stdout
    # 4. the workspace's code is what imports
    out = subprocess.run(
        [
            str(workspace.python()),
            "-c",
            "import tinytorch.tensor; print(tinytorch.tensor.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert Path(out.stdout.strip()).resolve().is_relative_to(ws), out.stdout
    # 5. checkpoint status shows it done
    proc = tito("checkpoint", "status", "--json", cwd=ws)
    status = {c["id"]: c["status"] for c in json.loads(proc.stdout)["checkpoints"]}
    for cid in COURSE.modules["02"].checkpoints:
        assert status[cid] == "passed", status
    proc = tito("checkpoint", "status", cwd=ws)
    assert "passed" in proc.stdout
    proc = tito("module", "status", "--json", cwd=ws)
    assert json.loads(proc.stdout)["modules"]["02"]["status"] == "complete"
    # 6. workspace update from a changed course keeps the work
    v2 = tmp_path / "repo-v2"
    for part in ("packages", "course", "tests/checkpoints"):
        shutil.copytree(
            ROOT / part,
            v2 / part,
            ignore=shutil.ignore_patterns("build", "__pycache__", "*.so", ".venv", "*.egg-info"),
        )
    task_file = COURSE.modules["02"].tasks[0].files[0]
    (v2 / task_file).write_text((v2 / task_file).read_text() + "\n# course update v2\n")
    readme = v2 / "course" / COURSE.modules["02"].dirname / "README.md"
    readme.write_text(readme.read_text() + "\nUpdated in v2.\n")
    before = {rel: (ws / rel).read_text() for rel in region_files(ws)}
    proc = tito("workspace", "update", "--source", str(v2), "--json", cwd=ws)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["conflicts"] == []
    assert "# course update v2" in (ws / task_file).read_text()
    assert (
        "Updated in v2." in (ws / "course" / COURSE.modules["02"].dirname / "README.md").read_text()
    )
    for rel, text in before.items():
        mine = parse(text, rel).keyed()
        after = parse((ws / rel).read_text(), rel).keyed()
        for k, r in mine.items():
            assert after[k].body == r.body, f"{rel}: region {k} lost the student's work"
    proc = tito("module", "test", "02", cwd=ws)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_grade_three_submissions(tmp_path):
    m = COURSE.modules["02"]
    subs = tmp_path / "subs"
    for name in ("complete", "partial", "loops"):
        proc = tito("workspace", "init", str(subs / name), "--source", str(ROOT), "--no-install")
        assert proc.returncode == 0, proc.stderr
    restore(subs / "complete", {"02"})
    keys = [
        k
        for rel in region_files(subs / "partial")
        for k in parse((subs / "partial" / rel).read_text(), rel).keyed()
        if k[0] == "02"
    ]
    assert keys
    # partial: module 02 put back except its last region
    restore(
        subs / "partial",
        {"02"},
        replace={keys[-1]: lambda r: [r.indent + "raise NotImplementedError('left out')\n"]},
    )
    # loops: module 02 put back, but one region spins forever
    restore(
        subs / "loops",
        {"02"},
        replace={keys[0]: lambda r: [r.indent + "while True:\n", r.indent + "    pass\n"]},
    )
    for name in ("complete", "partial"):
        reflection = (
            "## "
            + (m.reflection[0].id if m.reflection else "q1")
            + "\n"
            + " ".join(["word"] * 200)
            + "\n"
        )
        (subs / name / "course" / m.dirname / "reflection.md").write_text(reflection)
    timeout = 60
    t0 = time.monotonic()
    proc = tito(
        "grade",
        str(subs / "complete"),
        str(subs / "partial"),
        str(subs / "loops"),
        "--source",
        str(ROOT),
        "--modules",
        "02",
        "--timeout",
        str(timeout),
        "--test-timeout",
        "5",
        "--memory",
        "4096",
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout + proc.stderr
    book = json.loads((tmp_path / "out" / "gradebook.json").read_text())
    scores = {s["student"]: s["total"] for s in book["students"]}
    assert scores["complete"] == 100.0, book
    assert 0 <= scores["partial"] < 100.0
    assert scores["loops"] < 100.0
    assert took < 3 * timeout + 120  # each run is bounded by its time limit
    assert (tmp_path / "out" / "gradebook.csv").read_text().startswith("student,module_02")
    for name in ("complete", "partial", "loops"):
        assert (tmp_path / "out" / "feedback" / f"{name}.md").is_file()
    loops = next(s for s in book["students"] if s["student"] == "loops")
    fb = (tmp_path / "out" / "feedback" / "loops.md").read_text()
    assert "time limit" in fb, fb
    assert loops["reflections"] == [] or loops["reflections"][0]["status"] == "missing"
