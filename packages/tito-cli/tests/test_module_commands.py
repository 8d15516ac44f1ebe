"""`tito module`, `checkpoint`, `export`, `test`, `grade` and `nbgrader` on a fake course.

The fake course's tests load the workspace's code from its path (the real course's tests use
the installed packages; see tests/test_course_*.py at the repository root)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from tito.workspace import init_workspace

FAKE = "packages/fake-layer/src/tinytorch/fake/__init__.py"
STUB_02 = (
    "raise NotImplementedError('module 02 (tensor), task add: Add two numbers; "
    "see course/02_tensor/README.md')"
)


@pytest.fixture
def ws(fake_repo, tmp_path):
    return init_workspace(tmp_path / "ws", fake_repo, install="none")


def edit(root: Path, old: str, new: str) -> None:
    p = root / FAKE
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))


def test_module_list_json(ws, tito):
    proc = tito("module", "list", "--json", cwd=ws.root)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["modules"]
    assert [(r["id"], r["status"]) for r in rows] == [
        ("01", "ready"),
        ("02", "ready"),
        ("03", "locked"),
    ]
    assert rows[1]["tasks"] == ["add"]
    proc = tito("module", "list", cwd=ws.root)
    assert "Module tensor" in proc.stdout and "locked" in proc.stdout


def test_complete_refuses_unfinished_and_locked(ws, tito):
    proc = tito("module", "complete", "02", cwd=ws.root)
    assert proc.returncode == 1
    assert "not finished" in proc.stderr and "task add" in proc.stderr
    proc = tito("module", "complete", "03", cwd=ws.root)
    assert proc.returncode == 1
    assert "needs module(s) 02 (tensor) complete first" in proc.stderr
    assert not (ws.root / ".tito/progress.json").exists()


def test_complete_records_only_when_tests_pass(ws, tito):
    edit(ws.root, STUB_02, "return a - b  # wrong")
    proc = tito("module", "complete", "02", "--json", cwd=ws.root)
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["complete"] is False and out["tests"]["failed"] == 2
    assert not (ws.root / ".tito/progress.json").exists()
    edit(ws.root, "return a - b  # wrong", "return a + b")
    proc = tito("module", "complete", "02", "--json", cwd=ws.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["complete"] and out["tests"]["passed"] == 2
    assert out["checkpoints"]["01"]["ok"] is True
    progress = json.loads((ws.root / ".tito/progress.json").read_text())
    assert progress["modules"]["02"]["tests"] == {"passed": 2, "failed": 0}
    assert progress["checkpoints"]["01"]["status"] == "passed"
    # status views
    proc = tito("module", "status", "--json", cwd=ws.root)
    mods = json.loads(proc.stdout)["modules"]
    assert mods["02"]["status"] == "complete" and mods["03"]["status"] == "ready"
    proc = tito("checkpoint", "status", "--json", "--workspace", str(ws.root))
    cps = {c["id"]: c["status"] for c in json.loads(proc.stdout)["checkpoints"]}
    assert cps == {"01": "passed", "02": "unavailable: needs tinytorch-does-not-exist"}
    for args in (
        ["checkpoint", "status", "--detailed"],
        ["checkpoint", "timeline"],
        ["checkpoint", "timeline", "--horizontal"],
    ):
        proc = tito(*args, cwd=ws.root)
        assert proc.returncode == 0 and "01" in proc.stdout, proc.stderr


def test_unavailable_checkpoint_blocks_completion(ws, tito):
    edit(ws.root, STUB_02, "return a + b")
    assert tito("module", "complete", "02", cwd=ws.root).returncode == 0
    edit(
        ws.root,
        "raise NotImplementedError('module 03",
        "return [max(v, 0) for v in x]\n        raise NotImplementedError('module 03",
    )
    proc = tito("module", "complete", "03", cwd=ws.root)
    assert proc.returncode == 1
    assert "unavailable: needs tinytorch-does-not-exist" in proc.stderr


def test_module_test_and_aliases(ws, tito):
    proc = tito("module", "test", "02", cwd=ws.root)
    assert proc.returncode == 1 and "2 failed" in proc.stdout
    assert "NotImplementedError" in proc.stdout
    edit(ws.root, STUB_02, "return a + b")
    proc = tito("test", "2", "--json", cwd=ws.root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["result"]["passed"] == 2
    proc = tito("export", "02", "--json", cwd=ws.root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["unfinished"] == []
    proc = tito("export", "03", cwd=ws.root)
    assert "still hold their stub" in proc.stdout
    proc = tito("checkpoint", "test", "01", cwd=ws.root)
    assert proc.returncode == 0 and "passed" in proc.stdout
    proc = tito("checkpoint", "test", "02", cwd=ws.root)
    assert proc.returncode == 1 and "unavailable" in proc.stdout


def test_malformed_progress_is_reported_not_a_crash(ws, tito):
    (ws.root / ".tito/progress.json").write_text("{garbage")
    proc = tito("module", "status", cwd=ws.root)
    assert proc.returncode == 0, proc.stderr
    assert "malformed" in proc.stdout and "backed up" in proc.stdout
    assert list((ws.root / ".tito").glob("progress.json.corrupt-*"))


def test_not_in_a_workspace(tmp_path, tito, fake_repo):
    proc = tito("module", "complete", "02", cwd=tmp_path, env={"TITO_SOURCE": str(fake_repo)})
    assert proc.returncode == 1 and "not inside a tito workspace" in proc.stderr
    proc = tito("module", "list", cwd=tmp_path, env={"TITO_SOURCE": str(fake_repo)})
    assert proc.returncode == 0 and "tensor" in proc.stdout


def test_workspace_commands_cli(fake_repo, tmp_path, tito):
    proc = tito(
        "workspace",
        "init",
        str(tmp_path / "w"),
        "--source",
        str(fake_repo),
        "--no-install",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["workspace"] == str((tmp_path / "w").resolve())
    proc = tito("workspace", "update", "--json", cwd=tmp_path / "w")
    assert proc.returncode == 0 and json.loads(proc.stdout)["conflicts"] == []
    proc = tito("workspace", "info", cwd=tmp_path / "w")
    assert proc.returncode == 0 and "source" in proc.stdout
    bad = fake_repo / FAKE
    bad.write_text(bad.read_text() + "\n# BEGIN SOLUTION 02 add\n")
    proc = tito(
        "workspace", "init", str(tmp_path / "w2"), "--source", str(fake_repo), "--no-install"
    )
    assert proc.returncode == 1 and "never closed" in proc.stderr and "__init__.py:" in proc.stderr


def make_submission(fake_repo, root: Path, body: str, reflection: str) -> Path:
    ws = init_workspace(root, fake_repo, install="none")
    edit(ws.root, STUB_02, body)
    (ws.root / "course/02_tensor/reflection.md").write_text(reflection)
    return ws.root


def test_grade_three_submissions(fake_repo, tmp_path, tito):
    subs = tmp_path / "subs"
    good = make_submission(
        fake_repo,
        subs / "alice",
        "return a + b",
        "## q1\nAdding is elementwise and broadcasting copies nothing.\n",
    )
    part = make_submission(fake_repo, subs / "bob", "return int(a + b)", "## q1\nToo short\n")
    loop = make_submission(fake_repo, subs / "carol", "while True:\n        pass", "")
    hidden = tmp_path / "hidden" / "02_tensor"
    hidden.mkdir(parents=True)
    (hidden / "test_hidden.py").write_text(
        "import sys\nfrom pathlib import Path\n\n\ndef test_hidden_neg():\n"
        "    from tinytorch.fake import add\n    assert add(-1, -2) == -3\n"
    )
    t0 = time.monotonic()
    proc = tito(
        "grade",
        str(good),
        str(part),
        str(loop),
        "--source",
        str(fake_repo),
        "--modules",
        "02",
        "--hidden",
        str(tmp_path / "hidden"),
        "--timeout",
        "20",
        "--test-timeout",
        "3",
        "--memory",
        "2048",
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert took < 90
    book = json.loads((tmp_path / "out/gradebook.json").read_text())
    scores = {s["student"]: s["total"] for s in book["students"]}
    assert scores["alice"] == 100.0
    assert scores["carol"] == 0.0
    assert 0 < scores["bob"] < 100
    rows = list(csv.DictReader(open(tmp_path / "out/gradebook.csv")))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol"]
    assert rows[0]["reflections_ok"] == "1/1" and rows[1]["reflections_ok"] == "0/1"
    fb = (tmp_path / "out/feedback/carol.md").read_text()
    assert "time limit" in fb and "missing" in fb
    assert "too short" in (tmp_path / "out/feedback/bob.md").read_text()


def test_nbgrader_generate(fake_repo, tmp_path, tito):
    nbformat = pytest.importorskip("nbformat")
    out = tmp_path / "nb"
    proc = tito("nbgrader", "generate", "--source", str(fake_repo), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    path = out / "02_tensor" / "tensor_lab.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    text = path.read_text()
    assert "secret sauce" not in text and "raise NotImplementedError()" in text
    kinds = [(c.cell_type, c.metadata.get("nbgrader", {})) for c in nb.cells]
    assert kinds[0][0] == "markdown" and kinds[0][1]["locked"] is True
    sol = [m for t, m in kinds if m.get("solution")]
    tests = [m for t, m in kinds if m.get("grade")]
    assert len(sol) == 1 and len(tests) == 1 and tests[0]["points"] == 1
    ids = [m["grade_id"] for _, m in kinds if m]
    assert len(ids) == len(set(ids))
    proc = tito(
        "nbgrader", "generate", "--source", str(fake_repo), "--out", str(out), "--with-solutions"
    )
    assert proc.returncode == 0
    text = path.read_text()
    assert "secret sauce" in text and "### BEGIN SOLUTION" in text
