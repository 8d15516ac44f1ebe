"""Student workspaces: make one from the course repository, find it, update it, install it.

Layout of a workspace ``DIR`` (made by :func:`init_workspace`)::

    DIR/packages/            every package, solution regions stubbed (tests/ and build/ left out)
    DIR/course/              the course modules (lab regions stubbed too)
    DIR/tests/checkpoints/   the capability checkpoints
    DIR/.tito/workspace.json source repo, its git commit, created time, tito version, schema
    DIR/.tito/base/          the pristine stubbed tree, the common ancestor for `update`
    DIR/.tito/progress.json  progress (see tito.progress)
    DIR/.venv/               (default) the packages installed editable from DIR/packages

:func:`update_workspace` merges new course content in, region by region, three-way against
``.tito/base``: the student's implementations are kept, new regions and content arrive, and
every file that is overwritten or removed is first copied to ``.tito/backups/<time>/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tito import __version__
from tito.course import Course, load_course, stub_message
from tito.regions import RegionError, comment_prefix, parse, replace_bodies, stub_text

__all__ = [
    "WORKSPACE_SCHEMA",
    "WorkspaceError",
    "Workspace",
    "find_source",
    "find_workspace",
    "build_tree",
    "init_workspace",
    "update_workspace",
    "UpdateReport",
    "install_workspace",
    "package_order",
    "reflection_template",
    "check_tasks_have_regions",
    "merge_file",
]

WORKSPACE_SCHEMA = 1
#: Packages copied without scanning for regions (tito's own sources talk about markers).
UNSCANNED_PACKAGES = {"tito-cli"}
_SKIP_DIRS = {
    "build",
    "dist",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".venv",
    ".git",
    "site",
    ".mypy_cache",
}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dylib", ".o")


class WorkspaceError(RuntimeError):
    """A workspace cannot be made, found, updated or installed; the message says why."""


# --------------------------------------------------------------------------- locating


def _is_source(path: Path) -> bool:
    return (path / "packages").is_dir() and (path / "course").is_dir()


def find_source(explicit: str | Path | None = None) -> Path:
    """The course repository: ``explicit``, else ``TITO_SOURCE``, else upward from the current
    directory, else upward from tito's own location (an editable install of the repo)."""
    if explicit:
        p = Path(explicit).resolve()
        if not _is_source(p):
            raise WorkspaceError(f"{p} is not a TinyTorch repository (needs packages/ and course/)")
        return p
    env = os.environ.get("TITO_SOURCE")
    if env:
        return find_source(env)
    for start in (Path.cwd(), Path(__file__).resolve()):
        for p in [start, *start.parents]:
            if _is_source(p) and not (p / ".tito" / "workspace.json").is_file():
                return p
    raise WorkspaceError(
        "cannot find the TinyTorch repository: run tito inside it, or pass "
        "--source REPO (or set TITO_SOURCE)"
    )


@dataclass
class Workspace:
    """A student workspace on disk."""

    root: Path

    @property
    def meta_path(self) -> Path:
        """``.tito/workspace.json``."""
        return self.root / ".tito" / "workspace.json"

    @property
    def progress_path(self) -> Path:
        """``.tito/progress.json``."""
        return self.root / ".tito" / "progress.json"

    @property
    def base(self) -> Path:
        """``.tito/base``: the pristine stubbed tree of the last init/update."""
        return self.root / ".tito" / "base"

    def meta(self) -> dict[str, Any]:
        """The parsed workspace.json (``{}`` if unreadable)."""
        try:
            data = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_meta(self, data: dict[str, Any]) -> None:
        """Write workspace.json atomically."""
        _atomic_write(self.meta_path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())

    def course(self) -> Course:
        """The workspace's course modules."""
        return load_course(self.root / "course")

    def python(self) -> Path | None:
        """The interpreter the workspace's packages are installed into, if known."""
        py = self.meta().get("python")
        if py and Path(py).exists():
            return Path(py)
        venv = self.root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        return venv if venv.exists() else None

    def checkpoints_dir(self) -> Path:
        """``tests/checkpoints`` of the workspace."""
        return self.root / "tests" / "checkpoints"


