"""Rebuild the offline corpus the package ships: the project's own prose, from its Markdown.

    python packages/tinytorch-gpt/scripts/build_corpus.py

Reads the repository's README.md, docs/**/*.md and every package README (all written by the
TinyTorch project itself), drops fenced code blocks, tables and HTML comments (what is left
is English prose, which makes nicer samples), and writes
src/tinytorch/gpt/corpus/tinytorch_docs.txt. Deterministic: files in sorted order.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OUT = HERE.parent / "src" / "tinytorch" / "gpt" / "corpus" / "tinytorch_docs.txt"


def prose(markdown: str) -> str:
    markdown = re.sub(r"<!--.*?-->", "", markdown, flags=re.S)
    lines, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.lstrip().startswith("|") or line.startswith(":::"):
            continue
        if line.startswith("    ") and not line.strip().startswith(("-", "*")):
            continue  # indented code / directive options
        lines.append(line.rstrip())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def sources() -> list[Path]:
    files = [ROOT / "README.md"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    files += sorted(ROOT.glob("packages/*/README.md"))
    return [f for f in files if f.is_file() and "api" not in f.relative_to(ROOT).parts]


def main() -> None:
    parts = [prose(f.read_text(encoding="utf-8")) for f in sources()]
    text = "\n\n".join(p for p in parts if p.strip())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(
        f"wrote {OUT} ({len(text):,} characters, {len(set(text))} distinct) from {len(parts)} files"
    )


if __name__ == "__main__":
    main()
