"""The course: ``course/NN_name/module.yaml`` files, loaded and checked against the schema.

A module.yaml (see docs/tito.md for the full schema)::

    id: "02"
    name: tensor
    title: "Tensor: the building block"
    package: tinytorch-tensor          # or a list
    prerequisites: ["01"]
    checkpoints: ["01"]
    time_estimate_hours: 4
    difficulty: 2
    backend: numpy                     # numpy | native
    tests: tests
    lab: tensor_lab.py
    tasks:
      - {id: add, title: "...", files: [packages/...], hint: "..."}
    reflection:
      - {id: q1, words: [150, 300]}

:func:`load_course` reads every module and raises :class:`CourseError` listing every problem
(file, field, what is wrong) instead of failing on the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CourseError",
    "Task",
    "Reflection",
    "Module",
    "Course",
    "load_module",
    "load_course",
    "validate_module_data",
    "stub_message",
]

_ID = re.compile(r"^\d\d$")
_TASK = re.compile(r"^[a-z0-9_-]+$")
_DIR = re.compile(r"^(\d\d)_([a-z0-9_]+)$")
BACKENDS = ("numpy", "native")
REQUIRED = (
    "id",
    "name",
    "title",
    "package",
    "prerequisites",
    "checkpoints",
    "time_estimate_hours",
    "difficulty",
    "tasks",
)


class CourseError(ValueError):
    """One or more invalid module.yaml files; ``problems`` lists ``path: message`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid course:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Task:
    """One task of a module: what the student builds, and where its regions are."""

    id: str
    title: str
    files: tuple[str, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class Reflection:
    """A reflection question and the word range its answer must fall in."""

    id: str
    words: tuple[int, int] = (150, 300)


@dataclass
class Module:
    """A course module, as its module.yaml describes it."""

    id: str
    name: str
    title: str
    packages: tuple[str, ...]
    prerequisites: tuple[str, ...]
    checkpoints: tuple[str, ...]
    time_estimate_hours: float
    difficulty: int
    backend: str
    tests: str
    lab: str | None
    tasks: tuple[Task, ...]
    reflection: tuple[Reflection, ...]
    path: Path
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def dirname(self) -> str:
        """``NN_name``."""
        return f"{self.id}_{self.name}"

    @property
    def tests_dir(self) -> Path:
        """The directory of this module's pytest files."""
        return self.path / self.tests

    def task(self, task_id: str) -> Task | None:
        """The task with this id, or ``None``."""
        return next((t for t in self.tasks if t.id == task_id), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "packages": list(self.packages),
            "prerequisites": list(self.prerequisites),
            "checkpoints": list(self.checkpoints),
            "time_estimate_hours": self.time_estimate_hours,
            "difficulty": self.difficulty,
            "backend": self.backend,
            "tasks": [t.id for t in self.tasks],
        }


def stub_message(module: Module, task_id: str) -> str:
    """The message of a stub: names the module, the task and where to read about it."""
    task = module.task(task_id)
    title = task.title if task else task_id
    return (
        f"module {module.id} ({module.name}), task {task_id}: {title}; "
        f"see course/{module.dirname}/README.md"
    )


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def validate_module_data(data: Any, where: str, dirname: str | None = None) -> list[str]:
    """Every schema problem of one parsed module.yaml, as ``where: field: message`` lines."""
    p: list[str] = []
    if not isinstance(data, dict):
        return [f"{where}: the file must be a mapping of fields (got {type(data).__name__})"]
    for key in REQUIRED:
        if key not in data:
            p.append(f"{where}: missing required field `{key}`")
    mid, name = data.get("id"), data.get("name")
    if "id" in data and not (isinstance(mid, str) and _ID.match(mid)):
        p.append(f'{where}: id: must be a two-digit string such as "02" (quote it), got {mid!r}')
    if "name" in data and not (isinstance(name, str) and re.match(r"^[a-z0-9_]+$", name)):
        p.append(f"{where}: name: must be lowercase letters, digits, _ (got {name!r})")
    if dirname:
        m = _DIR.match(dirname)
        if not m:
            p.append(f"{where}: directory {dirname!r} is not named NN_name")
        else:
            if isinstance(mid, str) and mid != m.group(1):
                p.append(f"{where}: id: {mid!r} differs from the directory prefix {m.group(1)!r}")
            if isinstance(name, str) and name != m.group(2):
                p.append(
                    f"{where}: name: {name!r} differs from the directory suffix {m.group(2)!r}"
                )
    if "title" in data and not (isinstance(data["title"], str) and data["title"].strip()):
        p.append(f"{where}: title: must be a non-empty string")
    pkg = data.get("package")
    if "package" in data and not (isinstance(pkg, str) or (_str_list(pkg) and pkg)):
        p.append(f"{where}: package: must be a distribution name or a non-empty list of them")
    for key in ("prerequisites", "checkpoints"):
        if key in data:
            v = data[key]
            if not _str_list(v) or not all(_ID.match(x) for x in v):
                p.append(f"{where}: {key}: must be a list of two-digit id strings, got {v!r}")
    t = data.get("time_estimate_hours")
    if "time_estimate_hours" in data and (
        isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0
    ):
        p.append(f"{where}: time_estimate_hours: must be a positive number, got {t!r}")
    d = data.get("difficulty")
    if "difficulty" in data and (isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 5):
        p.append(f"{where}: difficulty: must be an integer 1..5, got {d!r}")
    if data.get("backend", "numpy") not in BACKENDS:
        p.append(
            f"{where}: backend: must be one of {', '.join(BACKENDS)}, got {data.get('backend')!r}"
        )
    for key in ("tests", "lab"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            p.append(f"{where}: {key}: must be a path relative to the module directory")
    tasks = data.get("tasks")
    if "tasks" in data:
        if not isinstance(tasks, list):
            p.append(f"{where}: tasks: must be a list (use [] for none)")
        else:
            seen = set()
            for i, task in enumerate(tasks):
                tw = f"{where}: tasks[{i}]"
                if not isinstance(task, dict):
                    p.append(f"{tw}: must be a mapping with id, title, files")
                    continue
                tid = task.get("id")
                if not (isinstance(tid, str) and _TASK.match(tid)):
                    p.append(f"{tw}: id: must match [a-z0-9_-]+, got {tid!r}")
                elif tid in seen:
                    p.append(f"{tw}: id: {tid!r} is used twice in this module")
                seen.add(tid)
                if not (isinstance(task.get("title"), str) and task["title"].strip()):
                    p.append(f"{tw}: title: must be a non-empty string")
                if not _str_list(task.get("files")) or not task.get("files"):
                    p.append(f"{tw}: files: must be a non-empty list of repository paths")
                if "hint" in task and not isinstance(task["hint"], str):
                    p.append(f"{tw}: hint: must be a string")
                extra = set(task) - {"id", "title", "files", "hint"}
                if extra:
                    p.append(f"{tw}: unknown field(s): {', '.join(sorted(extra))}")
    refl = data.get("reflection", [])
    if not isinstance(refl, list):
        p.append(f"{where}: reflection: must be a list")
    else:
        for i, q in enumerate(refl):
            qw = f"{where}: reflection[{i}]"
            if not isinstance(q, dict) or not isinstance(q.get("id"), str):
                p.append(f"{qw}: must be a mapping with id and words")
                continue
            w = q.get("words", [150, 300])
            if not (
                isinstance(w, list)
                and len(w) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in w)
                and 0 <= w[0] <= w[1]
            ):
                p.append(f"{qw}: words: must be [min, max] integers, got {w!r}")
    return p


def _module_from(data: dict[str, Any], path: Path) -> Module:
    pkg = data["package"]
    tasks = tuple(
        Task(t["id"], t["title"], tuple(t.get("files", [])), t.get("hint", "") or "")
        for t in data.get("tasks") or []
    )
    refl = tuple(
        Reflection(q["id"], tuple(q.get("words", [150, 300])))  # type: ignore[arg-type]
        for q in data.get("reflection") or []
    )
    return Module(
        id=data["id"],
        name=data["name"],
        title=data["title"],
        packages=(pkg,) if isinstance(pkg, str) else tuple(pkg),
        prerequisites=tuple(data["prerequisites"]),
        checkpoints=tuple(data["checkpoints"]),
        time_estimate_hours=data["time_estimate_hours"],
        difficulty=data["difficulty"],
        backend=data.get("backend", "numpy"),
        tests=data.get("tests", "tests") or "tests",
        lab=data.get("lab"),
        tasks=tasks,
        reflection=refl,
        path=path,
        raw=data,
    )


def _read_yaml(path: Path) -> tuple[Any, str | None]:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), None
    except OSError as exc:
        return None, f"{path}: cannot read: {exc}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, f"{path}{line}: not valid YAML: {problem}"


def load_module(path: Path) -> Module:
    """Load and check one module directory (or its module.yaml); raise :class:`CourseError`."""
    path = Path(path)
    yml = path if path.name == "module.yaml" else path / "module.yaml"
    data, err = _read_yaml(yml)
    if err:
        raise CourseError([err])
    problems = validate_module_data(data, str(yml), yml.parent.name)
    if problems:
        raise CourseError(problems)
    return _module_from(data, yml.parent)


@dataclass
class Course:
    """Every module of a course directory, by id, with cross-module checks done."""

    root: Path
    modules: dict[str, Module]

    def get(self, module_id: str) -> Module:
        """The module with this id (``"2"`` and ``"02"`` both work); ``KeyError`` if none."""
        mid = normalize_id(module_id)
        if mid not in self.modules:
            known = ", ".join(self.modules) or "none"
            raise KeyError(f"no course module {module_id!r} (modules: {known})")
        return self.modules[mid]

    def known_tasks(self) -> dict[str, set[str]]:
        """Module id -> its task ids (for :func:`tito.regions.parse`)."""
        return {m.id: {t.id for t in m.tasks} for m in self.modules.values()}

    def prerequisites_closure(self, module_id: str) -> list[str]:
        """Every module ``module_id`` depends on, directly or not (sorted ids)."""
        out: set[str] = set()
        todo = list(self.get(module_id).prerequisites)
        while todo:
            m = todo.pop()
            if m not in out and m in self.modules:
                out.add(m)
                todo.extend(self.modules[m].prerequisites)
        return sorted(out)

    def checkpoint_module(self) -> dict[str, str]:
        """Checkpoint id -> the module that unlocks it."""
        out = {}
        for m in self.modules.values():
            for c in m.checkpoints:
                out.setdefault(c, m.id)
        return out


def normalize_id(module_id: str | int) -> str:
    """``2`` / ``"2"`` / ``"02"`` / ``"02_tensor"`` -> ``"02"``."""
    s = str(module_id).strip()
    m = re.match(r"^(\d{1,2})(?:_.*)?$", s)
    return f"{int(m.group(1)):02d}" if m else s


def load_course(root: Path) -> Course:
    """Load every ``root/NN_name/module.yaml``; raise :class:`CourseError` with all problems."""
    root = Path(root)
    problems: list[str] = []
    modules: dict[str, Module] = {}
    if not root.is_dir():
        raise CourseError([f"{root}: no course directory"])
    for d in sorted(root.iterdir()):
        if not (d.is_dir() and (d / "module.yaml").is_file()):
            continue
        try:
            m = load_module(d)
        except CourseError as exc:
            problems.extend(exc.problems)
            continue
        if m.id in modules:
            problems.append(f"{d}/module.yaml: id {m.id} is also used by {modules[m.id].path.name}")
            continue
        modules[m.id] = m
    for m in modules.values():
        for pre in m.prerequisites:
            if pre not in modules:
                problems.append(f"{m.path}/module.yaml: prerequisites: unknown module {pre!r}")
            elif pre >= m.id:
                problems.append(
                    f"{m.path}/module.yaml: prerequisites: {pre!r} is not an earlier module"
                )
    if problems:
        raise CourseError(problems)
    return Course(root, dict(sorted(modules.items())))


__all__.append("normalize_id")