def find_workspace(explicit: str | Path | None = None) -> Workspace | None:
    """``explicit`` / ``TITO_WORKSPACE`` / the nearest ``.tito/workspace.json`` upward."""
    cand = explicit or os.environ.get("TITO_WORKSPACE")
    if cand:
        ws = Workspace(Path(cand).resolve())
        if not ws.meta_path.is_file():
            raise WorkspaceError(
                f"{ws.root} is not a tito workspace (no .tito/workspace.json);"
                " make one with `tito workspace init DIR`"
            )
        return ws
    for p in [Path.cwd(), *Path.cwd().parents]:
        if (p / ".tito" / "workspace.json").is_file():
            return Workspace(p.resolve())
    return None


# --------------------------------------------------------------------------- the tree


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tito-tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _walk(root: Path, skip_top: set[str] = frozenset()) -> list[Path]:  # type: ignore[assignment]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP_DIRS
            and not d.endswith(".egg-info")
            and not (rel == Path(".") and d in skip_top)
        )
        for f in sorted(filenames):
            if not f.endswith(_SKIP_SUFFIXES):
                out.append(Path(dirpath) / f)
    return out


def _stub_one(rel: str, data: bytes, course: Course | None, lab: bool) -> bytes:
    prefix = comment_prefix(rel)
    if prefix is None:
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    if "SOLUTION" not in text:
        return data
    if lab:

        def lab_message(module: str, task: str) -> str:
            m = course.modules.get(module) if course else None
            return stub_message(m, task) if m else f"module {module}, task {task}"

        out, _ = stub_text(text, rel, message=lab_message, bare=True)
        return out.encode("utf-8")
    known = course.known_tasks() if course else None

    def message(module: str, task: str) -> str:
        assert course is not None
        return stub_message(course.modules[module], task)

    out, _ = stub_text(text, rel, message=message, known=known)
    return out.encode("utf-8")


def build_tree(source: Path, course: Course | None = None) -> dict[str, bytes]:
    """The workspace's managed files, stubbed: relative path -> content.

    Package sources (``src/``, ``csrc/``, build files; not ``tests/``, never build output),
    every course module directory (labs with bare regions stubbed), and tests/checkpoints.
    Raises :class:`RegionError` on the first bad marker (file and line in the message).
    """
    source = Path(source)
    course = course or load_course(source / "course")
    tree: dict[str, bytes] = {}
    for pkg in sorted((source / "packages").iterdir()):
        if not (pkg / "pyproject.toml").is_file():
            continue
        scan = pkg.name not in UNSCANNED_PACKAGES
        for f in _walk(pkg, skip_top={"tests"}):
            rel = f.relative_to(source).as_posix()
            data = f.read_bytes()
            tree[rel] = _stub_one(rel, data, course, lab=False) if scan else data
    labs = {(m.path / m.lab).resolve() for m in course.modules.values() if m.lab}
    for f in _walk(source / "course"):
        rel = f.relative_to(source).as_posix()
        data = f.read_bytes()
        tree[rel] = _stub_one(rel, data, course, lab=True) if f.resolve() in labs else data
    for m in course.modules.values():  # a place for the reflection answers (tito grade)
        rel = f"course/{m.dirname}/reflection.md"
        if m.reflection and rel not in tree:
            tree[rel] = reflection_template(m).encode("utf-8")
    ck = source / "tests" / "checkpoints"
    if ck.is_dir():
        for f in _walk(ck):
            tree[f.relative_to(source).as_posix()] = f.read_bytes()
    return tree


def reflection_template(module) -> str:
    """The reflection answers file of a module: one ``## <id>`` heading per question."""
    lines = [
        f"# Module {module.id} reflections",
        "",
        "Answer each question of README.md under its heading. `tito grade` counts the "
        "words of each answer.",
        "",
    ]
    for q in module.reflection:
        lines += [f"## {q.id}", "", f"<!-- {q.words[0]}-{q.words[1]} words -->", ""]
    return "\n".join(lines)


