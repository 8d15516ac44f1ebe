"""A pytest plugin used by ``tito grade`` inside the graded subprocess (stdlib only).

- writes each test's outcome to ``$TITO_GRADE_RESULTS`` (JSON lines) as soon as it is known, so
  that the results of the tests that finished survive when the whole run is killed;
- gives each test ``$TITO_TEST_TIMEOUT`` seconds (``signal.alarm``): a test that loops forever
  fails with a time-out and the other tests still run.
"""

from __future__ import annotations

import json
import os
import signal

__all__ = ["TestTimeout", "pytest_runtest_call", "pytest_runtest_logreport"]


class TestTimeout(Exception):
    """Raised in a test that ran past its time limit."""

    __test__ = False


def _alarm(signum, frame):  # pragma: no cover - fires in the graded process
    raise TestTimeout(f"test ran past its time limit of {os.environ.get('TITO_TEST_TIMEOUT')}s")


def pytest_runtest_call(item):  # pragma: no cover - runs in the graded process
    """Arm the per-test alarm around the test call (hookwrapper-free: arm, let it run)."""
    seconds = int(float(os.environ.get("TITO_TEST_TIMEOUT", "0") or 0))
    if seconds > 0 and hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(seconds)


def pytest_runtest_logreport(report):  # pragma: no cover - runs in the graded process
    """Disarm the alarm and append the outcome of each test to the results file."""
    if hasattr(signal, "SIGALRM") and report.when == "call":
        signal.alarm(0)
    path = os.environ.get("TITO_GRADE_RESULTS")
    if not path:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = (
            report.outcome if report.when == "call" else ("skipped" if report.skipped else "error")
        )
        message = ""
        if report.failed or (report.when == "setup" and not report.skipped):
            crash = getattr(report.longrepr, "reprcrash", None)
            message = (
                (crash.message if crash else str(report.longrepr)).splitlines()[0][:300]
                if report.longrepr
                else ""
            )
        with open(path, "a", encoding="utf-8") as f:
            f.write(
                json.dumps({"name": report.nodeid, "outcome": outcome, "message": message}) + "\n"
            )
