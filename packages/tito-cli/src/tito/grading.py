"""``tito grade``: run the visible and the hidden tests against each student's workspace.

For each submission (a workspace directory, with or without its ``.venv``) and each graded
module, two runs: the module's *visible* tests (taken from the instructor's repository, never
from the submission, which a student could have edited) and the instructor's *hidden* tests
(``HIDDEN/NN_name/`` or ``HIDDEN/NN/``). Each run is a subprocess with a time limit (the whole
run is killed when it passes), a per-test time limit (a looping test fails, the others still
run) and a memory limit (``resource.setrlimit``).

The student's code is what runs: the grading interpreter (the instructor's, with the reference
packages installed) gets an *overlay* on ``sys.path`` made of the submission's
``packages/*/src/tinytorch/*`` trees, with the editable-install finders of the reference
removed; the compiled C++ extension is the reference build's (C++ tasks are graded through
``--python`` pointing at an interpreter where the student's build is installed).

Outputs (in ``--out``): ``gradebook.csv``, ``gradebook.json``, ``feedback/<student>.md``.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tito.course import Course, Module
from tito.runner import RunResult, TestCase, clean_env, run_pytest

__all__ = [
    "GradeOptions",
    "ModuleGrade",
    "StudentGrade",
    "grade_submissions",
    "check_reflections",
    "count_words",
]

SITECUSTOMIZE = '''\
"""tito grade: load the student's tinytorch from this directory, not the reference."""
import sys

def _editable(finder):
    name = (type(finder).__module__ + "." + type(finder).__name__).lower()
    return "editable" in name or "scikit" in name or "skbuild" in name

sys.meta_path[:] = [f for f in sys.meta_path if not _editable(f)]
for _k in [k for k in sys.modules if k == "tinytorch" or k.startswith("tinytorch.")]:
    del sys.modules[_k]