def check_tasks_have_regions(source: Path, course: Course) -> list[str]:
    """Tasks of the course without any region in their ``files`` (each a warning line)."""
    found: set[tuple[str, str]] = set()
    for pkg in (source / "packages").iterdir():
        if pkg.name in UNSCANNED_PACKAGES or not pkg.is_dir():
            continue
        for f in _walk(pkg, skip_top={"tests"}):
            if comment_prefix(f) is None:
                continue
            try:
                text = f.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if "SOLUTION" in text:
                found.update(r.key for r in parse(text, f).regions)
    out = []
    for m in course.modules.values():
        for t in m.tasks:
            if (m.id, t.id) not in found:
                out.append(
                    f"module {m.id} task {t.id!r} has no solution region in {', '.join(t.files)}"
                )
    return out


def _git_commit(source: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def _write_tree(root: Path, tree: dict[str, bytes]) -> None:
    for rel, data in tree.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        src_mode = None
        if rel.endswith((".sh",)):
            src_mode = 0o755
        if src_mode:
            p.chmod(src_mode)


def _read_tree(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {f.relative_to(root).as_posix(): f.read_bytes() for f in _walk(root)}


def init_workspace(
    target: Path,
    source: Path,
    *,
    install: str = "venv",
    python: str | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> Workspace:
    """Make a workspace at ``target`` from the repository ``source``.

    ``install``: ``"venv"`` (make ``target/.venv`` and install into it), ``"python"`` (install
    into the environment of ``python``) or ``"none"``.
    """
    target = Path(target).resolve()
    source = Path(source).resolve()
    if (target / ".tito" / "workspace.json").exists():
        raise WorkspaceError(f"{target} is already a workspace: use `tito workspace update`")
    if target.exists() and any(target.iterdir()):
        raise WorkspaceError(f"{target} exists and is not empty; choose a new directory")
    course = load_course(source / "course")
    tree = build_tree(source, course)
    target.mkdir(parents=True, exist_ok=True)
    _write_tree(target, tree)
    ws = Workspace(target)
    _write_tree(ws.base, tree)
    (target / ".gitignore").write_text(".venv/\n__pycache__/\nbuild/\n*.so\n.tito/backups/\n")
    ws.write_meta(
        {
            "schema": WORKSPACE_SCHEMA,
            "source": str(source),
            "source_commit": _git_commit(source),
            "created": _now(),
            "updated": None,
            "tito_version": __version__,
            "python": None,
        }
    )
    log(
        f"copied {len(tree)} files; "
        f"{sum(len(m.tasks) for m in course.modules.values())} tasks stubbed"
    )
    if install != "none":
        install_workspace(ws, venv=(install == "venv"), python=python, log=log)
    return ws


def _now() -> str:
    from tito.progress import now_iso

    return now_iso()


# --------------------------------------------------------------------------- install


def package_order(packages_dir: Path) -> list[Path]:
    """Package directories in dependency order (dependencies first)."""
    try:
        import tomllib  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    pkgs: dict[str, tuple[Path, list[str]]] = {}
    for d in sorted(packages_dir.iterdir()):
        if (d / "pyproject.toml").is_file():
            meta = tomllib.loads((d / "pyproject.toml").read_text()).get("project", {})
            deps = [
                re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0].lower()
                for r in meta.get("dependencies", [])
            ]
            pkgs[meta.get("name", d.name).lower()] = (d, deps)
    order: list[str] = []
    while len(order) < len(pkgs):
        ready = [
            n
            for n, (_, deps) in pkgs.items()
            if n not in order and all(x in order or x not in pkgs for x in deps)
        ]
        if not ready:
            raise WorkspaceError("dependency cycle among packages")
        order.append(sorted(ready)[0])
    return [pkgs[n][0] for n in order]


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _pip(python: Path, args: list[str], log: Callable[[str], None]) -> None:
    """Run pip for ``python``: through this interpreter's pip (``--python``) when the target
    has none, which saves bootstrapping pip into a new venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    has_pip = (
        subprocess.run(
            [str(python), "-c", "import pip"], capture_output=True, check=False, env=env
        ).returncode
        == 0
    )
    if has_pip:
        cmd = [str(python), "-m", "pip", "install", "-q", *args]
    else:
        cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *args]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise WorkspaceError(f"pip failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    log(
        f"pip install {' '.join(a for a in args if not a.startswith('-'))[:90]} "
        f"({time.monotonic() - t0:.0f}s)"
    )


BUILD_REQUIREMENTS = [
    "scikit-build-core>=1.0.1",
    "pybind11>=2.13",
    "hatchling>=1.27",
    "editables>=0.5",
    "numpy>=1.24",
    "cmake>=3.18",
    "ninja>=1.11",
    "pytest>=8",
    "hypothesis>=6.100",
]


def _digest(pkg: Path) -> str:
    """Hash of what needs a reinstall when it changes: pyproject, C++ sources, file names."""
    h = hashlib.sha256()
    for name in ("pyproject.toml", "CMakeLists.txt"):
        if (pkg / name).is_file():
            h.update((pkg / name).read_bytes())
    for p in _walk(pkg, skip_top={"tests"}):
        rel = p.relative_to(pkg).as_posix()
        h.update(rel.encode())
        if rel.startswith("csrc/"):
            h.update(p.read_bytes())
    return h.hexdigest()


def install_workspace(
    ws: Workspace,
    *,
    venv: bool = True,
    python: str | None = None,
    only_changed: bool = False,
    log: Callable[[str], None] = lambda s: None,
) -> Path:
    """Install the workspace's packages editable; return the interpreter used.

    With ``only_changed`` only packages whose C++ sources, build files or file names changed
    since the last install are reinstalled (an incremental C++ rebuild): this is `export`.
    """
    meta = ws.meta()
    if python:
        py = Path(python)
    elif meta.get("python") and Path(meta["python"]).exists():
        py = Path(meta["python"])
    elif venv:
        vdir = ws.root / ".venv"
        py = _venv_python(vdir)
        if not py.exists():
            log(f"creating {vdir}")
            proc = subprocess.run(
                [sys.executable, "-m", "venv", "--without-pip", str(vdir)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise WorkspaceError(f"could not create {vdir}: {proc.stderr.strip()}")
    else:
        raise WorkspaceError("no interpreter to install into")
    stamps = meta.get("installed", {}) if meta.get("python") == str(py) else {}
    if not stamps:
        _pip(py, BUILD_REQUIREMENTS, log)
    todo = []
    for pkg in package_order(ws.root / "packages"):
        if not only_changed or stamps.get(pkg.name) != _digest(pkg):
            todo.append(pkg)
    if todo:
        args = ["--no-build-isolation"]
        for pkg in todo:
            args += ["-e", str(pkg)]
        _pip(py, args, log)
    meta["python"] = str(py)
    meta["installed"] = {**stamps, **{p.name: _digest(p) for p in todo}}
    ws.write_meta(meta)
    return py


# --------------------------------------------------------------------------- update


@dataclass
class UpdateReport:
    """What :func:`update_workspace` did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    backup: str | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            k: getattr(self, k)
            for k in (
                "added",
                "updated",
                "merged",
                "kept",
                "removed",
                "conflicts",
                "backup",
                "dry_run",
            )
        }


def _split(text: str, rel: str, bare: bool) -> tuple[Any, list[str]] | None:
    """``(parsed, skeleton)``: skeleton = the lines outside region bodies (markers kept)."""
    try:
        parsed = parse(text, rel, bare=bare)
    except RegionError:
        return None
    skeleton: list[str] = []
    pos = 0
    for r in parsed.regions:
        skeleton.extend(parsed.lines[pos : r.begin + 1])
        pos = r.end
    skeleton.extend(parsed.lines[pos:])
    return parsed, skeleton


def merge_file(
    rel: str, base: str, mine: str, new: str, bare: bool = False
) -> tuple[str, list[str]]:
    """Three-way merge of one text file, region by region: ``(merged, conflicts)``.

    A region whose body the student changed (``mine`` differs from ``base``) keeps the
    student's body; any other region takes ``new``'s body. Lines outside regions come from
    ``new``, unless only the student changed them. Conflicts (returned as messages) are:
    student work in a region that ``new`` no longer has, and edits outside regions on both
    sides (``new`` wins; the caller backs the student's file up).
    """
    sb, sm, sn = _split(base, rel, bare), _split(mine, rel, bare), _split(new, rel, bare)
    if sn is None:
        return new, [f"{rel}: the new version has bad markers; took it whole"]
    if sm is None or sb is None:
        return new, [
            f"{rel}: your copy's solution markers are damaged; took the new version "
            "(yours is in the backup)"
        ]
    (pb, skel_b), (pm, skel_m), (pn, skel_n) = sb, sm, sn
    kb, km, kn = pb.keyed(), pm.keyed(), pn.keyed()
    conflicts: list[str] = []
    work = {k: r for k, r in km.items() if k not in kb or r.body != kb[k].body}
    for k in work:
        if k not in kn:
            label = f"module {k[0]} task {k[1]}" if k[0] else "a lab exercise"
            conflicts.append(
                f"{rel}: your work in {label} (region {k[2] + 1}) has no place in "
                "the new version: it is in the backup"
            )
    if skel_m == skel_b or skel_n == skel_b:
        skeleton_from = pn if skel_m == skel_b else pm
    else:
        skeleton_from = pn
        conflicts.append(
            f"{rel}: changed outside the solution regions both by you and by the "
            "course; took the course's version (yours is in the backup)"
        )
    target = skeleton_from.keyed()
    bodies = {}
    for k in target:
        if k in work:
            bodies[k] = work[k].body
        elif k in kn:
            bodies[k] = kn[k].body
    return replace_bodies(skeleton_from, bodies), conflicts


def update_workspace(
    ws: Workspace, source: Path, *, dry_run: bool = False, log: Callable[[str], None] = print
) -> UpdateReport:
    """Bring ``source``'s current content into ``ws``, keeping the student's work."""
    course = load_course(Path(source) / "course")
    new_tree = build_tree(Path(source), course)
    base_tree = _read_tree(ws.base)
    report = UpdateReport(dry_run=dry_run)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup_root = ws.root / ".tito" / "backups" / stamp
    labs = {f"course/{m.dirname}/{m.lab}" for m in course.modules.values() if m.lab}

    def backup(rel: str) -> None:
        cur = ws.root / rel
        if cur.is_file() and not dry_run:
            dst = backup_root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cur, dst)
            report.backup = str(backup_root)

    def write(rel: str, data: bytes) -> None:
        if not dry_run:
            _atomic_write(ws.root / rel, data)

    for rel in sorted(set(new_tree) | set(base_tree)):
        path = ws.root / rel
        mine = path.read_bytes() if path.is_file() else None
        base = base_tree.get(rel)
        new = new_tree.get(rel)
        if new is None:  # removed upstream
            if mine is None:
                continue
            if base is not None and mine == base:
                backup(rel)
                if not dry_run:
                    path.unlink()
                report.removed.append(rel)
            else:
                report.kept.append(rel)
                report.conflicts.append(
                    f"{rel}: removed from the course, but you changed it: kept your copy"
                )
            continue
        if mine is None:
            if base is None or base != new:
                write(rel, new)
                report.added.append(rel)
            else:  # the student deleted it and upstream did not change it: respect that
                report.kept.append(rel)
            continue
        if mine == new:
            continue
        if base is None:  # new upstream file where the student has one of their own
            backup(rel)
            write(rel, new)
            report.updated.append(rel)
            report.conflicts.append(
                f"{rel}: new in the course, but you had a file there; "
                "took the course's (yours is in the backup)"
            )
            continue
        if mine == base:
            backup(rel)
            write(rel, new)
            report.updated.append(rel)
            continue
        if new == base:
            continue  # only the student changed it
        try:
            texts = base.decode(), mine.decode(), new.decode()
        except UnicodeDecodeError:
            report.kept.append(rel)
            report.conflicts.append(f"{rel}: binary file changed on both sides: kept yours")
            continue
        if comment_prefix(rel) is None:
            backup(rel)
            write(rel, new)
            report.updated.append(rel)
            report.conflicts.append(
                f"{rel}: changed both by you and by the course; took the "
                "course's (yours is in the backup)"
            )
            continue
        merged, conflicts = merge_file(rel, *texts, bare=rel in labs)
        backup(rel)
        write(rel, merged.encode())
        report.merged.append(rel)
        report.conflicts.extend(conflicts)
    if not dry_run:
        if ws.base.exists():
            shutil.rmtree(ws.base)
        _write_tree(ws.base, new_tree)
        meta = ws.meta()
        meta.update(
            {
                "updated": _now(),
                "source": str(Path(source).resolve()),
                "source_commit": _git_commit(Path(source)),
                "tito_version": __version__,
            }
        )
        ws.write_meta(meta)
    return report
