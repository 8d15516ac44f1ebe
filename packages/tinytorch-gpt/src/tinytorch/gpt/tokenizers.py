"""Tokenizers: characters (`CharTokenizer`) and byte-level byte-pair encoding (`BPETokenizer`).

A **character tokenizer** gives every distinct character of a corpus one id (sorted, so the
ids do not depend on the order the corpus lists them). It is exact and tiny, but every
character is a step of the model. A character it has not seen is an error
(`UnknownCharacterError`, naming the character and where it is) unless the tokenizer was
made with an ``unk_token``: then unknown characters map to that token's id, and decode as it.

A **byte-level BPE tokenizer** starts from the 256 byte values, so every string (any
language, any emoji) can be encoded and nothing is ever unknown, then learns merges: it
repeatedly replaces the most frequent adjacent pair of ids in the training text with a new
id (GPT-2's scheme, without its byte-to-unicode remapping). The text is first split into
chunks (words with their leading space, numbers, punctuation runs, whitespace) so that
merges never cross a word boundary. Encoding applies the learned merges in the order they
were learned; decoding concatenates the bytes of the ids and decodes UTF-8 (a sequence cut
in the middle of a multi-byte character decodes that character as U+FFFD).

Both save to and load from a small JSON file (written atomically).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tinytorch.tensor import Tensor
from tinytorch.train.checkpoint import atomic_write_bytes

__all__ = [
    "CharTokenizer",
    "BPETokenizer",
    "UnknownCharacterError",
    "load_tokenizer",
]

_FORMAT = "tinytorch-gpt-tokenizer"


class UnknownCharacterError(ValueError):
    """A character that is not in a `CharTokenizer`'s vocabulary (and it has no ``unk_token``).

    Attributes ``char`` and ``position`` say which character and where in the text.

    Examples:
        >>> tok = CharTokenizer.from_text("abc")
        >>> try:
        ...     tok.encode("abz")
        ... except UnknownCharacterError as e:
        ...     print(e.char, e.position)
        z 2
    """

    def __init__(self, char: str, position: int, vocab_size: int):
        super().__init__(
            f"CharTokenizer: character {char!r} (U+{ord(char):04X}) at position {position} is "
            f"not in the vocabulary of {vocab_size} characters; fit the tokenizer on text that "
            "contains it, or make it with unk_token= to map unknown characters to one token"
        )
        self.char, self.position = char, position


def _ids(ids) -> list[int]:
    if isinstance(ids, Tensor):
        ids = ids.data
    return [int(i) for i in np.asarray(ids).reshape(-1)]


def _write_json(path, data: dict) -> Path:
    return atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def _read_json(path, kind: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a tokenizer file ({e})") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise ValueError(f"{path}: not a {_FORMAT} file")
    if kind != "any" and data.get("type") != kind:
        raise ValueError(f"{path}: holds a {data.get('type')!r} tokenizer, not a {kind!r} one")
    return data


class CharTokenizer:
    """One id per character: ``fit`` on a corpus, then ``encode`` text and ``decode`` ids.

    Args:
        chars: the vocabulary (default empty: call `fit`). Ids follow this order.
        unk_token: a character that unknown characters map to (added to the vocabulary by
            `fit` if missing). Default None: unknown characters raise `UnknownCharacterError`.

    Examples:
        >>> tok = CharTokenizer().fit("hello world")
        >>> tok.vocab_size
        8
        >>> tok.encode("hello")
        [3, 2, 4, 4, 5]
        >>> tok.decode(tok.encode("world hello"))
        'world hello'
        >>> lenient = CharTokenizer(unk_token="?").fit("hello")
        >>> lenient.decode(lenient.encode("help!"))
        'hel??'
    """

    def __init__(self, chars: Iterable[str] | None = None, unk_token: str | None = None):
        if unk_token is not None and (not isinstance(unk_token, str) or len(unk_token) != 1):
            raise ValueError(f"CharTokenizer: unk_token must be one character, got {unk_token!r}")
        self.unk_token = unk_token
        self._set_vocab(list(chars) if chars is not None else [])

    def _set_vocab(self, chars: list[str]) -> None:
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer: vocabulary entries must be characters, got {c!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer: the vocabulary lists a character twice")
        if self.unk_token is not None and chars and self.unk_token not in chars:
            chars = chars + [self.unk_token]
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str, unk_token: str | None = None) -> CharTokenizer:
        """A tokenizer fitted on ``text``: ``CharTokenizer(unk_token=...).fit(text)``."""
        return cls(unk_token=unk_token).fit(text)

    def fit(self, text: str) -> CharTokenizer:
        """Make the vocabulary the sorted distinct characters of ``text`` (plus ``unk_token``)."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.fit: expected a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharTokenizer.fit: the text is empty")
        # BEGIN SOLUTION 16 tokenizer
        chars = set(text)
        if self.unk_token is not None:
            chars.add(self.unk_token)
        self._set_vocab(sorted(chars))
        # END SOLUTION
        return self

    @property
    def vocab_size(self) -> int:
        """How many ids (distinct characters, the unknown token included)."""
        return len(self.chars)

    @property
    def unk_id(self) -> int | None:
        """The id unknown characters map to (None: they raise)."""
        return None if self.unk_token is None else self.stoi[self.unk_token]

    def encode(self, text: str) -> list[int]:
        """Text -> ids. An unknown character raises `UnknownCharacterError` (or maps to unk)."""
        if not self.chars:
            raise ValueError("CharTokenizer: not fitted yet (call fit(text) first)")
        # BEGIN SOLUTION 16 tokenizer
        stoi, unk = self.stoi, self.unk_id
        try:
            return [stoi[c] for c in text]
        except KeyError:
            pass
        out = []
        for i, c in enumerate(text):
            j = stoi.get(c, unk)
            if j is None:
                raise UnknownCharacterError(c, i, self.vocab_size)
            out.append(j)
        return out
        # END SOLUTION

    def decode(self, ids) -> str:
        """Ids (list, array or Tensor) -> text; an id outside the vocabulary raises ValueError."""
        # BEGIN SOLUTION 16 tokenizer
        out = []
        n = len(self.chars)
        for i in _ids(ids):
            if not 0 <= i < n:
                raise ValueError(f"CharTokenizer: id {i} is outside the vocabulary [0, {n})")
            out.append(self.chars[i])
        return "".join(out)
        # END SOLUTION

    def to_dict(self) -> dict:
        """The tokenizer as JSON-ready data (what `save` writes, and checkpoints store)."""
        return {"format": _FORMAT, "type": "char", "chars": self.chars, "unk_token": self.unk_token}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        """The inverse of `to_dict`."""
        tok = cls(unk_token=data.get("unk_token"))
        tok._set_vocab(list(data["chars"]))
        return tok

    def save(self, path) -> Path:
        """Write the vocabulary to a JSON file, atomically; returns the path."""
        return _write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> CharTokenizer:
        """Read a tokenizer written by `save`.

        Examples:
            >>> import os, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "tok.json")
            >>> _ = CharTokenizer().fit("abc").save(path)
            >>> CharTokenizer.load(path).encode("cab")
            [2, 0, 1]
        """
        return cls.from_dict(_read_json(path, "char"))

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


