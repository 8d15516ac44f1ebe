#!/usr/bin/env python3
"""Check that a package can be released at a version (used by .github/workflows/release.yml).

    python3 tools/check_release.py tinytorch-tensor-v0.1.0     # a tag
    python3 tools/check_release.py tinytorch-tensor 0.2.0       # or dist + version

Checks: the package exists; its pyproject's static version equals the version; its
CHANGELOG.md mentions the version; and every workspace package that depends on it admits the
version (e.g. `tinytorch-tensor>=0.1,<0.2` rejects 0.2.0: bump the dependents' ranges first).
Prints the distribution name on success (for the workflow); exits 1 with reasons otherwise.
Needs `packaging` (present wherever pip is).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev import PACKAGES_DIR, canonical, load_toml  # noqa: E402


def check(dist: str, version: str) -> list[str]:
    from packaging.requirements import Requirement

    problems = []
    pkg_dir = PACKAGES_DIR / dist
    if not (pkg_dir / "pyproject.toml").is_file():
        return [f"no package {dist!r} under packages/"]
    meta = load_toml(pkg_dir / "pyproject.toml")["project"]
    if meta.get("version") != version:
        problems.append(f"packages/{dist}/pyproject.toml has version {meta.get('version')}, "
                        f"not {version} (bump it with `hatch version {version}`)")
    changelog = pkg_dir / "CHANGELOG.md"
    if not changelog.is_file() or version not in changelog.read_text(encoding="utf-8"):
        problems.append(f"packages/{dist}/CHANGELOG.md has no entry for {version}")
    for other in sorted(PACKAGES_DIR.glob("*/pyproject.toml")):
        deps = load_toml(other).get("project", {}).get("dependencies", [])
        for text in deps:
            req = Requirement(text)
            if canonical(req.name) == dist and not req.specifier.contains(version,
                                                                           prereleases=True):
                problems.append(f"{other.parent.name} requires {text}, which excludes {version}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 1:
        match = re.fullmatch(r"(?P<dist>[a-z0-9][a-z0-9-]*)-v(?P<version>\d+\.\d+\.\d+\S*)",
                             args[0])
        if not match:
            print(f"tag {args[0]!r} is not <dist>-v<X.Y.Z>", file=sys.stderr)
            return 1
        dist, version = match["dist"], match["version"]
    elif len(args) == 2:
        dist, version = canonical(args[0]), args[1]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(dist, version)
    for p in problems:
        print(f"check_release: {p}", file=sys.stderr)
    if problems:
        return 1
    print(dist)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
