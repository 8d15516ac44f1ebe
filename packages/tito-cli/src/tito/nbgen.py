"""Notebooks for nbgrader from the jupytext percent-format labs.

A lab is a ``.py`` file of cells: ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown
cell (its lines written as ``# text``); an optional ``# ---`` ... ``# ---`` header holds jupytext
metadata. :func:`lab_to_notebook` turns one into an nbformat-4 notebook with nbgrader metadata:

- a code cell with a solution region (``### BEGIN SOLUTION`` ... ``### END SOLUTION``, or a
  module-marked one) is a *solution* cell; its regions are replaced by
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (unless ``solutions=True``, which
  keeps them with nbgrader's own markers, nbgrader's "source" form);
- a code cell tagged ``tests`` (``# %% tags=["tests"]``) or whose first line starts with
  ``# Test`` is an autograded, locked *tests* cell worth one point;
- markdown cells are locked (read-only); other code cells are left free.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tito.regions import parse, replace_bodies

__all__ = ["parse_percent", "lab_to_notebook", "write_notebook", "NbgraderUnavailable"]

_HEADER = re.compile(r"^# %%(?P<rest>.*)$")


class NbgraderUnavailable(RuntimeError):
    """nbformat is not installed (it is the ``nbgrader`` extra of tito-cli)."""


def parse_percent(text: str) -> list[dict[str, Any]]:
    """The cells of a percent-format file: ``{"type", "source", "tags"}`` dicts."""
    lines = text.splitlines()
    i = 0
    if lines and lines[0].strip() == "# ---":  # jupytext YAML header
        j = 1
        while j < len(lines) and lines[j].strip() != "# ---":
            j += 1
        i = j + 1
    cells: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in lines[i:]:
        m = _HEADER.match(line)
        if m:
            rest = m.group("rest")
            kind = "markdown" if re.search(r"\[(markdown|md)\]", rest) else "code"
            tags: list[str] = []
            tm = re.search(r"tags\s*=\s*(\[[^\]]*\])", rest)
            if tm:
                try:
                    tags = [str(t) for t in json.loads(tm.group(1).replace("'", '"'))]
                except ValueError:
                    tags = []
            current = {"type": kind, "lines": [], "tags": tags}
            cells.append(current)
            continue
        if current is None:
            if not line.strip():
                continue
            current = {"type": "code", "lines": [], "tags": []}
            cells.append(current)
        current["lines"].append(line)
    out = []
    for c in cells:
        body = c["lines"]
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        if c["type"] == "markdown":
            body = [re.sub(r"^# ?", "", ln) if ln.startswith("#") else ln for ln in body]
        if body or c["type"] == "code":
            out.append({"type": c["type"], "source": "\n".join(body), "tags": c["tags"]})
    return out


def _strip_solutions(source: str, name: str, keep: bool) -> tuple[str, bool]:
    parsed = parse(source + "\n", name, prefix="#", bare=True)
    if not parsed.regions:
        return source, False
    bodies: dict[Any, Any] = {}
    for key, r in parsed.keyed().items():
        bodies[key] = (
            r.body
            if keep
            else [f"{r.indent}# YOUR CODE HERE\n", f"{r.indent}raise NotImplementedError()\n"]
        )
    text = replace_bodies(parsed, bodies)
    # nbgrader's own markers, so that nbgrader can process the source form too
    text = re.sub(r"(?m)^([ \t]*)#+[ \t]*BEGIN SOLUTION.*$", r"\1### BEGIN SOLUTION", text)
    text = re.sub(r"(?m)^([ \t]*)#+[ \t]*END SOLUTION[ \t]*$", r"\1### END SOLUTION", text)
    if not keep:
        text = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION\n", "", text)
    return text.rstrip("\n"), True


def lab_to_notebook(text: str, name: str, assignment: str, solutions: bool = False) -> dict:
    """An nbformat-4 notebook (a dict) with nbgrader metadata, from a lab's text."""
    cells = []
    for i, cell in enumerate(parse_percent(text)):
        grade_id = f"{assignment}-cell-{i:03d}"
        if cell["type"] == "markdown":
            cells.append(
                {
                    "cell_type": "markdown",
                    "id": grade_id[-64:],
                    "metadata": {
                        "nbgrader": {
                            "grade": False,
                            "solution": False,
                            "locked": True,
                            "grade_id": grade_id,
                            "schema_version": 3,
                            "task": False,
                        }
                    },
                    "source": cell["source"],
                }
            )
            continue
        source, has_solution = _strip_solutions(cell["source"], name, keep=solutions)
        first = next((ln for ln in source.splitlines() if ln.strip()), "")
        is_test = (
            "tests" in cell["tags"]
            or "autograde" in cell["tags"]
            or first.lower().startswith("# test")
        )
        meta: dict[str, Any] = {}
        if has_solution:
            meta = {"grade": False, "solution": True, "locked": False}
        elif is_test:
            meta = {"grade": True, "solution": False, "locked": True, "points": 1}
        if meta:
            meta.update({"grade_id": grade_id, "schema_version": 3, "task": False})
        cells.append(
            {
                "cell_type": "code",
                "id": grade_id[-64:],
                "execution_count": None,
                "outputs": [],
                "metadata": {"nbgrader": meta} if meta else {},
                "source": source,
            }
        )
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }


def write_notebook(nb: dict, path: Path) -> None:
    """Validate ``nb`` with nbformat and write it."""
    try:
        import nbformat
    except ImportError as exc:
        raise NbgraderUnavailable(
            "nbformat is not installed: pip install 'tito-cli[nbgrader]'"
        ) from exc
    node = nbformat.from_dict(nb)
    nbformat.validate(node)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(node, str(path))
