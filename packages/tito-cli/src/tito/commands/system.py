"""``tito system``: what is installed and whether it works.

``tito system info [--json]``
    Python, platform, CPU, numpy and its BLAS, every installed TinyTorch distribution, and what
    the C++ extension reports (ISA, threads, OpenMP, build), plus the active tensor backend.
``tito system doctor [--json]``
    Pass/fail checks, each failure with a concrete fix. Exit code 1 if any check fails.
"""

from __future__ import annotations

import argparse
from typing import Any

NAME = "system"
HELP = "inspect and diagnose this TinyTorch install"
ORDER = 0

STATUS_STYLE = {
    "pass": ("PASS", "bold green"),
    "fail": ("FAIL", "bold red"),
    "warn": ("WARN", "bold yellow"),
    "info": ("INFO", "cyan"),
    "skip": ("SKIP", "dim"),
}


def register(subparsers: Any) -> None:
    """Add ``tito system`` and its subcommands to the top-level parser."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(group_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="show the environment and the TinyTorch install")
    info.add_argument("--json", action="store_true", help="print JSON instead of tables")
    info.set_defaults(handler=cmd_info)

    doctor = sub.add_parser("doctor", help="check the install; exit 1 if a check fails")
    doctor.add_argument("--json", action="store_true", help="print JSON instead of a table")
    doctor.set_defaults(handler=cmd_doctor)


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"error"}:
        return f"[red]unavailable[/red] ({value['error']})"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "-"
    if value is None:
        return "-"
    return str(value)


def cmd_info(args: argparse.Namespace) -> int:
    """Handler of ``tito system info``."""
    from rich.table import Table

    from tito.console import make_console, print_json
    from tito.sysinfo import collect_info

    data = collect_info()
    if args.json:
        print_json(data)
        return 0

    console = make_console()
    env = Table(title="Environment", show_header=False, title_justify="left")
    env.add_column("key", style="bold")
    env.add_column("value", overflow="fold")
    py, plat, cpu, np_ = data["python"], data["platform"], data["cpu"], data["numpy"]
    env.add_row("Python", f"{py['version']} ({py['implementation']})")
    env.add_row("executable", py["executable"])
    env.add_row("platform", plat["platform"])
    env.add_row("CPU", f"{cpu['model']} ({cpu['logical_cores']} logical cores)")
    env.add_row("CPU ISAs", _fmt(cpu["isas"]))
    if "error" in np_:
        env.add_row("numpy", f"[red]not importable[/red] ({np_['error']})")
    else:
        env.add_row("numpy", np_["version"])
        env.add_row("numpy BLAS", _fmt(np_.get("blas")))
        if np_.get("env"):
            env.add_row("BLAS env", _fmt(np_["env"]))
    console.print(env)

    pkgs = Table(title="TinyTorch distributions", title_justify="left")
    pkgs.add_column("distribution", style="bold")
    pkgs.add_column("version")
    pkgs.add_column("installed as", overflow="fold")
    for name, info in data["packages"].items():
        where = f"editable: {info['editable']}" if info["editable"] else "wheel"
        if info["foreign"]:
            where = "[red]FOREIGN (PyPI's unrelated `tinytorch`)[/red]"
        pkgs.add_row(name, info["version"], where)
    if not data["packages"]:
        pkgs.add_row("[red]none installed[/red]", "", "")
    console.print(pkgs)

    ext = data["extension"]
    table = Table(title="C++ extension tinytorch.tensor._C", show_header=False,
                  title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    if not ext.get("loaded"):
        table.add_row("loaded", f"[red]no[/red] ({ext.get('error')})")
    else:
        table.add_row("loaded", f"yes ({ext.get('file')})")
        for key in ("isa", "available_isas", "num_threads", "has_openmp"):
            table.add_row(key, _fmt(ext.get(key)))
        build = ext.get("build_info")
        if isinstance(build, dict) and "error" not in build:
            for key, value in build.items():
                table.add_row(f"build_info.{key}", _fmt(value))
        else:
            table.add_row("build_info", _fmt(build))
    backend = data["backend"]
    table.add_row("backend", _fmt(backend.get("backend", backend.get("error"))))
    table.add_row("TINYTORCH_BACKEND", backend.get("env") or "(unset)")
    console.print(table)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Handler of ``tito system doctor``."""
    from tito.doctor import run_checks

    checks = run_checks()
    failed = [c for c in checks if c.status == "fail"]
    if args.json:
        from tito.console import print_json

        print_json({"ok": not failed, "checks": [c.to_dict() for c in checks]})
        return 1 if failed else 0

    from rich.table import Table

    from tito.console import make_console

    console = make_console()
    console.print("[bold]tito system doctor[/bold]")
    table = Table.grid(padding=(0, 2))
    table.add_column("status", no_wrap=True)
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("finding", overflow="fold")
    for check in checks:
        word, style = STATUS_STYLE.get(check.status, (check.status.upper(), ""))
        table.add_row(f"[{style}]{word}[/{style}]", check.name, check.detail)
        if check.fix and check.status in ("fail", "warn"):
            table.add_row("", "", f"[yellow]fix:[/yellow] {check.fix}")
    console.print(table)
    if failed:
        console.print(f"[bold red]{len(failed)} check(s) failed:[/bold red] "
                      + ", ".join(c.name for c in failed))
        return 1
    console.print("[bold green]All checks passed.[/bold green]")
    return 0
