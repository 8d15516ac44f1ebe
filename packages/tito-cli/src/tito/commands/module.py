"""``tito module``: the course modules, their tests, and completing them.

``tito module list [--json]``
    Every module: id, title, packages, tasks, prerequisites, time, difficulty, status.
``tito module status [--json]``
    Progress: complete, ready (prerequisites complete) or locked.
``tito module test NN [--json]``
    Run module NN's tests against the installed code (the workspace's, or the reference).
``tito module complete NN [--json]``
    Refuse if a prerequisite is not complete or a task still holds its stub; otherwise make
    the installed code current (export), run the module's tests, then its checkpoints, and
    record progress only if everything passed.
"""

from __future__ import annotations

import argparse
from typing import Any

NAME = "module"
HELP = "list, test and complete course modules"
ORDER = 20


def register(subparsers: Any) -> None:
    """Add ``tito module`` and its subcommands."""
    from tito.commands._common import add_common

    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(group_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("list", help="list the course modules")
    add_common(p)
    p.set_defaults(handler=cmd_list)
    p = sub.add_parser("status", help="show your progress through the modules")
    add_common(p)
    p.set_defaults(handler=cmd_status)
    p = sub.add_parser("test", help="run a module's tests against the installed code")
    p.add_argument("module", metavar="NN")
    add_common(p)
    p.set_defaults(handler=cmd_test)
    p = sub.add_parser("complete", help="test a module and its checkpoints; record progress")
    p.add_argument("module", metavar="NN")
    add_common(p)
    p.set_defaults(handler=cmd_complete)


def _status_of(ctx, progress: dict, module) -> str:
    if module.id in progress["modules"]:
        return "complete"
    missing = [p for p in module.prerequisites if not _prereq_done(ctx, progress, p)]
    return "locked" if missing else "ready"


def _prereq_done(ctx, progress: dict, module_id: str) -> bool:
    """Complete, or a module with no tasks (there is nothing to build in it)."""
    if module_id in progress["modules"]:
        return True
    m = ctx.course.modules.get(module_id)
    return m is not None and not m.tasks


def _warn(console, ctx) -> None:
    for w in ctx.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {w}", soft_wrap=True)


def cmd_list(args: argparse.Namespace) -> int:
    """Handler of ``tito module list``."""
    from rich.table import Table

    from tito.commands._common import CommandError, context, fail
    from tito.console import make_console, print_json

    try:
        ctx = context(args)
    except CommandError as exc:
        return fail(str(exc))
    progress = ctx.progress()
    rows = [
        {**m.to_dict(), "status": _status_of(ctx, progress, m)} for m in ctx.course.modules.values()
    ]
    if args.json:
        print_json({"modules": rows, "warnings": ctx.warnings})
        return 0
    console = make_console()
    _warn(console, ctx)
    table = Table(title="TinyTorch course modules", title_justify="left")
    for col in ("id", "title", "package", "tasks", "needs", "hours", "level", "status"):
        table.add_column(col)
    style = {"complete": "green", "ready": "cyan", "locked": "dim"}
    for m, row in zip(ctx.course.modules.values(), rows, strict=True):
        table.add_row(
            m.id,
            m.title,
            ", ".join(m.packages),
            str(len(m.tasks)),
            ", ".join(m.prerequisites) or "-",
            f"{m.time_estimate_hours:g}",
            "*" * m.difficulty,
            f"[{style[row['status']]}]{row['status']}[/{style[row['status']]}]",
        )
    console.print(table)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Handler of ``tito module status``."""
    from tito.commands._common import CommandError, context, fail
    from tito.console import make_console, print_json

    try:
        ctx = context(args)
    except CommandError as exc:
        return fail(str(exc))
    progress = ctx.progress()
    mods = {
        m.id: {
            "title": m.title,
            "status": _status_of(ctx, progress, m),
            **(
                {"completed_at": progress["modules"][m.id]["completed_at"]}
                if m.id in progress["modules"]
                else {}
            ),
        }
        for m in ctx.course.modules.values()
    }
    done = sum(1 for v in mods.values() if v["status"] == "complete")
    if args.json:
        print_json(
            {
                "workspace": str(ctx.workspace.root) if ctx.workspace else None,
                "complete": done,
                "total": len(mods),
                "modules": mods,
                "warnings": ctx.warnings,
            }
        )
        return 0
    console = make_console()
    _warn(console, ctx)
    if ctx.workspace is None:
        console.print("[yellow]not in a workspace: no progress to show[/yellow]")
    console.print(f"[bold]{done}/{len(mods)} modules complete[/bold]")
    marks = {
        "complete": "[green]done [/green]",
        "ready": "[cyan]ready[/cyan]",
        "locked": "[dim]locked[/dim]",
    }
    for mid, v in mods.items():
        console.print(f"  {marks[v['status']]}  {mid}  {v['title']}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """Handler of ``tito module test NN`` (and ``tito test NN``)."""
    from tito.commands._common import CommandError, context, export_module, fail
    from tito.commands._common import run_module_tests as run
    from tito.console import make_console, print_json

    console = make_console(stderr=args.json)
    try:
        ctx = context(args)
        module = ctx.course.get(args.module)
        export_module(ctx, module, lambda s: console.print(f"  {s}"))
    except (CommandError, KeyError) as exc:
        return fail(str(exc).strip("'\""))
    console.print(
        f"[bold]module {module.id} ({module.name})[/bold]: tests against "
        f"{ctx.python} (TINYTORCH_BACKEND={module.backend})"
    )
    result = run(ctx, module)
    if args.json:
        print_json({"module": module.id, "result": result.to_dict() if result else None})
        return 0 if result is None or result.ok else 1
    if result is None:
        console.print("  this module has no tests")
        return 0
    _print_result(console, result)
    return 0 if result.ok else 1


def _print_result(console, result) -> None:
    style = "green" if result.ok else "red"
    console.print(f"  [{style}]{result.summary()}[/{style}] in {result.duration:.1f}s")
    for case in result.cases:
        if case.outcome in ("failed", "error"):
            console.print(
                f"    [red]{case.outcome}[/red] {case.name}: {case.message}", soft_wrap=True
            )
    if not result.cases and not result.ok:
        console.print(result.output[-3000:], markup=False, soft_wrap=True)


def cmd_complete(args: argparse.Namespace) -> int:
    """Handler of ``tito module complete NN``."""
    from tito.commands._common import (
        CommandError,
        context,
        export_module,
        fail,
        run_checkpoint,
        run_module_tests,
        unfinished_tasks,
    )
    from tito.console import make_console, print_json

    console = make_console(stderr=args.json)
    out: dict[str, Any] = {"module": None, "complete": False}
    try:
        ctx = context(args, need_workspace=True)
        module = ctx.course.get(args.module)
    except (CommandError, KeyError) as exc:
        return fail(str(exc).strip("'\""))
    out["module"] = module.id
    progress = ctx.progress()
    for w in ctx.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {w}", soft_wrap=True)

    def refuse(reason: str) -> int:
        out["reason"] = reason
        if args.json:
            print_json(out)
        return fail(reason)

    missing = [p for p in module.prerequisites if not _prereq_done(ctx, progress, p)]
    if missing:
        names = ", ".join(f"{p} ({ctx.course.modules[p].name})" for p in missing)
        return refuse(
            f"module {module.id} needs module(s) {names} complete first: run "
            + " then ".join(f"`tito module complete {p}`" for p in missing)
        )
    from tito.checkpoints import installed_distributions

    have = installed_distributions(ctx.python)
    absent = [p for p in module.packages if p.lower() not in have]
    if absent:
        return refuse(
            f"module {module.id} needs {', '.join(absent)}, which is not installed "
            f"for {ctx.python} (its tasks come with that package)"
        )
    unfinished = unfinished_tasks(ctx, module)
    if unfinished:
        return refuse(
            f"module {module.id} is not finished: these regions still hold their "
            "stub: " + "; ".join(unfinished)
        )
    console.print(f"[bold]tito module complete {module.id}[/bold] ({module.title})")
    try:
        export_module(ctx, module, lambda s: console.print(f"  export: {s}"))
    except Exception as exc:  # a failed rebuild of the student's C++ is the student's error
        return refuse(f"export (installing your code) failed: {exc}")
    result = run_module_tests(ctx, module)
    if result is None and module.tasks:
        return refuse(
            f"module {module.id} has tasks but no tests directory "
            f"({module.tests}); ask your instructor"
        )
    if result is not None:
        console.print(f"  module tests (TINYTORCH_BACKEND={module.backend}):")
        _print_result(console, result)
        out["tests"] = result.to_dict()
        if not result.ok:
            return refuse(f"module {module.id}'s tests did not all pass; progress not recorded")
    out["checkpoints"] = {}
    for cid in module.checkpoints:
        cp, cres, unavailable = run_checkpoint(ctx, cid, module.backend)
        if unavailable:
            out["checkpoints"][cid] = {"status": unavailable}
            return refuse(f"checkpoint {cid} ({cp.name}) is {unavailable}; progress not recorded")
        console.print(f'  checkpoint {cid} {cp.name}: "{cp.question}"')
        _print_result(console, cres)
        out["checkpoints"][cid] = cres.to_dict()
        if not cres.ok:
            return refuse(f"checkpoint {cid} ({cp.name}) did not pass; progress not recorded")
    store = ctx.store()
    store.record_module(module.id, result.passed if result else 0, result.failed if result else 0)
    for cid in module.checkpoints:
        store.record_checkpoint(cid)
    out["complete"] = True
    if args.json:
        print_json(out)
        return 0
    console.print(
        f"[bold green]module {module.id} complete[/bold green]"
        + (f"; checkpoint(s) {', '.join(module.checkpoints)} passed" if module.checkpoints else "")
    )
    return 0
