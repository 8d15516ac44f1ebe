"""Text for the GPT: Tiny Shakespeare (downloaded, checked), or the corpus this package ships.

- ``"shakespeare"``: Tiny Shakespeare (1,115,394 characters), via
  `tinytorch.data.load_tiny_shakespeare`: the char-rnn URL, checked against its sha256, kept
  under the data root (``TINYTORCH_DATA``, else ``~/.cache/tinytorch``). Pass ``path=`` to use
  a copy you already have.
- ``"tinytorch"``: the offline corpus, about 92,000 characters of the TinyTorch project's own
  prose (its README and documentation pages, code blocks and tables removed), shipped inside
  the package, so that training and the tests need no network. Rebuild it with
  ``packages/tinytorch-gpt/scripts/build_corpus.py``.
- any other string: a path to a UTF-8 text file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tinytorch.data import load_tiny_shakespeare

__all__ = ["load_text", "tinytorch_corpus", "CORPORA"]

#: The named corpora `load_text` knows.
CORPORA = ("shakespeare", "tinytorch")


def tinytorch_corpus() -> str:
    """The offline corpus: the TinyTorch project's own documentation prose (about 92 kB).

    Examples:
        >>> text = tinytorch_corpus()
        >>> text.startswith("# TinyTorch"), len(text) > 50_000
        (True, True)
    """
    ref = resources.files("tinytorch.gpt").joinpath("corpus", "tinytorch_docs.txt")
    return ref.read_text(encoding="utf-8")


def load_text(source: str = "shakespeare", path=None, download: bool = False, root=None) -> str:
    """The text of a corpus: ``"shakespeare"``, ``"tinytorch"`` (offline), or a file path.

    Args:
        source: a name from `CORPORA` or the path of a UTF-8 text file.
        path: for ``"shakespeare"``, a local copy to read instead of the data root's.
        download: for ``"shakespeare"``, fetch it (sha256-checked) when it is missing.
        root: for ``"shakespeare"``, the data root (default ``TINYTORCH_DATA`` or
            ``~/.cache/tinytorch``).

    Raises FileNotFoundError with instructions when Tiny Shakespeare is missing and
    ``download`` is False (or a path does not exist).

    Examples:
        >>> load_text("tinytorch")[:11]
        '# TinyTorch'
    """
    if source == "tinytorch":
        return tinytorch_corpus()
    if source == "shakespeare":
        return load_tiny_shakespeare(root=root, download=download, path=path)
    file = Path(source).expanduser()
    if not file.is_file():
        raise FileNotFoundError(
            f"load_text: {source!r} is neither a corpus name ({', '.join(CORPORA)}) nor a file"
        )
    return file.read_text(encoding="utf-8")
