"""The 16 capability checkpoints (``tests/checkpoints/checkpoint_NN_name.py``).

Each checkpoint is a pytest file whose module docstring's first line is its question, and
which may declare ``REQUIRES = ["tinytorch-mlops", ...]``: the distributions it needs. A
checkpoint whose distributions are not installed is *unavailable* and never passes.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Checkpoint", "discover_checkpoints", "installed_distributions"]

_NAME = re.compile(r"^checkpoint_(\d\d)_([a-z0-9_]+)\.py$")


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint file: id, name, question and the distributions it needs."""

    id: str
    name: str
    question: str
    requires: tuple[str, ...]
    path: Path

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "id": self.id,
            "name": self.name,
            "question": self.question,
            "requires": list(self.requires),
            "file": self.path.name,
        }


def _read(path: Path) -> Checkpoint | None:
    m = _NAME.match(path.name)
    if not m:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return Checkpoint(m.group(1), m.group(2), "(unreadable checkpoint file)", (), path)
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    requires: tuple[str, ...] = ()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "REQUIRES" for t in node.targets
        ):
            try:
                requires = tuple(ast.literal_eval(node.value))
            except ValueError:
                pass
    return Checkpoint(m.group(1), m.group(2), doc[0] if doc else "", requires, path)


def discover_checkpoints(directory: Path) -> dict[str, Checkpoint]:
    """Every checkpoint in ``directory``, by id."""
    out = {}
    if Path(directory).is_dir():
        for p in sorted(Path(directory).glob("checkpoint_*.py")):
            c = _read(p)
            if c:
                out[c.id] = c
    return out


def installed_distributions(python: str | Path) -> set[str]:
    """The (normalized) names of the distributions installed for ``python``."""
    code = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps(sorted({(d.metadata['Name'] or '').lower().replace('_', '-')"
        " for d in m.distributions()})))"
    )
    try:
        proc = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        return set(json.loads(proc.stdout)) if proc.returncode == 0 else set()
    except (OSError, ValueError, subprocess.SubprocessError):
        return set()
