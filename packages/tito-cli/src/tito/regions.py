"""Solution regions: find them, check them, stub them, and put a student's work back.

A solution region is a run of whole lines between two marker comments in a package source::

        # BEGIN SOLUTION 02 add
        return a + b
        # END SOLUTION

(``// BEGIN SOLUTION 13 relu`` ... ``// END SOLUTION`` in C++). The BEGIN marker names the course
module id (two digits) and the task id. Regions never nest. :func:`stub_text` replaces each
region's lines by a stub that raises ``NotImplementedError`` (``throw tt::NotImplemented`` in
C++) and keeps the markers, so that :func:`extract_bodies` can find the student's code again.

Labs (jupytext ``*.py`` in ``course/``) may hold nbgrader-style regions whose BEGIN marker has
no module and task (``### BEGIN SOLUTION``); :func:`parse` accepts them with ``bare=True``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CPP_SUFFIXES",
    "PY_SUFFIXES",
    "Region",
    "RegionError",
    "ParsedFile",
    "comment_prefix",
    "parse",
    "stub_text",
    "extract_bodies",
    "replace_bodies",
    "python_stub",
    "cpp_stub",
    "lab_stub",
]

#: Suffixes of files whose comments start with ``#``.
PY_SUFFIXES = (".py", ".pyi", ".pyx")
#: Suffixes of files whose comments start with ``//``.
CPP_SUFFIXES = (".cpp", ".cc", ".cxx", ".c", ".h", ".hpp", ".hh", ".cu", ".cuh")

_MODULE_ID = re.compile(r"^\d\d$")
_TASK_ID = re.compile(r"^[a-z0-9_-]+$")


class RegionError(ValueError):
    """A malformed, nested, unclosed or unknown solution region: ``path:line: message``."""

    def __init__(self, path: str | Path, line: int, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}")


@dataclass
class Region:
    """One solution region of a file.

    ``begin`` and ``end`` are the 0-based indices of the marker lines; the body is the lines
    strictly between them. ``module`` and ``task`` are empty for a bare (lab) region.
    """

    module: str
    task: str
    begin: int
    end: int
    indent: str
    body: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        """``(module, task)``."""
        return (self.module, self.task)


@dataclass
class ParsedFile:
    """A file split into its lines and its regions (in file order)."""

    path: str
    lines: list[str]
    regions: list[Region]

    def keyed(self) -> dict[tuple[str, str, int], Region]:
        """The regions keyed by ``(module, task, n)``: the n-th region of that task here."""
        seen: dict[tuple[str, str], int] = {}
        out = {}
        for r in self.regions:
            n = seen.get(r.key, 0)
            seen[r.key] = n + 1
            out[(r.module, r.task, n)] = r
        return out


def comment_prefix(path: str | Path) -> str | None:
    """``"#"`` for Python files, ``"//"`` for C/C++ files, ``None`` for files never scanned."""
    suffix = Path(path).suffix.lower()
    if suffix in PY_SUFFIXES:
        return "#"
    if suffix in CPP_SUFFIXES:
        return "//"
    return None


def _patterns(prefix: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    p = re.escape(prefix[0]) + "+" if prefix == "#" else re.escape(prefix) + "/*"
    begin = re.compile(rf"^(?P<indent>[ \t]*){p}[ \t]*BEGIN SOLUTION(?P<rest>.*?)[ \t]*$")
    end = re.compile(rf"^(?P<indent>[ \t]*){p}[ \t]*END SOLUTION[ \t]*$")
    # a comment that starts like a marker but is not one (prose may mention markers freely)
    loose = re.compile(rf"^[ \t]*{p}[ \t]*(BEGIN|END)[ \t]+SOLUTION\b")
    return begin, end, loose


def parse(
    text: str,
    path: str | Path = "<text>",
    *,
    prefix: str | None = None,
    bare: bool = False,
    known: Mapping[str, set[str]] | None = None,
) -> ParsedFile:
    """Split ``text`` into lines and regions, checking the markers.

    ``prefix`` is the comment leader (default from the file suffix); ``bare`` allows BEGIN
    markers without module and task (labs); ``known`` maps module ids to their task ids, and
    when given every region must name a known module and task. Raises :class:`RegionError`
    (naming the file and the 1-based line) on a nested, unclosed, unopened or malformed region.
    """
    prefix = prefix or comment_prefix(path) or "#"
    begin_re, end_re, loose_re = _patterns(prefix)
    lines = text.splitlines(keepends=True)
    regions: list[Region] = []
    open_region: Region | None = None
    for i, line in enumerate(lines):
        stripped = line.rstrip("\r\n")
        b = begin_re.match(stripped)
        e = end_re.match(stripped)
        if b:
            if open_region is not None:
                raise RegionError(
                    path,
                    i + 1,
                    f"BEGIN SOLUTION inside the region opened at line {open_region.begin + 1}"
                    " (regions never nest; close it with END SOLUTION first)",
                )
            words = b.group("rest").split()
            if not words and bare:
                module, task = "", ""
            elif len(words) == 2:
                module, task = words
                if not _MODULE_ID.match(module):
                    raise RegionError(
                        path,
                        i + 1,
                        f"module id {module!r} is not two digits "
                        f"(expected e.g. `{prefix} BEGIN SOLUTION 02 add`)",
                    )
                if not _TASK_ID.match(task):
                    raise RegionError(path, i + 1, f"task id {task!r} must match [a-z0-9_-]+")
                if known is not None:
                    if module not in known:
                        raise RegionError(
                            path,
                            i + 1,
                            f"unknown course module {module!r} "
                            "(no course/<id>_*/module.yaml has this id)",
                        )
                    if task not in known[module]:
                        tasks = ", ".join(sorted(known[module])) or "none"
                        raise RegionError(
                            path,
                            i + 1,
                            f"module {module} has no task {task!r} "
                            f"in its module.yaml (its tasks: {tasks})",
                        )
            else:
                raise RegionError(
                    path,
                    i + 1,
                    f"malformed marker: expected `{prefix} BEGIN SOLUTION <module id> <task id>`",
                )
            open_region = Region(module, task, i, -1, b.group("indent"))
        elif e:
            if open_region is None:
                raise RegionError(path, i + 1, "END SOLUTION without a BEGIN SOLUTION")
            open_region.end = i
            open_region.body = lines[open_region.begin + 1 : i]
            regions.append(open_region)
            open_region = None
        elif loose_re.match(stripped):
            raise RegionError(
                path,
                i + 1,
                "malformed solution marker: "
                f"{stripped.strip()!r} (markers are whole-line comments: "
                f"`{prefix} BEGIN SOLUTION NN task` / `{prefix} END SOLUTION`)",
            )
    if open_region is not None:
        raise RegionError(
            path,
            open_region.begin + 1,
            "BEGIN SOLUTION is never closed (no END SOLUTION before the end)",
        )
    return ParsedFile(str(path), lines, regions)


def python_stub(message: str) -> str:
    """The Python statement that replaces a region: ``raise NotImplementedError(message)``."""
    return f"raise NotImplementedError({message!r})"


def cpp_stub(message: str) -> str:
    """The C++ statement that replaces a region: ``throw tt::NotImplemented("message");``."""
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'throw tt::NotImplemented("{escaped}");'


def lab_stub(message: str = "") -> list[str]:
    """The lines that replace a bare lab region (nbgrader's convention)."""
    return ["# YOUR CODE HERE", "raise NotImplementedError()"]


def _newline(lines: list[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"


def stub_text(
    text: str,
    path: str | Path = "<text>",
    *,
    message: Callable[[str, str], str],
    known: Mapping[str, set[str]] | None = None,
    bare: bool = False,
) -> tuple[str, list[Region]]:
    """Return ``text`` with every region body replaced by its stub, and the regions found.

    ``message(module, task)`` gives the stub's message. The markers stay, so a later
    :func:`extract_bodies` finds the student's code between them.
    """
    prefix = comment_prefix(path) or "#"
    parsed = parse(text, path, prefix=prefix, known=known, bare=bare)
    bodies = {}
    for key, region in parsed.keyed().items():
        if not region.module:
            bodies[key] = [region.indent + s for s in lab_stub()]
        elif prefix == "//":
            bodies[key] = [region.indent + cpp_stub(message(region.module, region.task))]
        else:
            bodies[key] = [region.indent + python_stub(message(region.module, region.task))]
    nl = _newline(parsed.lines)
    out = replace_bodies(parsed, {k: [s + nl for s in v] for k, v in bodies.items()})
    return out, parsed.regions


def extract_bodies(
    text: str, path: str | Path = "<text>", *, bare: bool = False
) -> dict[tuple[str, str, int], str]:
    """The body text of every region of ``text``, keyed by ``(module, task, n)``."""
    parsed = parse(text, path, bare=bare)
    return {k: "".join(r.body) for k, r in parsed.keyed().items()}


def replace_bodies(parsed: ParsedFile, bodies: Mapping[tuple[str, str, int], object]) -> str:
    """The file's text with the regions named in ``bodies`` given new bodies.

    A body is a string (its lines, with newlines) or a list of lines. Regions not named keep
    their body. The marker lines are kept.
    """
    out: list[str] = []
    pos = 0
    for key, region in parsed.keyed().items():
        out.extend(parsed.lines[pos : region.begin + 1])
        if key in bodies:
            body = bodies[key]
            if isinstance(body, str):
                out.append(body)
                if body and not body.endswith("\n"):
                    out.append("\n")
            else:
                out.extend(body)  # type: ignore[arg-type]
        else:
            out.extend(region.body)
        pos = region.end
    out.extend(parsed.lines[pos:])
    return "".join(out)
