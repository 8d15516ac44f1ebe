"""Output helpers shared by the command groups: one rich console, and plain JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

__all__ = ["make_console", "print_json"]


def make_console(stderr: bool = False) -> Console:
    """A rich console bound to the *current* ``sys.stdout``/``sys.stderr``.

    Created per command (not at import time) so that redirected or captured streams work.
    Colour follows rich's rules (off when not a terminal, or when ``NO_COLOR`` is set).
    """
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False)


def print_json(data: Any) -> None:
    """Write `data` as indented JSON to stdout, without any styling, for scripts and tests."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()
