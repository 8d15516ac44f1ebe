"""Shared by the course command groups: where the workspace, course and interpreter are, and
the steps of `module test/complete` and `checkpoint test`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tito.course import Course, CourseError, Module, load_course
from tito.workspace import Workspace, WorkspaceError, find_source, find_workspace

__all__ = [
    "Context",
    "add_common",
    "context",
    "fail",
    "run_module_tests",
    "run_checkpoint",
    "unfinished_tasks",
    "export_module",
]


def add_common(parser: argparse.ArgumentParser, json_flag: bool = True) -> None:
    """``--workspace DIR`` (and ``--json``) on a leaf parser."""
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        help="the workspace (default: found from the current directory up, or TITO_WORKSPACE)",
    )
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON")


@dataclass
class Context:
    """Where a command works: a workspace (or none: the repository's reference code)."""

    workspace: Workspace | None
    course: Course
    root: Path
    python: str
    warnings: list[str]

    def progress(self) -> dict[str, Any]:
        """The workspace's progress (empty without a workspace); problems go to warnings."""
        from tito.progress import SCHEMA, ProgressStore

        if self.workspace is None:
            return {"schema": SCHEMA, "modules": {}, "checkpoints": {}}
        store = ProgressStore(self.workspace.progress_path)
        data = store.load()
        self.warnings.extend(store.warnings)
        return data

    def store(self):
        """The workspace's :class:`~tito.progress.ProgressStore`."""
        from tito.progress import ProgressStore

        assert self.workspace is not None
        return ProgressStore(self.workspace.progress_path)

    def checkpoints_dir(self) -> Path:
        """tests/checkpoints of the workspace or the repository."""
        return self.root / "tests" / "checkpoints"


class CommandError(Exception):
    """A user-facing failure: printed as one red line, exit code 1."""


def fail(message: str) -> int:
    """Print ``message`` as an error and return exit code 1."""
    from tito.console import make_console

    make_console(stderr=True).print(f"[bold red]error:[/bold red] {message}", soft_wrap=True)
    return 1


def context(args: argparse.Namespace, need_workspace: bool = False) -> Context:
    """Resolve the workspace, the course and the interpreter for ``args``."""
    try:
        ws = find_workspace(getattr(args, "workspace", None))
    except WorkspaceError as exc:
        raise CommandError(str(exc)) from exc
    if ws is None and need_workspace:
        raise CommandError(
            "not inside a tito workspace: make one with `tito workspace init DIR`"
            ", then run this there (or pass --workspace DIR)"
        )
    try:
        root = ws.root if ws else find_source(getattr(args, "source", None))
        course = load_course(root / "course")
    except (WorkspaceError, CourseError) as exc:
        raise CommandError(str(exc)) from exc
    python = str(ws.python()) if ws and ws.python() else sys.executable
    if ws and ws.python() is None:
        python = sys.executable
    return Context(ws, course, root, python, [])


def unfinished_tasks(ctx: Context, module: Module) -> list[str]:
    """``file:line task`` for each region of ``module`` still holding its pristine stub."""
    from tito.regions import parse

    if ctx.workspace is None:
        return []
    out = []
    base = ctx.workspace.base
    files = sorted({f for t in module.tasks for f in t.files})
    for rel in files:
        mine_p, base_p = ctx.workspace.root / rel, base / rel
        if not mine_p.is_file() or not base_p.is_file():
            continue
        try:
            mine = parse(mine_p.read_text(encoding="utf-8"), rel).keyed()
            pristine = parse(base_p.read_text(encoding="utf-8"), rel).keyed()
        except Exception as exc:  # a RegionError: the student broke a marker
            out.append(f"{rel}: {exc}")
            continue
        for key, region in mine.items():
            if key[0] == module.id and key in pristine and region.body == pristine[key].body:
                out.append(f"{rel}:{region.begin + 2} task {key[1]}")
    return out


def export_module(ctx: Context, module: Module, log) -> None:
    """Make the installed code current (reinstall packages whose C++ or files changed)."""
    from tito.workspace import install_workspace

    ws = ctx.workspace
    if ws is None or not ws.meta().get("python"):
        return
    install_workspace(ws, only_changed=True, log=log)


def run_module_tests(ctx: Context, module: Module, timeout: float = 900):
    """Run ``module``'s tests against the installed code; a :class:`~tito.runner.RunResult`
    (``None`` when the module has no tests directory)."""
    from tito.runner import run_pytest

    tests = ctx.root / "course" / module.dirname / module.tests
    if not tests.is_dir():
        return None
    return run_pytest(ctx.python, [tests], cwd=ctx.root, backend=module.backend, timeout=timeout)


def run_checkpoint(ctx: Context, checkpoint_id: str, backend: str | None, timeout: float = 900):
    """``(checkpoint, result or None, unavailable reason or None)``."""
    from tito.checkpoints import discover_checkpoints, installed_distributions
    from tito.runner import run_pytest

    cps = discover_checkpoints(ctx.checkpoints_dir())
    cp = cps.get(checkpoint_id)
    if cp is None:
        raise CommandError(f"no checkpoint {checkpoint_id} in {ctx.checkpoints_dir()}")
    have = installed_distributions(ctx.python)
    missing = [r for r in cp.requires if r.lower() not in have]
    if missing:
        return cp, None, f"unavailable: needs {', '.join(missing)}"
    result = run_pytest(ctx.python, [cp.path], cwd=ctx.root, backend=backend, timeout=timeout)
    return cp, result, None


__all__.append("CommandError")
