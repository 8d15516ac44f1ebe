"""``tito checkpoint``: the 16 capability checkpoints.

``tito checkpoint status [--detailed] [--json]``
    Each checkpoint's question and state: passed (recorded in the workspace's progress),
    pending, or unavailable (a package it needs is not installed).
``tito checkpoint timeline [--horizontal] [--json]``
    The checkpoints as a path, with the modules that unlock them.
``tito checkpoint test NN [--json]``
    Run checkpoint NN against the installed code; in a workspace, a pass is recorded.
"""

from __future__ import annotations

import argparse
from typing import Any

NAME = "checkpoint"
HELP = "the 16 capability checkpoints: status, timeline, test"
ORDER = 30


def register(subparsers: Any) -> None:
    """Add ``tito checkpoint`` and its subcommands."""
    from tito.commands._common import add_common

    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(group_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("status", help="which checkpoints you have passed")
    p.add_argument(
        "--detailed",
        action="store_true",
        help="also show each checkpoint's file, module and requirements",
    )
    add_common(p)
    p.set_defaults(handler=cmd_status)
    p = sub.add_parser("timeline", help="the checkpoints as a path")
    p.add_argument("--horizontal", action="store_true", help="one line instead of a column")
    add_common(p)
    p.set_defaults(handler=cmd_timeline)
    p = sub.add_parser("test", help="run one checkpoint against the installed code")
    p.add_argument("checkpoint", metavar="NN")
    add_common(p)
    p.set_defaults(handler=cmd_test)


def _rows(ctx) -> list[dict[str, Any]]:
    from tito.checkpoints import discover_checkpoints, installed_distributions

    progress = ctx.progress()
    have = installed_distributions(ctx.python)
    unlock = ctx.course.checkpoint_module()
    rows = []
    for cid, cp in discover_checkpoints(ctx.checkpoints_dir()).items():
        missing = [r for r in cp.requires if r.lower() not in have]
        if cid in progress["checkpoints"]:
            state = "passed"
        elif missing:
            state = f"unavailable: needs {', '.join(missing)}"
        else:
            state = "pending"
        rows.append(
            {
                **cp.to_dict(),
                "module": unlock.get(cid),
                "status": state,
                "at": progress["checkpoints"].get(cid, {}).get("at"),
            }
        )
    return rows


def _mark(status: str) -> str:
    if status == "passed":
        return "[green]passed[/green]"
    if status.startswith("unavailable"):
        return f"[dim]{status}[/dim]"
    return "[yellow]pending[/yellow]"


def cmd_status(args: argparse.Namespace) -> int:
    """Handler of ``tito checkpoint status``."""
    from rich.table import Table

    from tito.commands._common import CommandError, context, fail
    from tito.console import make_console, print_json

    try:
        ctx = context(args)
    except CommandError as exc:
        return fail(str(exc))
    rows = _rows(ctx)
    passed = sum(r["status"] == "passed" for r in rows)
    if args.json:
        print_json(
            {"passed": passed, "total": len(rows), "checkpoints": rows, "warnings": ctx.warnings}
        )
        return 0
    console = make_console()
    for w in ctx.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {w}", soft_wrap=True)
    table = Table(
        title=f"Capability checkpoints: {passed}/{len(rows)} passed", title_justify="left"
    )
    table.add_column("id")
    table.add_column("checkpoint")
    table.add_column("question")
    table.add_column("status")
    if args.detailed:
        table.add_column("module")
        table.add_column("needs")
        table.add_column("file / passed at")
    for r in rows:
        cells = [r["id"], r["name"], r["question"], _mark(r["status"])]
        if args.detailed:
            cells += [r["module"] or "-", ", ".join(r["requires"]) or "-", r["at"] or r["file"]]
        table.add_row(*cells)
    console.print(table)
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    """Handler of ``tito checkpoint timeline``."""
    from tito.commands._common import CommandError, context, fail
    from tito.console import make_console, print_json

    try:
        ctx = context(args)
    except CommandError as exc:
        return fail(str(exc))
    rows = _rows(ctx)
    if args.json:
        print_json(
            {"timeline": [{k: r[k] for k in ("id", "name", "module", "status")} for r in rows]}
        )
        return 0
    console = make_console()
    sym = {"passed": "[green]●[/green]", "pending": "[yellow]○[/yellow]"}
    if args.horizontal:
        parts = [f"{sym.get(r['status'], '[dim]·[/dim]')} {r['id']}" for r in rows]
        console.print(" ── ".join(parts), soft_wrap=True)
        console.print(
            "[green]●[/green] passed  [yellow]○[/yellow] pending  [dim]·[/dim] unavailable"
        )
        return 0
    for i, r in enumerate(rows):
        unlock = f"module {r['module']}" if r["module"] else "no module yet"
        console.print(
            f"{sym.get(r['status'], '[dim]·[/dim]')} {r['id']} {r['name']:<16} "
            f"{r['question']}  [dim]({unlock})[/dim]"
        )
        if i < len(rows) - 1:
            console.print("│")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """Handler of ``tito checkpoint test NN``."""
    from tito.commands._common import CommandError, context, fail, run_checkpoint
    from tito.console import make_console, print_json
    from tito.course import normalize_id

    console = make_console(stderr=args.json)
    try:
        ctx = context(args)
        cid = normalize_id(args.checkpoint)
        module_id = ctx.course.checkpoint_module().get(cid)
        backend = ctx.course.modules[module_id].backend if module_id else None
        cp, result, unavailable = run_checkpoint(ctx, cid, backend)
    except CommandError as exc:
        return fail(str(exc))
    if unavailable:
        if args.json:
            print_json({"checkpoint": cid, "status": unavailable})
        console.print(f"checkpoint {cid} ({cp.name}): [dim]{unavailable}[/dim]")
        return 1
    if result.ok and ctx.workspace is not None:
        ctx.store().record_checkpoint(cid)
    if args.json:
        print_json({"checkpoint": cid, "question": cp.question, "result": result.to_dict()})
        return 0 if result.ok else 1
    from tito.commands.module import _print_result

    console.print(f'[bold]checkpoint {cid} {cp.name}[/bold]: "{cp.question}"')
    _print_result(console, result)
    return 0 if result.ok else 1
