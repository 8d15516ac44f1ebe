"""``tito grade SUBMISSIONS...``: autograde student workspaces (for instructors).

Runs each graded module's visible tests (from the repository) and the instructor's hidden
tests (``--hidden DIR``: ``DIR/NN_name/test_*.py``) against each submission's code, each run a
subprocess with a time limit, a per-test time limit and a memory limit; writes
``gradebook.csv``, ``gradebook.json`` and ``feedback/<student>.md`` into ``--out``, and checks
the reflection answers' word counts (``course/NN_name/reflection.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

NAME = "grade"
HELP = "autograde student workspaces: visible + hidden tests, gradebook, feedback"
ORDER = 50


def register(subparsers: Any) -> None:
    """Add ``tito grade``."""
    p = subparsers.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument(
        "submissions", metavar="SUBMISSION", nargs="+", help="student workspace directories"
    )
    p.add_argument(
        "--modules",
        metavar="NN,NN",
        help="modules to grade (default: every module with tasks and tests)",
    )
    p.add_argument("--hidden", metavar="DIR", help="the instructor's hidden tests")
    p.add_argument("--source", metavar="REPO", help="the repository (visible tests, course)")
    p.add_argument(
        "--python",
        metavar="PY",
        default=sys.executable,
        help="interpreter to grade with (default: this one)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=300,
        metavar="S",
        help="time limit of each test run in seconds (default 300)",
    )
    p.add_argument(
        "--test-timeout",
        type=float,
        default=30,
        metavar="S",
        help="time limit of each single test (default 30)",
    )
    p.add_argument(
        "--memory",
        type=int,
        default=4096,
        metavar="MB",
        help="memory (address space) limit of each run in MB (default 4096; 0: none)",
    )
    p.add_argument("--out", metavar="DIR", default="grades", help="output directory")
    p.add_argument("--json", action="store_true", help="print the gradebook as JSON")
    p.set_defaults(handler=cmd_grade)


def cmd_grade(args: argparse.Namespace) -> int:
    """Handler of ``tito grade``."""
    from rich.table import Table

    from tito.commands._common import fail
    from tito.console import make_console, print_json
    from tito.course import CourseError, load_course, normalize_id
    from tito.grading import GradeOptions, grade_submissions
    from tito.workspace import WorkspaceError, find_source

    console = make_console(stderr=args.json)
    try:
        source = find_source(args.source)
        course = load_course(source / "course")
    except (WorkspaceError, CourseError) as exc:
        return fail(str(exc))
    if args.modules:
        modules = [normalize_id(m) for m in args.modules.split(",") if m.strip()]
        unknown = [m for m in modules if m not in course.modules]
        if unknown:
            return fail(f"unknown module(s): {', '.join(unknown)}")
    else:
        modules = [m.id for m in course.modules.values() if m.tasks and (m.path / m.tests).is_dir()]
    subs = [Path(s) for s in args.submissions]
    missing = [str(s) for s in subs if not s.is_dir()]
    if missing:
        return fail(f"not a directory: {', '.join(missing)}")
    opts = GradeOptions(
        python=args.python,
        source=source,
        course=course,
        modules=modules,
        hidden=Path(args.hidden).resolve() if args.hidden else None,
        timeout=args.timeout,
        test_timeout=args.test_timeout,
        memory_mb=args.memory or None,
    )
    out = Path(args.out)
    grades = grade_submissions(opts, subs, out, log=lambda s: console.print(f"  {s}"))
    if args.json:
        print_json({"out": str(out), "students": [g.to_dict() for g in grades]})
        return 0
    table = Table(title=f"Gradebook ({out / 'gradebook.csv'})", title_justify="left")
    table.add_column("student")
    for m in modules:
        table.add_column(f"module {m}", justify="right")
    table.add_column("total", justify="right")
    table.add_column("reflections")
    for g in grades:
        ok = sum(r["status"] == "ok" for r in g.reflections)
        table.add_row(
            g.student,
            *[f"{g.modules[m].score:.1f}" for m in modules],
            f"{g.total:.1f}",
            f"{ok}/{len(g.reflections)}",
        )
    console.print(table)
    console.print(f"feedback: {out / 'feedback'}")
    return 0
