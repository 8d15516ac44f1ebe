"""Entry point of the `tito` command: builds the argument parser from the command groups.

Each command group is a module in :mod:`tito.commands` (see there for the contract); this
module only wires them together, so that adding a group never means editing this file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tito import __version__
from tito.commands import load_groups


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with one subcommand per registered command group."""
    parser = argparse.ArgumentParser(
        prog="tito",
        description="tito: the TinyTorch command line (course, instructors, contributors).",
    )
    parser.add_argument(
        "--version", action="version", version=f"tito-cli {__version__}"
    )
    groups = parser.add_subparsers(dest="group", metavar="GROUP")
    for group in load_groups():
        group.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `tito` with `argv` (default: `sys.argv[1:]`) and return the exit code.

    Exit codes: 0 success, 1 a command found a problem (for example a failed doctor check),
    2 a usage error.
    """
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    handler = getattr(args, "handler", None)
    if handler is None:
        # `tito` or `tito GROUP` alone: show the relevant help.
        (getattr(args, "group_parser", None) or parser).print_help()
        return 0 if args.group is None else 2
    return int(handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
