"""``tito test NN``: the seed's alias of ``tito module test NN``."""

from __future__ import annotations

from typing import Any

NAME = "test"
HELP = "run module NN's tests against the installed code (alias of `module test`)"
ORDER = 41


def register(subparsers: Any) -> None:
    """Add ``tito test NN``."""
    from tito.commands._common import add_common
    from tito.commands.module import cmd_test

    p = subparsers.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("module", metavar="NN")
    add_common(p)
    p.set_defaults(handler=cmd_test)
