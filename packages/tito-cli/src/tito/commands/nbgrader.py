"""``tito nbgrader generate``: nbgrader-compatible notebooks from the course labs.

Each module's lab (``lab:`` in module.yaml, jupytext percent format) becomes
``OUT/<NN_name>/<lab>.ipynb`` with nbgrader cell metadata and the solutions stripped (or kept
with nbgrader's markers: ``--with-solutions``, nbgrader's "source" form), validated with
nbformat (the ``nbgrader`` extra of tito-cli).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "nbgrader"
HELP = "nbgrader notebooks from the labs"
ORDER = 60


def register(subparsers: Any) -> None:
    """Add ``tito nbgrader generate``."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(group_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("generate", help="write one .ipynb per lab")
    p.add_argument("modules", metavar="NN", nargs="*", help="modules (default: all with a lab)")
    p.add_argument("--source", metavar="REPO", help="the repository")
    p.add_argument("--out", metavar="DIR", default="nbgrader/release", help="output directory")
    p.add_argument(
        "--with-solutions",
        action="store_true",
        help="keep the solutions between nbgrader's markers (nbgrader source form)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    """Handler of ``tito nbgrader generate``."""
    from tito.commands._common import fail
    from tito.console import make_console, print_json
    from tito.course import CourseError, load_course, normalize_id
    from tito.nbgen import NbgraderUnavailable, lab_to_notebook, write_notebook
    from tito.regions import RegionError
    from tito.workspace import WorkspaceError, find_source

    try:
        source = find_source(args.source)
        course = load_course(source / "course")
    except (WorkspaceError, CourseError) as exc:
        return fail(str(exc))
    wanted = [normalize_id(m) for m in args.modules] or list(course.modules)
    out = Path(args.out)
    written = []
    for mid in wanted:
        m = course.modules.get(mid)
        if m is None:
            return fail(f"unknown module {mid}")
        if not m.lab or not (m.path / m.lab).is_file():
            continue
        lab = m.path / m.lab
        try:
            nb = lab_to_notebook(
                lab.read_text(encoding="utf-8"), str(lab), m.dirname, solutions=args.with_solutions
            )
            dest = out / m.dirname / (Path(m.lab).stem + ".ipynb")
            write_notebook(nb, dest)
        except (RegionError, NbgraderUnavailable) as exc:
            return fail(str(exc))
        except Exception as exc:  # nbformat.ValidationError
            return fail(f"{lab}: the generated notebook is not valid: {exc}")
        n_sol = sum(1 for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution"))
        n_test = sum(1 for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade"))
        written.append(
            {
                "module": mid,
                "notebook": str(dest),
                "cells": len(nb["cells"]),
                "solution_cells": n_sol,
                "test_cells": n_test,
            }
        )
    if args.json:
        print_json({"out": str(out), "notebooks": written})
        return 0
    console = make_console()
    for w in written:
        console.print(
            f"  {w['notebook']}: {w['cells']} cells, {w['solution_cells']} solution,"
            f" {w['test_cells']} autograded"
        )
    console.print(f"[bold green]{len(written)} notebook(s) written[/bold green] to {out}")
    return 0
