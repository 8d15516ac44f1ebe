"""Run pytest in a subprocess, with a time limit and an optional memory limit, and count.

Every test run of tito (module tests, checkpoints, grading) goes through :func:`run_pytest`:
a fresh interpreter (the workspace's), ``TINYTORCH_BACKEND`` set as asked, the results read from
a JUnit XML report (not from pytest's text), and the whole process group killed when the time
limit passes, so a student's infinite loop cannot hang tito.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TestCase", "RunResult", "run_pytest", "clean_env"]


@dataclass
class TestCase:
    """One test's outcome: ``passed``, ``failed``, ``error`` or ``skipped``."""

    __test__ = False  # not a pytest test class

    name: str
    outcome: str
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"name": self.name, "outcome": self.outcome, "message": self.message}


@dataclass
class RunResult:
    """What a pytest run did."""

    returncode: int
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    timed_out: bool = False
    duration: float = 0.0
    output: str = ""
    cases: list[TestCase] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Tests collected (all outcomes)."""
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def ok(self) -> bool:
        """No failure or error, at least one test passed, no time-out (skips are allowed)."""
        return (
            not self.timed_out
            and self.returncode == 0
            and self.passed > 0
            and self.failed == 0
            and self.errors == 0
        )

    def summary(self) -> str:
        """``"12 passed, 1 failed"``-style line."""
        if self.timed_out:
            return f"timed out after {self.duration:.0f}s ({self.passed} passed before)"
        parts = [
            f"{n} {w}"
            for n, w in (
                (self.passed, "passed"),
                (self.failed, "failed"),
                (self.errors, "errors"),
                (self.skipped, "skipped"),
            )
            if n
        ]
        return ", ".join(parts) or f"no tests ran (exit {self.returncode})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "returncode": self.returncode,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "timed_out": self.timed_out,
            "duration": round(self.duration, 2),
            "ok": self.ok,
            "cases": [c.to_dict() for c in self.cases],
        }


def clean_env(backend: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a test subprocess: no inherited PYTHONPATH / venv settings, the
    tensor backend set (or unset), no colour, no bytecode cache written into the workspace."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONPATH",
            "PYTHONHOME",
            "VIRTUAL_ENV",
            "TINYTORCH_BACKEND",
            "PYTEST_ADDOPTS",
            "PYTEST_CURRENT_TEST",
        )
    }
    if backend:
        env["TINYTORCH_BACKEND"] = backend
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def _limits(memory_mb: int | None):  # pragma: no cover - runs in the child
    def apply() -> None:
        os.setsid()
        if memory_mb:
            import resource

            limit = int(memory_mb) * 1024 * 1024
            for res in ("RLIMIT_AS", "RLIMIT_DATA"):
                if hasattr(resource, res):
                    try:
                        resource.setrlimit(getattr(resource, res), (limit, limit))
                    except (ValueError, OSError):
                        pass

    return apply


def _parse_junit(path: Path, result: RunResult) -> None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return
    for case in root.iter("testcase"):
        name = "::".join(x for x in (case.get("classname", ""), case.get("name", "")) if x)
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error"}.get(child.tag, "skipped")
                message = (child.get("message") or "").strip().splitlines()[0:1]
                message = message[0][:300] if message else ""
                break
        result.cases.append(TestCase(name, outcome, message))
        if outcome == "passed":
            result.passed += 1
        elif outcome == "failed":
            result.failed += 1
        elif outcome == "error":
            result.errors += 1
        else:
            result.skipped += 1


def run_pytest(
    python: str | Path,
    paths: list[str | Path],
    *,
    cwd: str | Path | None = None,
    backend: str | None = None,
    timeout: float = 600,
    memory_mb: int | None = None,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> RunResult:
    """Run ``python -m pytest paths`` in its own process group and count the outcomes.

    ``timeout`` kills the whole group (the result has ``timed_out``); ``memory_mb`` caps the
    address space of the child (``resource.setrlimit``, POSIX only).
    """
    with tempfile.TemporaryDirectory(prefix="tito-run-") as tmp:
        junit = Path(tmp) / "junit.xml"
        cmd = [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "-o",
            "addopts=",
            "--rootdir",
            str(cwd or tmp),
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit1",
            *(extra_args or []),
            *[str(p) for p in paths],
        ]
        t0 = time.monotonic()
        posix = os.name == "posix"
        proc = subprocess.Popen(
            cmd,
            cwd=str(cwd or tmp),
            env=env or clean_env(backend),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_limits(memory_mb) if posix else None,  # noqa: PLW1509
        )
        timed_out = False
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            if posix:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            else:  # pragma: no cover
                proc.kill()
            out, _ = proc.communicate()
        result = RunResult(
            returncode=proc.returncode if not timed_out else -9,
            timed_out=timed_out,
            duration=time.monotonic() - t0,
            output=(out or "")[-20000:],
        )
        _parse_junit(junit, result)
        return result


def python_for(explicit: str | None = None) -> str:
    """``explicit`` or the running interpreter."""
    return explicit or sys.executable


__all__.append("python_for")
