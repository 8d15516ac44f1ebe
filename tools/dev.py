#!/usr/bin/env python3
"""Set up the TinyTorch workspace and run its main job or its tests (stdlib only).

    python3 tools/dev.py run     [ARGS...]   set up, then run tools/main_job.py ARGS
    python3 tools/dev.py test    [ARGS...]   set up (with test tools), then python -m pytest ARGS
    python3 tools/dev.py setup               set up only (with test tools)

Setup creates `.venv/` at the repository root (again if it is broken), upgrades pip to >= 25.1,
installs the `build` dependency group, then every package under `packages/` editable and in
dependency order (derived from each pyproject's dependencies on the other workspace packages),
without build isolation. `test` and `setup` also install the `test` group, `run` the `run`
group. PyTorch 2.13.0
(optional; parity tests use it) is installed with `--with-torch` or `TINYTORCH_WITH_TORCH=1`.

Setup is idempotent: a stamp in `.venv/` records a hash of what each step installed from
(pyprojects, and for C++ packages CMakeLists.txt and csrc/), so an unchanged workspace costs
one quick check, and an edited csrc/ rebuilds only the extension (incrementally: the build
tree is kept in packages/<pkg>/build/).

Options (anywhere on the line; everything else is passed on to pytest / the main job):
    --with-torch      also install torch==2.13.0
    --force-setup     ignore the stamp and reinstall everything
    --show-pip        show pip's full output (default: quiet, errors only)
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tinytorch-dev-stamp.json"
PACKAGES_DIR = ROOT / "packages"
MIN_PIP = (25, 1)
TORCH_SPEC = "torch==2.13.0"
# Tie-break for packages that do not depend on each other (install order is otherwise
# derived from the dependencies): the layer order of DESIGN.md.
LAYER_ORDER = [
    "tinytorch-tensor", "tinytorch-autograd", "tinytorch-nn", "tinytorch-data",
    "tinytorch-optim", "tinytorch-train", "tinytorch-compress", "tinytorch-mlops",
    "tinytorch-gpt", "tito-cli",
]
STAMP_VERSION = 1


# --------------------------------------------------------------------------- output


def log(message: str) -> None:
    """A progress line."""
    print(f"[dev] {message}", flush=True)


def die(message: str, code: int = 1) -> None:
    print(f"[dev] error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


# --------------------------------------------------------------------------- TOML


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def _mini_toml(text: str) -> dict:
    """A tiny TOML subset (tables; strings, booleans, arrays of strings) for Python 3.10
    when pip's vendored tomli is not importable either."""
    data: dict = {}
    table = data
    lines = iter(text.splitlines())
    for raw in lines:
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("[") and "=" not in line:
            table = data
            for part in line.strip("[]").split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        if "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if value.startswith("["):
            chunk = [value]
            while " ".join(chunk).count("[") > " ".join(chunk).count("]"):
                try:
                    chunk.append(_strip_comment(next(lines)).strip())
                except StopIteration:
                    break
            value = " ".join(chunk)
        try:
            table[key.strip('"')] = ast.literal_eval(
                value.replace("true", "True").replace("false", "False")
            )
        except (ValueError, SyntaxError):
            table[key.strip('"')] = value
    return data


def load_toml(path: Path) -> dict:
    """Parse a pyproject.toml with tomllib (3.11+), pip's vendored tomli, or a fallback."""
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib  # type: ignore[import-not-found]

        return tomllib.loads(text)
    except ImportError:
        pass
    try:
        from pip._vendor import tomli  # type: ignore[import-not-found]

        return tomli.loads(text)
    except ImportError:
        return _mini_toml(text)


# --------------------------------------------------------------------------- workspace


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(req: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return canonical(match.group(1)) if match else ""


class Package:
    """One workspace member: its name, directory and dependencies on other members."""

    def __init__(self, path: Path):
        self.path = path
        meta = load_toml(path / "pyproject.toml").get("project", {})
        self.name = canonical(meta.get("name") or path.name)
        self.requires = [requirement_name(r) for r in meta.get("dependencies", [])]
        self.native = (path / "CMakeLists.txt").exists()
        self.deps: list[str] = []

    def digest(self) -> str:
        """Hash of everything whose change needs a reinstall of this editable package."""
        h = hashlib.sha256()
        files = [self.path / "pyproject.toml"]
        if self.native:
            files.append(self.path / "CMakeLists.txt")
            csrc = self.path / "csrc"
            if csrc.is_dir():
                files += sorted(p for p in csrc.rglob("*") if p.is_file())
        for f in files:
            if f.is_file():
                h.update(str(f.relative_to(self.path)).encode())
                h.update(f.read_bytes())
        # Editable installs map the files that existed at install time: a new or removed
        # module needs a reinstall too (only names are hashed, not contents).
        src = self.path / "src"
        if src.is_dir():
            for p in sorted(src.rglob("*")):
                if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".pyi"):
                    h.update(str(p.relative_to(self.path)).encode())
        return h.hexdigest()


def discover_packages() -> list[Package]:
    """Every packages/*/pyproject.toml, in dependency order (dependencies first)."""
    pkgs = {}
    for d in sorted(PACKAGES_DIR.iterdir()) if PACKAGES_DIR.is_dir() else []:
        if (d / "pyproject.toml").is_file():
            pkg = Package(d)
            pkgs[pkg.name] = pkg
    for pkg in pkgs.values():
        pkg.deps = [r for r in pkg.requires if r in pkgs and r != pkg.name]

    def rank(name: str) -> tuple[int, str]:
        return (LAYER_ORDER.index(name) if name in LAYER_ORDER else len(LAYER_ORDER), name)

    order: list[Package] = []
    done: set[str] = set()
    while len(order) < len(pkgs):
        ready = [p for n, p in pkgs.items() if n not in done and all(d in done for d in p.deps)]
        if not ready:
            left = sorted(set(pkgs) - done)
            die(f"dependency cycle among packages: {', '.join(left)}")
        nxt = min(ready, key=lambda p: rank(p.name))
        order.append(nxt)
        done.add(nxt.name)
    return order


def group_names(group: str) -> list[str]:
    groups = load_toml(ROOT / "pyproject.toml").get("dependency-groups", {})
    # Requirements with an environment marker (`; python_version < "3.11"`) are left out:
    # they may rightly be absent, and checking for them would reinstall the group each time.
    return [requirement_name(r) for r in groups.get(group, [])
            if isinstance(r, str) and ";" not in r]


def file_digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- venv


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def venv_works() -> bool:
    py = venv_python()
    if not py.exists() or not (VENV / "pyvenv.cfg").exists():
        return False
    try:
        proc = subprocess.run([str(py), "-c", "import sys, pip; print(sys.prefix)"],
                              capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def ensure_venv() -> None:
    if venv_works():
        return
    if VENV.exists():
        log(f"{VENV} is broken (its python or pip does not run): recreating it")
        shutil.rmtree(VENV)
    log(f"creating {VENV.relative_to(ROOT)} with {sys.executable} "
        f"(Python {'.'.join(map(str, sys.version_info[:3]))})")
    proc = subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False)
    if proc.returncode != 0 or not venv_works():
        die("could not create a virtual environment. On Debian/Ubuntu install the venv module "
            "(`apt-get install python3-venv`), then run this command again.")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    env.pop("PYTHONHOME", None)
    return env


class Installer:
    def __init__(self, show_pip: bool):
        self.show_pip = show_pip

    def pip(self, *args: str, what: str) -> None:
        cmd = [str(venv_python()), "-m", "pip", "install", *args]
        if not self.show_pip:
            cmd.insert(4, "-q")
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), check=False)
        if proc.returncode != 0:
            die(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                "        rerun with --show-pip for pip's full output")
        log(f"  {what}: done in {time.monotonic() - t0:.1f}s")


