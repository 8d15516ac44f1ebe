"""Module 00 (introduction): the course map is consistent.

Every module.yaml follows the schema, prerequisites form a graph without cycles, every task
names files that hold its solution regions, every region in the packages belongs to a task,
and the graph block in course/README.md is current. These tests read files (and run the
graph script in a subprocess); they import nothing from course/.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

COURSE = Path(__file__).resolve().parents[2]
ROOT = COURSE.parent
GRAPH = COURSE / "00_introduction" / "course_graph.py"
KEYS = {
    "id",
    "name",
    "title",
    "package",
    "prerequisites",
    "checkpoints",
    "time_estimate_hours",
    "difficulty",
    "backend",
    "tests",
    "lab",
    "tasks",
    "reflection",
}
MARK = re.compile(r"^\s*(?:#|//) BEGIN SOLUTION (\d\d) ([a-z0-9_-]+)\s*$", re.M)


def _modules():
    return {
        p.parent.name: yaml.safe_load(p.read_text())
        for p in sorted(COURSE.glob("[0-9][0-9]_*/module.yaml"))
    }


def test_every_module_yaml_follows_the_schema():
    mods = _modules()
    assert "00_introduction" in mods
    for dirname, m in mods.items():
        assert KEYS <= set(m), f"{dirname}: missing {KEYS - set(m)}"
        assert m["id"] == dirname[:2] and m["name"] == dirname[3:], dirname
        assert m["backend"] in ("numpy", "native")
        assert 1 <= m["difficulty"] <= 5 and m["time_estimate_hours"] > 0
        assert (COURSE / dirname / m["lab"]).is_file(), f"{dirname}: lab {m['lab']} missing"
        assert (COURSE / dirname / "README.md").is_file()
        ids = [t["id"] for t in m["tasks"]]
        assert len(ids) == len(set(ids)), f"{dirname}: repeated task id"
        for t in m["tasks"]:
            assert re.fullmatch(r"[a-z0-9_-]+", t["id"]) and t["title"] and t["files"]
        for q in m["reflection"]:
            lo, hi = q["words"]
            assert 0 < lo < hi


def test_prerequisites_come_first_and_the_script_agrees():
    mods = _modules()
    ids = {m["id"] for m in mods.values()}
    for m in mods.values():
        for p in m["prerequisites"]:
            assert p in ids and p < m["id"], f"module {m['id']}: prerequisite {p}"
    proc = subprocess.run([sys.executable, str(GRAPH), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == len(mods)


def test_every_task_has_regions_and_every_region_a_task():
    declared = {}
    for m in _modules().values():
        for t in m["tasks"]:
            declared[(m["id"], t["id"])] = t["files"]
    found = {}
    sources = list(ROOT.glob("packages/*/src/**/*.py")) + list(ROOT.glob("packages/*/csrc/*.*"))
    for src in sources:
        if src.is_relative_to(ROOT / "packages" / "tito-cli"):
            continue  # tito's own sources describe the markers; tito never stubs itself
        for mod, task in MARK.findall(src.read_text(encoding="utf-8", errors="replace")):
            found.setdefault((mod, task), set()).add(src.relative_to(ROOT).as_posix())
    undeclared = sorted(k for k in found if k not in declared)
    assert not undeclared, f"regions without a task in module.yaml: {undeclared}"
    for key, files in declared.items():
        assert key in found, f"module {key[0]} task {key[1]}: no BEGIN SOLUTION region"
        assert found[key] <= set(files), f"{key}: regions in {found[key] - set(files)} not listed"


def test_readme_graph_is_current():
    proc = subprocess.run([sys.executable, str(GRAPH), "--mermaid"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    readme = (COURSE / "README.md").read_text()
    assert f"```mermaid\n{proc.stdout.strip()}\n```" in readme, (
        "course/README.md's graph is stale: run python course/00_introduction/course_graph.py "
        "--update-readme"
    )
