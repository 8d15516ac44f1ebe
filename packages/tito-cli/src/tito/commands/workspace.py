"""``tito workspace``: make a student workspace, and update it with new course content.

``tito workspace init DIR [--source REPO] [--python PY | --no-install]``
    Copy the packages (solution regions stubbed), the course and the checkpoints into DIR,
    write DIR/.tito/, and install the packages editable into DIR/.venv (default), into the
    environment of ``--python PY``, or nowhere (``--no-install`` / ``--no-venv``).
``tito workspace update [--source REPO] [--dry-run] [--json]``
    Merge the repository's current content in, keeping the student's implementations.
``tito workspace info [--json]``
    Where the workspace came from and what it is installed into.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "workspace"
HELP = "make and update a student workspace"
ORDER = 10


def register(subparsers: Any) -> None:
    """Add ``tito workspace`` and its subcommands."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(group_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = sub.add_parser("init", help="make a student workspace in DIR")
    init.add_argument("dir", metavar="DIR")
    init.add_argument(
        "--source",
        metavar="REPO",
        help="the TinyTorch repository (default: "
        "found from the current directory or tito's install)",
    )
    how = init.add_mutually_exclusive_group()
    how.add_argument(
        "--python",
        metavar="PY",
        help="install into this interpreter's environment instead of making DIR/.venv",
    )
    how.add_argument(
        "--no-install",
        "--no-venv",
        dest="no_install",
        action="store_true",
        help="copy and stub only; install nothing",
    )
    init.add_argument("--json", action="store_true", help="print JSON")
    init.set_defaults(handler=cmd_init)

    update = sub.add_parser("update", help="bring in new course content, keeping your work")
    update.add_argument(
        "--workspace",
        metavar="DIR",
        help="the workspace (default: found from the current directory up)",
    )
    update.add_argument(
        "--source",
        metavar="REPO",
        help="the repository to update from (default: the one the workspace was made from)",
    )
    update.add_argument("--dry-run", action="store_true", help="report only; change nothing")
    update.add_argument("--json", action="store_true", help="print JSON")
    update.set_defaults(handler=cmd_update)

    info = sub.add_parser("info", help="show where this workspace came from")
    info.add_argument("--workspace", metavar="DIR")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=cmd_info)


def cmd_init(args: argparse.Namespace) -> int:
    """Handler of ``tito workspace init``."""
    from tito.commands._common import fail
    from tito.console import make_console, print_json
    from tito.course import CourseError
    from tito.regions import RegionError
    from tito.workspace import WorkspaceError, find_source, init_workspace

    console = make_console(stderr=args.json)
    try:
        source = find_source(args.source)
        install = "none" if args.no_install else ("python" if args.python else "venv")
        console.print(f"[bold]tito workspace init[/bold] {args.dir} (from {source})")
        ws = init_workspace(
            Path(args.dir),
            source,
            install=install,
            python=args.python,
            log=lambda s: console.print(f"  {s}"),
        )
    except (WorkspaceError, CourseError, RegionError) as exc:
        return fail(str(exc))
    meta = ws.meta()
    if args.json:
        print_json({"workspace": str(ws.root), **meta})
        return 0
    console.print(f"[bold green]Workspace ready:[/bold green] {ws.root}")
    if meta.get("python"):
        console.print(f"  packages installed editable for {meta['python']}")
        if str(meta["python"]).startswith(str(ws.root)):
            console.print(f"  activate it: [cyan]source {ws.root}/.venv/bin/activate[/cyan]")
    console.print(
        "  next: [cyan]tito module list[/cyan], then implement module 01's tasks "
        "and run [cyan]tito module complete 01[/cyan]"
    )
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    """Handler of ``tito workspace update``."""
    from tito.commands._common import fail
    from tito.console import make_console, print_json
    from tito.course import CourseError
    from tito.regions import RegionError
    from tito.workspace import WorkspaceError, find_source, find_workspace, update_workspace

    try:
        ws = find_workspace(args.workspace)
        if ws is None:
            return fail("not inside a tito workspace (pass --workspace DIR)")
        source = find_source(args.source or ws.meta().get("source"))
        report = update_workspace(ws, source, dry_run=args.dry_run)
    except (WorkspaceError, CourseError, RegionError) as exc:
        return fail(str(exc))
    if args.json:
        print_json(report.to_dict())
        return 0
    console = make_console()
    verb = "would be " if report.dry_run else ""
    console.print(f"[bold]tito workspace update[/bold] {ws.root} from {source}")
    for label, items, style in (
        ("added", report.added, "green"),
        ("updated", report.updated, "cyan"),
        ("merged (your work kept)", report.merged, "cyan"),
        ("removed", report.removed, "yellow"),
        ("kept as yours", report.kept, "dim"),
    ):
        if items:
            console.print(
                f"  [{style}]{len(items)} {verb}{label}[/{style}]: "
                + ", ".join(items[:8])
                + (" ..." if len(items) > 8 else "")
            )
    if report.backup:
        console.print(f"  backups of every overwritten file: {report.backup}")
    for c in report.conflicts:
        console.print(f"  [bold yellow]conflict:[/bold yellow] {c}", soft_wrap=True)
    if not any((report.added, report.updated, report.merged, report.removed)):
        console.print("  [green]already up to date[/green]")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Handler of ``tito workspace info``."""
    from tito.commands._common import fail
    from tito.console import make_console, print_json
    from tito.workspace import WorkspaceError, find_workspace

    try:
        ws = find_workspace(args.workspace)
    except WorkspaceError as exc:
        return fail(str(exc))
    if ws is None:
        return fail("not inside a tito workspace (pass --workspace DIR)")
    meta = {"workspace": str(ws.root), **ws.meta()}
    meta.pop("installed", None)
    if args.json:
        print_json(meta)
        return 0
    console = make_console()
    for k, v in meta.items():
        console.print(f"[bold]{k}[/bold]: {v}")
    return 0