def venv_state() -> dict:
    """The venv's Python version, pip version and installed distributions (one subprocess)."""
    code = (
        "import json, sys, importlib.metadata as m\n"
        "d = {}\n"
        "for x in m.distributions():\n"
        "    n = x.metadata['Name']\n"
        "    if n: d.setdefault(n.lower().replace('_', '-').replace('.', '-'), x.version)\n"
        "print(json.dumps({'python': '.'.join(map(str, sys.version_info[:3])), 'dists': d}))\n"
    )
    out = subprocess.run([str(venv_python()), "-c", code], capture_output=True, text=True,
                         check=True, env=child_env()).stdout
    return json.loads(out)


def version_tuple(v: str) -> tuple[int, ...]:
    parts = []
    for piece in v.split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def load_stamp() -> dict:
    try:
        data = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return data if data.get("version") == STAMP_VERSION else {}


def save_stamp(stamp: dict) -> None:
    stamp["version"] = STAMP_VERSION
    tmp = STAMP.with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True))
    os.replace(tmp, STAMP)


def setup(*, test_tools: bool, torch: bool, force: bool, show_pip: bool) -> None:
    """Make .venv match the workspace; reinstall only what changed.

    ``test_tools`` adds the `test` group (pytest, docs, plots); otherwise the `run` group
    (what the main job needs beyond the packages, such as matplotlib for its plot).
    """
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py may be started by an old python3
        die(f"TinyTorch needs Python >= 3.10; this is {sys.version.split()[0]}")
    t0 = time.monotonic()
    ensure_venv()
    state = venv_state()
    dists = state["dists"]
    stamp = {} if force else load_stamp()
    if stamp.get("python") != state["python"]:
        stamp = {}
    stamp["python"] = state["python"]
    inst = Installer(show_pip)
    did = []
    root_digest = file_digest(ROOT / "pyproject.toml")

    if version_tuple(dists.get("pip", "0")) < MIN_PIP:
        log(f"upgrading pip {dists.get('pip', '?')} -> >=25.1 (for dependency groups)")
        inst.pip("--upgrade", "pip>=25.1", what="pip upgrade")
        did.append("pip")

    def group(name: str) -> None:
        missing = [n for n in group_names(name) if n and n not in dists]
        if stamp.get(f"group:{name}") == root_digest and not missing:
            return
        log(f"installing dependency group '{name}' ({', '.join(group_names(name))})")
        inst.pip("--group", name, what=f"group {name}")
        stamp[f"group:{name}"] = root_digest
        save_stamp(stamp)
        did.append(name)

    group("build")

    packages = discover_packages()
    log("workspace packages (install order): " + " -> ".join(p.name for p in packages))
    todo = [p for p in packages if stamp.get(f"pkg:{p.name}") != p.digest() or p.name not in dists]
    if todo:
        if any(p.native for p in todo):
            if not any(shutil.which(c) for c in ("c++", "g++", "clang++", "cl")):
                log("warning: no C++ compiler found on PATH (c++/g++/clang++); the C++ "
                    "extension build will fail. Install one (e.g. `apt-get install g++`).")
            native = ", ".join(p.name for p in todo if p.native)
            log(f"building C++ extension of {native} (a minute or two the first time; "
                "incremental afterwards)")
        log("installing editable: " + ", ".join(p.name for p in todo))
        args = ["--no-build-isolation"]
        for p in todo:
            args += ["-e", str(p.path.relative_to(ROOT))]
        inst.pip(*args, what="editable installs")
        for p in todo:
            stamp[f"pkg:{p.name}"] = p.digest()
        save_stamp(stamp)
        did.append("packages")

    group("test" if test_tools else "run")

    if torch:
        if "torch" not in dists or stamp.get("torch") != TORCH_SPEC:
            log(f"installing optional {TORCH_SPEC} (CPU) for the PyTorch parity tests")
            inst.pip(TORCH_SPEC, what="torch")
            stamp["torch"] = TORCH_SPEC
            save_stamp(stamp)
            did.append("torch")
    save_stamp(stamp)
    took = time.monotonic() - t0
    if did:
        log(f"setup done in {took:.1f}s (installed: {', '.join(did)})")
    else:
        log(f"setup up to date ({took:.1f}s; nothing changed since the last setup)")


