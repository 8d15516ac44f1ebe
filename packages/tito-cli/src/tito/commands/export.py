"""``tito export NN``: the seed's alias. Checks that module NN's tasks are no longer stubs and
makes the installed code current (reinstalls packages whose C++ sources or files changed)."""

from __future__ import annotations

import argparse
from typing import Any

NAME = "export"
HELP = "check module NN's tasks are implemented and install your code (alias)"
ORDER = 40


def register(subparsers: Any) -> None:
    """Add ``tito export NN``."""
    from tito.commands._common import add_common

    p = subparsers.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("module", metavar="NN")
    add_common(p)
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Handler of ``tito export NN``."""
    from tito.commands._common import (
        CommandError,
        context,
        export_module,
        fail,
        unfinished_tasks,
    )
    from tito.console import make_console, print_json

    console = make_console(stderr=args.json)
    try:
        ctx = context(args, need_workspace=True)
        module = ctx.course.get(args.module)
        export_module(ctx, module, lambda s: console.print(f"  {s}"))
    except (CommandError, KeyError) as exc:
        return fail(str(exc).strip("'\""))
    except Exception as exc:  # noqa: BLE001 - a failed build of the student's code
        return fail(f"installing your code failed: {exc}")
    left = unfinished_tasks(ctx, module)
    if args.json:
        print_json({"module": module.id, "installed": True, "unfinished": left})
        return 0
    console.print(
        f"[bold]module {module.id} ({module.name})[/bold]: your code is installed for {ctx.python}"
    )
    if left:
        console.print(f"  [yellow]{len(left)} region(s) still hold their stub:[/yellow]")
        for item in left:
            console.print(f"    {item}")
    else:
        console.print(
            f"  [green]all {len(module.tasks)} task(s) implemented[/green]; next: "
            f"[cyan]tito module complete {module.id}[/cyan]"
        )
    return 0
