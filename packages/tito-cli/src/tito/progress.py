"""The student's progress: one JSON file, schema-checked on read and written atomically.

Layout (``DIR/.tito/progress.json``)::

    {"schema": 1,
     "modules": {"02": {"status": "complete", "completed_at": "2026-...Z",
                        "tests": {"passed": 12, "failed": 0}}},
     "checkpoints": {"01": {"status": "passed", "at": "2026-...Z"}}}

A file that is not JSON, or does not fit the schema, is never a crash: :meth:`ProgressStore.load`
reports it (one line, in :attr:`ProgressStore.warnings`), moves it to
``progress.json.corrupt-<time>``, and rebuilds the progress from the entries that still fit.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "ProgressStore", "check_progress", "now_iso"]

SCHEMA = 1
_ID = re.compile(r"^\d\d$")
MODULE_STATUSES = ("complete",)
CHECKPOINT_STATUSES = ("passed",)


def now_iso() -> str:
    """The current UTC time as ISO 8601 (seconds), e.g. ``2026-01-02T03:04:05Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _module_ok(entry: Any) -> bool:
    if not isinstance(entry, dict) or entry.get("status") not in MODULE_STATUSES:
        return False
    if not _iso(entry.get("completed_at")):
        return False
    tests = entry.get("tests", {"passed": 0, "failed": 0})
    return isinstance(tests, dict) and all(
        isinstance(tests.get(k), int) and not isinstance(tests.get(k), bool) and tests.get(k) >= 0
        for k in ("passed", "failed")
    )


def _checkpoint_ok(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("status") in CHECKPOINT_STATUSES
        and _iso(entry.get("at"))
    )


def check_progress(data: Any) -> tuple[dict[str, Any], list[str]]:
    """Check ``data`` against the schema: ``(salvaged, problems)``.

    ``salvaged`` holds every entry that fits; ``problems`` says what did not (empty: valid).
    """
    out: dict[str, Any] = {"schema": SCHEMA, "modules": {}, "checkpoints": {}}
    if not isinstance(data, dict):
        return out, [f"top level is {type(data).__name__}, not an object"]
    problems = []
    if data.get("schema") != SCHEMA:
        problems.append(f"schema is {data.get('schema')!r}, expected {SCHEMA}")
    extra = set(data) - {"schema", "modules", "checkpoints"}
    if extra:
        problems.append(f"unknown key(s): {', '.join(sorted(map(str, extra)))}")
    for section, ok in (("modules", _module_ok), ("checkpoints", _checkpoint_ok)):
        value = data.get(section, {})
        if not isinstance(value, dict):
            problems.append(f"`{section}` is not an object")
            continue
        for key, entry in value.items():
            if isinstance(key, str) and _ID.match(key) and ok(entry):
                out[section][key] = entry
            else:
                problems.append(f"{section}[{key!r}] does not fit the schema")
    return out, problems


class ProgressStore:
    """Read and update one progress file.

    Every read checks the schema; every write goes to a temporary file in the same directory
    and then replaces the file (``os.replace``), so a crash never leaves half a file.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.warnings: list[str] = []

    def load(self) -> dict[str, Any]:
        """The progress (empty if there is no file). A bad file is reported, backed up and
        rebuilt from what fits the schema; see :attr:`warnings`."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"schema": SCHEMA, "modules": {}, "checkpoints": {}}
        except OSError as exc:
            self.warnings.append(
                f"progress file {self.path} could not be read ({exc}); starting from empty progress"
            )
            return {"schema": SCHEMA, "modules": {}, "checkpoints": {}}
        try:
            data = json.loads(text)
            problem = None
        except ValueError as exc:
            data, problem = None, f"not valid JSON ({exc.msg} at line {exc.lineno})"
        salvaged, problems = check_progress(data)
        if problem:
            problems = [problem]
        if problems:
            backup = self._backup()
            kept = len(salvaged["modules"]) + len(salvaged["checkpoints"])
            self.warnings.append(
                f"progress file {self.path} was malformed: {problems[0]}"
                + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
                + f"; backed up as {backup.name} and rebuilt ({kept} entries kept)"
            )
            self.save(salvaged)
        return salvaged

    def _backup(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while backup.exists():
            backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        os.replace(self.path, backup)
        return backup

    def save(self, data: dict[str, Any]) -> None:
        """Write ``data`` atomically (it must fit the schema: a ``ValueError`` otherwise)."""
        _, problems = check_progress(data)
        if problems:
            raise ValueError("refusing to write invalid progress: " + "; ".join(problems))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def record_module(self, module_id: str, passed: int, failed: int = 0) -> dict[str, Any]:
        """Mark a module complete (with its test counts) and save."""
        data = self.load()
        data["modules"][module_id] = {
            "status": "complete",
            "completed_at": now_iso(),
            "tests": {"passed": passed, "failed": failed},
        }
        self.save(data)
        return data

    def record_checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        """Mark a checkpoint passed and save."""
        data = self.load()
        data["checkpoints"][checkpoint_id] = {"status": "passed", "at": now_iso()}
        self.save(data)
        return data