# --------------------------------------------------------------------------- commands


def split_args(argv: list[str]) -> tuple[dict, list[str]]:
    opts = {"torch": os.environ.get("TINYTORCH_WITH_TORCH", "") in ("1", "true", "yes"),
            "force": False, "show_pip": False}
    rest = []
    flags = {"--with-torch": "torch", "--force-setup": "force", "--show-pip": "show_pip"}
    for arg in argv:
        if arg in flags:
            opts[flags[arg]] = True
        else:
            rest.append(arg)
    return opts, rest


def run_in_venv(args: list[str]) -> int:
    cmd = [str(venv_python()), *args]
    log("running: " + " ".join(
        [os.path.relpath(cmd[0], ROOT)] + [a if " " not in a else repr(a) for a in args]))
    try:
        return subprocess.run(cmd, cwd=ROOT, env=child_env(), check=False).returncode
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    opts, passthrough = split_args(rest)
    if command == "setup":
        if passthrough:
            die(f"setup takes no arguments: {' '.join(passthrough)}", 2)
        setup(test_tools=True, **opts)
        return 0
    if command == "test":
        setup(test_tools=True, **opts)
        if passthrough and passthrough[0] == "--":
            passthrough = passthrough[1:]
        code = run_in_venv(["-m", "pytest", *passthrough])
        log(f"pytest exited with code {code}")
        return code
    if command == "run":
        setup(test_tools=False, **opts)
        if passthrough and passthrough[0] == "--":
            passthrough = passthrough[1:]
        code = run_in_venv([str(Path("tools") / "main_job.py"), *passthrough])
        log(f"main job exited with code {code}")
        return code
    die(f"unknown command {command!r}; use run, test or setup (see --help)", 2)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