'''


@dataclass
class GradeOptions:
    """How to grade: the interpreter, the limits, the modules, the hidden tests."""

    python: str
    source: Path
    course: Course
    modules: list[str]
    hidden: Path | None = None
    timeout: float = 300.0
    test_timeout: float = 30.0
    memory_mb: int | None = 4096


@dataclass
class ModuleGrade:
    """One module's results for one student."""

    module: str
    visible: RunResult | None = None
    hidden: RunResult | None = None

    def counts(self) -> tuple[int, int]:
        """(passed, total) over visible and hidden tests."""
        p = t = 0
        for r in (self.visible, self.hidden):
            if r is not None:
                p += r.passed
                t += max(r.total, 1) if r.timed_out and r.total == 0 else r.total
        return p, t

    @property
    def score(self) -> float:
        """Percent of tests passed (0 when nothing ran)."""
        p, t = self.counts()
        return round(100.0 * p / t, 1) if t else 0.0


@dataclass
class StudentGrade:
    """One submission's grade."""

    student: str
    path: str
    modules: dict[str, ModuleGrade] = field(default_factory=dict)
    reflections: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Percent of all tests passed."""
        p = sum(m.counts()[0] for m in self.modules.values())
        t = sum(m.counts()[1] for m in self.modules.values())
        return round(100.0 * p / t, 1) if t else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "student": self.student,
            "path": self.path,
            "total": self.total,
            "modules": {
                mid: {
                    "score": m.score,
                    "passed": m.counts()[0],
                    "tests": m.counts()[1],
                    "visible": m.visible.to_dict() if m.visible else None,
                    "hidden": m.hidden.to_dict() if m.hidden else None,
                }
                for mid, m in self.modules.items()
            },
            "reflections": self.reflections,
            "problems": self.problems,
        }


def count_words(text: str) -> int:
    """Words in ``text`` (markdown markup ignored)."""
    return len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’_-]*", text))


def check_reflections(submission: Path, module: Module) -> list[dict[str, Any]]:
    """Each reflection answer's word count against its range.

    Answers live in ``course/NN_name/reflection.md``, one ``## <id>`` heading per question.
    """
    path = submission / "course" / module.dirname / "reflection.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    sections: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^##\s+(\S+)", line)
        if m:
            current = m.group(1).rstrip(":.").lower()
            sections[current] = ""
        elif current is not None and not line.lstrip().startswith("<!--"):
            sections[current] += line + "\n"
    out = []
    for q in module.reflection:
        lo, hi = q.words
        answer = sections.get(q.id.lower())
        n = count_words(answer) if answer is not None else 0
        status = (
            "missing"
            if not answer or n == 0
            else "too short"
            if n < lo
            else "too long"
            if n > hi
            else "ok"
        )
        out.append(
            {"module": module.id, "id": q.id, "words": n, "range": [lo, hi], "status": status}
        )
    return out


def _reference_extension(python: str) -> Path | None:
    code = "import tinytorch.tensor._C as c; print(c.__file__)"
    try:
        proc = subprocess.run(
            [python, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=clean_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    p = Path(proc.stdout.strip()) if proc.returncode == 0 else None
    return p if p and p.is_file() else None


def make_overlay(submission: Path, dest: Path, extension: Path | None) -> list[str]:
    """Copy the submission's ``tinytorch`` trees into ``dest`` (+ the grading hooks); return
    problems found (missing packages)."""
    from tito import grade_plugin

    problems = []
    ns = dest / "tinytorch"
    ns.mkdir(parents=True, exist_ok=True)
    pkgs = submission / "packages"
    if not pkgs.is_dir():
        problems.append("no packages/ directory in the submission")
    for src in sorted(pkgs.glob("*/src/tinytorch")) if pkgs.is_dir() else []:
        for sub in src.iterdir():
            if sub.is_dir():
                shutil.copytree(
                    sub,
                    ns / sub.name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"),
                )
    if (ns / "__init__.py").exists():
        (ns / "__init__.py").unlink()
        problems.append("the submission had a tinytorch/__init__.py (removed for grading)")
    if extension is not None and (ns / "tensor").is_dir():
        shutil.copy2(extension, ns / "tensor" / extension.name)
    (dest / "sitecustomize.py").write_text(SITECUSTOMIZE)
    shutil.copy2(grade_plugin.__file__, dest / "tito_grade_plugin.py")
    return problems


def _hidden_dir(hidden: Path | None, module: Module) -> Path | None:
    if hidden is None:
        return None
    for name in (module.dirname, module.id):
        if (hidden / name).is_dir():
            return hidden / name
    return None


def _graded_run(
    opts: GradeOptions, overlay: Path, tests: Path, module: Module, tmp: Path, tag: str
) -> RunResult:
    results = tmp / f"{module.id}-{tag}.jsonl"
    env = clean_env(
        module.backend,
        {
            "PYTHONPATH": str(overlay),
            "TITO_GRADE_RESULTS": str(results),
            "TITO_TEST_TIMEOUT": str(int(opts.test_timeout)),
        },
    )
    res = run_pytest(
        opts.python,
        [tests],
        cwd=tmp,
        env=env,
        timeout=opts.timeout,
        memory_mb=opts.memory_mb,
        extra_args=["-p", "tito_grade_plugin"],
    )
    if res.timed_out or not res.cases:
        # the JUnit report is not written when the run is killed: use the live results
        res.cases, res.passed, res.failed, res.errors, res.skipped = [], 0, 0, 0, 0
        if results.is_file():
            for line in results.read_text().splitlines():
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                res.cases.append(TestCase(d["name"], d["outcome"], d.get("message", "")))
                attr = {"passed": "passed", "failed": "failed", "error": "errors"}.get(
                    d["outcome"], "skipped"
                )
                setattr(res, attr, getattr(res, attr) + 1)
        if res.timed_out:
            res.cases.append(
                TestCase(
                    f"{module.dirname} ({tag})",
                    "error",
                    f"run killed after its time limit of {opts.timeout:g}s",
                )
            )
            res.errors += 1
        elif res.total == 0 and res.returncode != 0:
            res.cases.append(
                TestCase(
                    f"{module.dirname} ({tag})",
                    "error",
                    f"pytest exited with {res.returncode} before any test ran (see the output)",
                )
            )
            res.errors += 1
    return res


def grade_submission(opts: GradeOptions, submission: Path, extension: Path | None) -> StudentGrade:
    """Grade one workspace directory."""
    grade = StudentGrade(submission.name, str(submission))
    with tempfile.TemporaryDirectory(prefix=f"tito-grade-{submission.name}-") as t:
        tmp = Path(t)
        overlay = tmp / "overlay"
        grade.problems += make_overlay(submission, overlay, extension)
        for mid in opts.modules:
            module = opts.course.modules[mid]
            mg = ModuleGrade(mid)
            visible = opts.source / "course" / module.dirname / module.tests
            if visible.is_dir():
                mg.visible = _graded_run(opts, overlay, visible, module, tmp, "visible")
            hidden = _hidden_dir(opts.hidden, module)
            if hidden is not None:
                mg.hidden = _graded_run(opts, overlay, hidden, module, tmp, "hidden")
            grade.modules[mid] = mg
            grade.reflections += check_reflections(submission, module)
    return grade


def feedback_markdown(grade: StudentGrade, opts: GradeOptions) -> str:
    """The per-student feedback file."""
    lines = [f"# Feedback: {grade.student}", "", f"**Total: {grade.total:.1f}%**", ""]
    for p in grade.problems:
        lines.append(f"- Note: {p}")
    for mid, mg in grade.modules.items():
        m = opts.course.modules[mid]
        passed, total = mg.counts()
        lines += [
            "",
            f"## Module {mid}: {m.title}",
            "",
            f"Score: {mg.score:.1f}% ({passed}/{total} tests)",
            "",
        ]
        for tag, r in (("visible", mg.visible), ("hidden", mg.hidden)):
            if r is None:
                continue
            lines.append(
                f"- {tag} tests: {r.passed}/{r.total} passed"
                + (f" (the run was stopped after {opts.timeout:g}s)" if r.timed_out else "")
            )
            for c in r.cases:
                if c.outcome in ("failed", "error"):
                    name = c.name if tag == "visible" else "a hidden test"
                    lines.append(f"    - {c.outcome}: `{name}`: {c.message}")
    if grade.reflections:
        lines += ["", "## Reflections", ""]
        for r in grade.reflections:
            lines.append(
                f"- module {r['module']} {r['id']}: {r['words']} words "
                f"(asked {r['range'][0]}-{r['range'][1]}): {r['status']}"
            )
    return "\n".join(lines) + "\n"


def grade_submissions(
    opts: GradeOptions, submissions: list[Path], out: Path, log=lambda s: None
) -> list[StudentGrade]:
    """Grade every submission; write the gradebook and the feedback into ``out``."""
    extension = _reference_extension(opts.python)
    grades = []
    for sub in submissions:
        log(f"grading {sub.name}")
        grades.append(grade_submission(opts, Path(sub).resolve(), extension))
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "student",
                *[f"module_{m}" for m in opts.modules],
                "total",
                "reflections_ok",
                "timed_out",
            ]
        )
        for g in grades:
            ok = sum(r["status"] == "ok" for r in g.reflections)
            timed = any(
                r is not None and r.timed_out
                for m in g.modules.values()
                for r in (m.visible, m.hidden)
            )
            w.writerow(
                [
                    g.student,
                    *[f"{g.modules[m].score:.1f}" for m in opts.modules],
                    f"{g.total:.1f}",
                    f"{ok}/{len(g.reflections)}",
                    int(timed),
                ]
            )
    data = {
        "modules": opts.modules,
        "timeout_s": opts.timeout,
        "test_timeout_s": opts.test_timeout,
        "memory_mb": opts.memory_mb,
        "students": [g.to_dict() for g in grades],
    }
    (out / "gradebook.json").write_text(json.dumps(data, indent=2) + "\n")
    for g in grades:
        (out / "feedback" / f"{g.student}.md").write_text(feedback_markdown(g, opts))
    return grades
