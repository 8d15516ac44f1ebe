"""Text datasets for language modelling: token windows, and characters of Tiny Shakespeare.

`TextDataset` turns a stream of token ids into ``(block_size)`` input/target windows, the
target shifted by one. `CharDataset` builds its own character vocabulary. Both split the
stream 90/10 into train and validation parts and draw random batches with `get_batch`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tinytorch.tensor import Generator, Tensor, from_numpy
from tinytorch.tensor.random import resolve

from .dataset import Dataset
from .download import check_integrity, data_root
from .download import download as fetch

__all__ = [
    "CharDataset",
    "TextDataset",
    "TINY_SHAKESPEARE_SHA256",
    "TINY_SHAKESPEARE_URL",
    "load_tiny_shakespeare",
]

TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def load_tiny_shakespeare(
    root=None, download: bool = False, path=None, url: str | None = None, sha256: str | None = None
) -> str:
    """The Tiny Shakespeare text (1,115,394 characters).

    ``path``: a local copy (trusted as given). Otherwise ``ROOT/tinyshakespeare.txt``, checked
    by sha256, downloaded from ``url`` (default: karpathy/char-rnn on GitHub) when missing and
    ``download=True``.

    Examples:
        >>> text = load_tiny_shakespeare(download=True)  # doctest: +SKIP
        >>> text[:14]  # doctest: +SKIP
        'First Citizen:'
    """
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    root = Path(root).expanduser() if root is not None else data_root()
    dest = root / "tinyshakespeare.txt"
    url = url or TINY_SHAKESPEARE_URL
    sha256 = sha256 or TINY_SHAKESPEARE_SHA256
    if dest.is_file() and not check_integrity(dest, sha256=sha256):
        dest.unlink()
    if not dest.is_file():
        if not download:
            raise FileNotFoundError(
                f"Tiny Shakespeare: pass download=True, or download {url} by hand and place it "
                f"at {dest} (sha256 {sha256}), or pass path= a local copy"
            )
        fetch(url, dest, sha256=sha256)
    return dest.read_text(encoding="utf-8")


class TextDataset(Dataset):
    """Windows over a token stream: ``ds[i] == (tokens[i:i+T], tokens[i+1:i+T+1])``.

    Args:
        data: token ids (a 1-D int array or sequence), or text together with ``encode``.
        block_size: the window length T.
        encode: text -> list of token ids, when ``data`` is text.
        split: window over ``"train"`` (first 90%), ``"val"`` (last 10%) or the whole stream (None).
        train_fraction: the train part of the split.

    Examples:
        >>> ds = TextDataset([0, 1, 2, 3, 4, 5], block_size=3)
        >>> len(ds), ds[1][0].tolist(), ds[1][1].tolist()
        (3, [1, 2, 3], [2, 3, 4])
    """

    def __init__(
        self,
        data,
        block_size: int,
        encode: Callable | None = None,
        split: str | None = None,
        train_fraction: float = 0.9,
    ):
        if isinstance(data, str):
            if encode is None:
                raise ValueError("TextDataset: text needs an encode function (or use CharDataset)")
            data = encode(data)
        tokens = np.asarray(data, dtype=np.int64).reshape(-1)
        if block_size < 1:
            raise ValueError(f"TextDataset: block_size must be >= 1, got {block_size}")
        self.tokens = tokens
        self.block_size = int(block_size)
        n = int(len(tokens) * train_fraction)
        self.train_data = tokens[:n]
        self.val_data = tokens[n:]
        if split not in (None, "train", "val"):
            raise ValueError(f"TextDataset: split must be 'train', 'val' or None, got {split!r}")
        self.split = split
        self._stream = self._split_tokens(split) if split else tokens
        if len(self._stream) <= self.block_size:
            raise ValueError(
                f"TextDataset: {len(self._stream)} tokens are too few for "
                f"block_size={self.block_size}"
            )

    def _split_tokens(self, split: str) -> np.ndarray:
        if split == "train":
            return self.train_data
        if split == "val":
            return self.val_data
        raise ValueError(f"get_batch: split must be 'train' or 'val', got {split!r}")

    def __len__(self) -> int:
        return len(self._stream) - self.block_size

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"TextDataset: index {index} out of range for {len(self)} windows")
        t = self.block_size
        return self._stream[index : index + t], self._stream[index + 1 : index + t + 1]

    def get_batch(
        self,
        split: str = "train",
        batch_size: int = 32,
        block_size: int | None = None,
        generator: Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Random windows for LM training: ``x, y`` int64 Tensors of shape ``(B, T)``.

        The B start offsets are drawn at once and the windows gathered with one fancy index.

        Examples:
            >>> from tinytorch.tensor import Generator
            >>> ds = TextDataset(list(range(100)), block_size=4)
            >>> x, y = ds.get_batch("train", 2, generator=Generator(0))
            >>> x.shape, bool(((y.data - x.data) == 1).all())
            ((2, 4), True)
        """
        data = self._split_tokens(split)
        t = self.block_size if block_size is None else int(block_size)
        if len(data) <= t:
            raise ValueError(
                f"get_batch: the {split} split has {len(data)} tokens, too few for block_size={t}"
            )
        starts = resolve(generator).integers(0, len(data) - t, size=batch_size)
        idx = starts[:, None] + np.arange(t)
        return from_numpy(data[idx]), from_numpy(data[idx + 1])


class CharDataset(TextDataset):
    """A `TextDataset` over characters, with its own vocabulary (sorted distinct characters).

    Args:
        text: the corpus.
        block_size: the window length.
        split: ``"train"``, ``"val"`` or None (the whole text).
        chars: a fixed vocabulary (default: the text's distinct characters).

    Examples:
        >>> ds = CharDataset("hello world", block_size=4)
        >>> ds.vocab_size, ds.decode(ds.encode("hello"))
        (8, 'hello')
        >>> x, y = ds[0]
        >>> ds.decode(x), ds.decode(y)
        ('hell', 'ello')
    """

    def __init__(
        self,
        text: str,
        block_size: int,
        split: str | None = None,
        chars: Sequence[str] | None = None,
        train_fraction: float = 0.9,
    ):
        self.chars = list(chars) if chars is not None else sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        super().__init__(self.encode(text), block_size, split=split, train_fraction=train_fraction)

    @property
    def vocab_size(self) -> int:
        """How many distinct characters."""
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Characters -> token ids (KeyError names a character outside the vocabulary)."""
        try:
            return [self.stoi[c] for c in text]
        except KeyError as exc:
            raise KeyError(
                f"CharDataset: character {exc.args[0]!r} is not in the vocabulary"
            ) from None

    def decode(self, ids) -> str:
        """Token ids (list, array or Tensor) -> text."""
        if isinstance(ids, Tensor):
            ids = ids.data
        return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1))

    @classmethod
    def tiny_shakespeare(
        cls,
        block_size: int = 64,
        split: str | None = None,
        root=None,
        download: bool = False,
        path=None,
    ) -> CharDataset:
        """Tiny Shakespeare by characters (65 of them); see `load_tiny_shakespeare`.

        Examples:
            >>> ds = CharDataset.tiny_shakespeare(128, download=True)  # doctest: +SKIP
            >>> ds.vocab_size  # doctest: +SKIP
            65
        """
        text = load_tiny_shakespeare(root=root, download=download, path=path)
        return cls(text, block_size, split=split)
