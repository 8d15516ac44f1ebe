"""Registry of `tito` command groups.

A command group is a module in this package (``tito/commands/<name>.py``) that defines:

``NAME``
    the group's word on the command line (``tito NAME ...``);
``HELP``
    a one-line description;
``ORDER`` (optional)
    an integer that sorts the groups in ``tito --help`` (default 100);
``register(subparsers)``
    adds the group's parser to ``subparsers`` (an :mod:`argparse` subparsers action), with
    its own subcommands. Every leaf parser sets ``handler=<function(args) -> int>`` through
    ``set_defaults``; a group parser sets ``group_parser=<parser>`` so that ``tito NAME``
    alone prints the group's help.

Groups are discovered, not listed: a later issue adds ``tito/commands/module.py`` and
``tito module ...`` exists. Modules whose names start with ``_`` are helpers, not groups.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["load_groups"]


def load_groups() -> list[ModuleType]:
    """Import and return every command-group module, sorted by ``ORDER`` then ``NAME``."""
    groups: list[ModuleType] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "register", None)) and hasattr(module, "NAME"):
            groups.append(module)
    groups.sort(key=lambda m: (getattr(m, "ORDER", 100), m.NAME))
    return groups
