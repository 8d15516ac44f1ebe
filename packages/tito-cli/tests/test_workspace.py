"""`tito workspace init` (without an install) and `tito workspace update` on a fake course."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tito.regions import RegionError
from tito.workspace import (
    Workspace,
    build_tree,
    find_workspace,
    init_workspace,
    merge_file,
    update_workspace,
)

FAKE = "packages/fake-layer/src/tinytorch/fake/__init__.py"


def test_init_layout_and_stubs(fake_repo, tmp_path):
    ws = init_workspace(tmp_path / "ws", fake_repo, install="none")
    root = ws.root
    src = (root / FAKE).read_text()
    assert "return a + b" not in src and "[v if v > 0" not in src
    assert (
        "raise NotImplementedError('module 02 (tensor), task add: Add two numbers; "
        "see course/02_tensor/README.md')"
    ) in src
    assert "# BEGIN SOLUTION 02 add" in src and "# END SOLUTION" in src
    cpp = (root / "packages/fake-layer/csrc/twice.cpp").read_text()
    assert 'throw tt::NotImplemented("module 03 (activations), task relu: ReLU;' in cpp
    assert "return 2 * x" not in cpp
    lab = (root / "course/02_tensor/tensor_lab.py").read_text()
    assert "secret sauce" not in lab and "raise NotImplementedError()" in lab
    assert not (root / "packages/fake-layer/tests").exists()  # package tests stay out
    assert not (root / "packages/fake-layer/build").exists()
    assert (root / "course/02_tensor/tests/test_tensor.py").is_file()
    assert (root / "tests/checkpoints/checkpoint_01_foundation.py").is_file()
    meta = json.loads((root / ".tito/workspace.json").read_text())
    assert meta["schema"] == 1 and meta["source"] == str(fake_repo.resolve())
    assert {"created", "tito_version", "source_commit"} <= set(meta)
    assert (root / ".tito/base" / FAKE).read_text() == src
    # no leak anywhere in the workspace (base included)
    for f in root.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            assert "a + b" not in text and "secret sauce" not in text, f


def test_init_refuses_non_empty_and_bad_markers(fake_repo, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        init_workspace(tmp_path / "full", fake_repo, install="none")
    p = fake_repo / FAKE
    p.write_text(p.read_text().replace("# BEGIN SOLUTION 02 add", "# BEGIN SOLUTION 07 add"))
    with pytest.raises(RegionError, match=r"__init__.py:6: unknown course module '07'"):
        build_tree(fake_repo)


def test_find_workspace(fake_repo, tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "ws", fake_repo, install="none")
    monkeypatch.chdir(ws.root / "course" / "02_tensor")
    monkeypatch.delenv("TITO_WORKSPACE", raising=False)
    assert find_workspace().root == ws.root
    monkeypatch.chdir(tmp_path)
    assert find_workspace() is None
    monkeypatch.setenv("TITO_WORKSPACE", str(ws.root))
    assert find_workspace().root == ws.root


def implement(root: Path, old: str, new: str) -> None:
    p = root / FAKE
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))


def test_update_keeps_work_and_brings_new_content(fake_repo, tmp_path):
    ws = init_workspace(tmp_path / "ws", fake_repo, install="none")
    stub = (
        "raise NotImplementedError('module 02 (tensor), task add: Add two numbers; "
        "see course/02_tensor/README.md')"
    )
    implement(ws.root, stub, "return b + a  # mine")
    # the course changes: new README text, a new region for an existing task, a new file,
    # a new title (so the stub message of untouched regions changes), a removed file
    src = fake_repo / FAKE
    src.write_text(
        src.read_text() + '\n\ndef sub(a, b):\n    """Sub."""\n'
        "    # BEGIN SOLUTION 02 add\n    return a - b\n    # END SOLUTION\n"
    )
    (fake_repo / "course/02_tensor/README.md").write_text("# tensor v2\n")
    (fake_repo / "course/02_tensor/notes.md").write_text("new\n")
    (fake_repo / "course/README.md").unlink()
    yml = fake_repo / "course/03_activations/module.yaml"
    yml.write_text(yml.read_text().replace('"ReLU"', '"Rectified linear unit"'))
    report = update_workspace(ws, fake_repo, log=lambda s: None)
    text = (ws.root / FAKE).read_text()
    assert "return b + a  # mine" in text  # the student's work is kept
    assert "def sub(a, b)" in text and "return a - b" not in text  # new region, stubbed
    assert "task relu: Rectified linear unit" in text  # untouched stub refreshed
    assert (ws.root / "course/02_tensor/README.md").read_text() == "# tensor v2\n"
    assert (ws.root / "course/02_tensor/notes.md").is_file()
    assert not (ws.root / "course/README.md").exists()
    assert FAKE in report.merged and "course/02_tensor/notes.md" in report.added
    assert report.conflicts == []
    backup = Path(report.backup)
    assert stub not in (backup / FAKE).read_text() and "# mine" in (backup / FAKE).read_text()
    # base is the new pristine tree: a second update changes nothing
    again = update_workspace(ws, fake_repo, log=lambda s: None)
    assert again.merged == again.updated == again.added == again.removed == []
    assert "return b + a  # mine" in (ws.root / FAKE).read_text()


def test_update_conflicts_are_reported_and_backed_up(fake_repo, tmp_path):
    ws = init_workspace(tmp_path / "ws", fake_repo, install="none")
    implement(ws.root, "    def forward(self, x):", "    def forward(self, x):  # edited")
    implement(
        ws.root,
        "raise NotImplementedError('module 03",
        "return x  # mine\n        raise NotImplementedError('module 03",
    )
    src = fake_repo / FAKE
    text = src.read_text()
    start = text.index("class Relu")
    src.write_text(text[:start] + "def relu():\n    return 0\n")  # region 03 removed
    (ws.root / "course/02_tensor/README.md").write_text("my notes\n")
    (fake_repo / "course/02_tensor/README.md").write_text("# changed upstream\n")
    report = update_workspace(ws, fake_repo, log=lambda s: None)
    joined = "\n".join(report.conflicts)
    assert "module 03 task relu" in joined and "backup" in joined
    assert "README.md: changed both by you and by the course" in joined
    backup = Path(report.backup)
    assert "return x  # mine" in (backup / FAKE).read_text()
    assert (backup / "course/02_tensor/README.md").read_text() == "my notes\n"


def test_dry_run_changes_nothing(fake_repo, tmp_path):
    ws = init_workspace(tmp_path / "ws", fake_repo, install="none")
    (fake_repo / "course/02_tensor/README.md").write_text("# v2\n")
    before = (ws.root / "course/02_tensor/README.md").read_text()
    report = update_workspace(ws, fake_repo, dry_run=True, log=lambda s: None)
    assert report.updated == ["course/02_tensor/README.md"]
    assert (ws.root / "course/02_tensor/README.md").read_text() == before


def test_merge_file_outside_edits_kept_when_upstream_only_changed_regions():
    base = "x = 1\ndef f():\n    # BEGIN SOLUTION 02 a\n    raise X\n    # END SOLUTION\n"
    mine = base.replace("x = 1", "x = 2  # mine").replace("raise X", "return 3")
    new = base.replace("raise X", "raise Y")
    merged, conflicts = merge_file("f.py", base, mine, new)
    assert merged == mine and conflicts == []


def test_workspace_properties(fake_repo, tmp_path):
    ws = init_workspace(tmp_path / "ws", fake_repo, install="none")
    assert isinstance(ws, Workspace)
    assert ws.python() is None and ws.course().get("02").name == "tensor"
    assert ws.checkpoints_dir().is_dir()
