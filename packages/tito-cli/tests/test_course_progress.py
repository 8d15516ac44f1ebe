"""module.yaml loading and validation; the progress store (atomic, malformed -> recovered)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tito.course import CourseError, load_course, normalize_id, stub_message
from tito.progress import ProgressStore, check_progress


def test_load_fake_course(fake_repo):
    course = load_course(fake_repo / "course")
    assert list(course.modules) == ["01", "02", "03"]
    m = course.get("2")
    assert m.title == "Module tensor" and m.packages == ("tito-cli",)
    assert m.tasks[0].id == "add" and m.reflection[0].words == (5, 20)
    assert course.prerequisites_closure("03") == ["01", "02"]
    assert course.checkpoint_module() == {"01": "01", "02": "03"}
    assert stub_message(m, "add") == (
        "module 02 (tensor), task add: Add two numbers; see course/02_tensor/README.md"
    )
    with pytest.raises(KeyError, match="no course module '9'"):
        course.get("9")


def test_normalize_id():
    assert normalize_id(2) == "02" and normalize_id("02_tensor") == "02"
    assert normalize_id("13") == "13"


def test_every_problem_is_reported(fake_repo):
    yml = fake_repo / "course" / "02_tensor" / "module.yaml"
    yml.write_text(
        "id: 2\nname: tensr\ntitle: ''\npackage: 3\nprerequisites: [1]\n"
        "checkpoints: []\ntime_estimate_hours: -1\ndifficulty: 9\nbackend: gpu\n"
        "tasks:\n  - id: Add\n    files: []\n"
    )
    with pytest.raises(CourseError) as exc:
        load_course(fake_repo / "course")
    text = str(exc.value)
    for words in (
        "id: must be a two-digit string",
        "differs from the directory suffix",
        "title: must be",
        "package:",
        "prerequisites:",
        "time_estimate_hours",
        "difficulty: must be an integer 1..5",
        "backend: must be one of",
        "tasks[0]: id",
        "tasks[0]: title",
        "tasks[0]: files",
    ):
        assert words in text, words
    assert str(yml) in text


def test_yaml_syntax_error_names_line(fake_repo):
    yml = fake_repo / "course" / "03_activations" / "module.yaml"
    yml.write_text('id: "03"\nname: [unclosed\n')
    with pytest.raises(CourseError, match=r"module.yaml:\d+: not valid YAML"):
        load_course(fake_repo / "course")


def test_unknown_prerequisite(fake_repo):
    yml = fake_repo / "course" / "03_activations" / "module.yaml"
    yml.write_text(yml.read_text().replace('prerequisites: ["02"]', 'prerequisites: ["09"]'))
    with pytest.raises(CourseError, match="unknown module '09'"):
        load_course(fake_repo / "course")


def test_progress_round_trip_and_atomic(tmp_path: Path):
    store = ProgressStore(tmp_path / ".tito" / "progress.json")
    assert store.load() == {"schema": 1, "modules": {}, "checkpoints": {}}
    store.record_module("02", passed=3)
    store.record_checkpoint("01")
    data = json.loads(store.path.read_text())
    assert data["modules"]["02"]["tests"] == {"passed": 3, "failed": 0}
    assert data["checkpoints"]["01"]["status"] == "passed"
    assert [p.name for p in store.path.parent.iterdir()] == ["progress.json"]  # no temp left
    with pytest.raises(ValueError, match="invalid progress"):
        store.save({"schema": 1, "modules": {"x": 1}, "checkpoints": {}})


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"schema": 2, "modules": {}, "checkpoints": {}}',
        "",
        '{"schema": 1, "modules": {"02": {"status": "done"}}, "checkpoints": []}',
    ],
)
def test_malformed_progress_is_reported_backed_up_and_rebuilt(tmp_path: Path, content):
    path = tmp_path / "progress.json"
    path.write_text(content)
    store = ProgressStore(path)
    data = store.load()
    assert data["modules"] == {} and data["schema"] == 1
    assert len(store.warnings) == 1 and "malformed" in store.warnings[0]
    backups = list(tmp_path.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text() == content
    assert json.loads(path.read_text())["schema"] == 1  # rebuilt, valid
    assert ProgressStore(path).load() == data  # and stays valid


def test_salvage_keeps_valid_entries(tmp_path: Path):
    path = tmp_path / "progress.json"
    good = {
        "status": "complete",
        "completed_at": "2026-01-01T00:00:00Z",
        "tests": {"passed": 2, "failed": 0},
    }
    path.write_text(
        json.dumps({"schema": 1, "modules": {"02": good, "03": {"status": 1}}, "checkpoints": {}})
    )
    store = ProgressStore(path)
    assert store.load()["modules"] == {"02": good}
    assert "1 entries kept" in store.warnings[0]
    _, problems = check_progress(store.load())
    assert problems == []