# GPT-2's split pattern, spelled with ASCII classes (Python's re has no \p{L}): contractions,
# words with an optional leading space, numbers, punctuation runs, and whitespace.
BPE_SPLIT_PATTERN = r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|_+|\s+(?!\S)|\s+"


def _merge(ids: np.ndarray, a: int, b: int, new: int) -> np.ndarray:
    """Replace every non-overlapping (left to right) adjacent pair (a, b) in ``ids`` by ``new``."""
    hit = np.flatnonzero((ids[:-1] == a) & (ids[1:] == b))
    if hit.size == 0:
        return ids
    if a == b and hit.size > 1:  # "aaa": the pairs overlap; take them greedily from the left
        keep, last = [], -2
        for i in hit.tolist():
            if i > last + 1:
                keep.append(i)
                last = i
        hit = np.asarray(keep, dtype=np.int64)
    out = ids.copy()
    out[hit] = new
    return np.delete(out, hit + 1)


class BPETokenizer:
    """Byte-level byte-pair encoding: 256 byte ids plus learned merges, no unknown tokens.

    Args:
        merges: the learned merges in order, each a pair of ids ``(a, b)``; merge i makes id
            ``256 + i``. Default: none (train with `train`).
        pattern: the regex that splits text into chunks before merging (None: no split).

    Examples:
        >>> text = "the cat sat on the mat. the cat ate. " * 20
        >>> tok = BPETokenizer.train(text, vocab_size=270)
        >>> tok.vocab_size
        270
        >>> ids = tok.encode("the cat sat")
        >>> len(ids) < len("the cat sat".encode()), tok.decode(ids)
        (True, 'the cat sat')
        >>> tok.decode(tok.encode("naïve 🐈"))     # any text round-trips: it is bytes
        'naïve 🐈'
    """

    def __init__(
        self, merges: Sequence[tuple[int, int]] = (), pattern: str | None = BPE_SPLIT_PATTERN
    ):
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern else None
        self.merges: list[tuple[int, int]] = []
        self.vocab: list[bytes] = [bytes([i]) for i in range(256)]
        for a, b in merges:
            self._add_merge(int(a), int(b))

    def _add_merge(self, a: int, b: int) -> int:
        n = len(self.vocab)
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"BPETokenizer: merge ({a}, {b}) refers to ids outside [0, {n})")
        self.merges.append((a, b))
        self.vocab.append(self.vocab[a] + self.vocab[b])
        return n

    @property
    def vocab_size(self) -> int:
        """256 byte ids plus one per merge."""
        return len(self.vocab)

    def _chunks(self, text: str) -> list[str]:
        return self._regex.findall(text) if self._regex else [text]

    def _stream(self, text: str) -> np.ndarray:
        """The text's bytes as ids, with -1 between chunks (no pair crosses a -1)."""
        parts = []
        for chunk in self._chunks(text):
            parts.append(np.frombuffer(chunk.encode("utf-8"), dtype=np.uint8).astype(np.int64))
            parts.append(np.array([-1], dtype=np.int64))
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        pattern: str | None = BPE_SPLIT_PATTERN,
        min_frequency: int = 2,
    ) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text`` (fewer if no pair occurs twice).

        Each round counts every adjacent pair of ids inside the chunks (one ``bincount``) and
        merges the most frequent one (ties: the smallest pair), as GPT-2's BPE does.
        """
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 256:
            raise ValueError(
                f"BPETokenizer.train: vocab_size must be an int >= 256, got {vocab_size!r}"
            )
        tok = cls(pattern=pattern)
        ids = tok._stream(text)
        while tok.vocab_size < vocab_size and ids.size > 1:
            n = tok.vocab_size
            left, right = ids[:-1], ids[1:]
            ok = (left >= 0) & (right >= 0)
            keys = left[ok] * n + right[ok]
            if keys.size == 0:
                break
            counts = np.bincount(keys, minlength=n * n)
            best = int(np.argmax(counts))  # first maximum: the smallest pair wins a tie
            if counts[best] < min_frequency:
                break
            a, b = divmod(best, n)
            new = tok._add_merge(a, b)
            ids = _merge(ids, a, b, new)
        return tok

    def encode(self, text: str) -> list[int]:
        """Text -> ids: its UTF-8 bytes, then every merge in the order it was learned."""
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.encode: expected a str, got {type(text).__name__}")
        ids = self._stream(text)
        if ids.size > 1:
            # Skip the merges whose ids never occur (a superset of the ids present: enough).
            present = np.zeros(self.vocab_size, bool)
            present[ids[ids >= 0]] = True
            for new, (a, b) in enumerate(self.merges, start=256):
                if present[a] and present[b]:
                    merged = _merge(ids, a, b, new)
                    if merged.size != ids.size:
                        present[new] = True
                    ids = merged
        return ids[ids >= 0].tolist()

    def decode(self, ids) -> str:
        """Ids -> text (UTF-8; an incomplete multi-byte character becomes U+FFFD)."""
        n = self.vocab_size
        out = []
        for i in _ids(ids):
            if not 0 <= i < n:
                raise ValueError(f"BPETokenizer: id {i} is outside the vocabulary [0, {n})")
            out.append(self.vocab[i])
        return b"".join(out).decode("utf-8", errors="replace")

    def token_bytes(self, i: int) -> bytes:
        """The bytes that id ``i`` stands for."""
        return self.vocab[i]

    def to_dict(self) -> dict:
        """The tokenizer as JSON-ready data (what `save` writes, and checkpoints store)."""
        return {
            "format": _FORMAT,
            "type": "bpe",
            "pattern": self.pattern,
            "merges": [list(m) for m in self.merges],
        }

    @classmethod
    def from_dict(cls, data: dict) -> BPETokenizer:
        """The inverse of `to_dict`."""
        return cls([tuple(m) for m in data["merges"]], pattern=data.get("pattern"))

    def save(self, path) -> Path:
        """Write the merges to a JSON file, atomically; returns the path."""
        return _write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> BPETokenizer:
        """Read a tokenizer written by `save`."""
        return cls.from_dict(_read_json(path, "bpe"))

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"


def tokenizer_from_dict(data: dict):
    """A `CharTokenizer` or `BPETokenizer` from its `to_dict` data."""
    kind = data.get("type")
    if kind == "char":
        return CharTokenizer.from_dict(data)
    if kind == "bpe":
        return BPETokenizer.from_dict(data)
    raise ValueError(f"unknown tokenizer type {kind!r} (expected 'char' or 'bpe')")


def load_tokenizer(path):
    """Load a `CharTokenizer` or `BPETokenizer` saved with ``save``, whichever it is.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "tok.json")
        >>> _ = CharTokenizer().fit("xyz").save(path)
        >>> load_tokenizer(path)
        CharTokenizer(vocab_size=3)
    """
    return tokenizer_from_dict(_read_json(path, "any"))


__all__ += ["tokenizer_from_dict", "BPE_SPLIT_PATTERN"]
