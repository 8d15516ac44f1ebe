"""Verified downloads and safe archive extraction.

- Data root: ``$TINYTORCH_DATA``, else ``~/.cache/tinytorch`` (`data_root`).
- `download` streams into a temporary file beside the destination, checks the size the
  server announced and the md5/sha256, and only then renames it into place (``os.replace``,
  atomic). A truncated or corrupted file is deleted, never trusted; the error says the expected
  and the received checksum, and a later run downloads again.
- Offline or unreachable, it fails fast (short timeout) with an error naming the URL and the
  exact path where a file fetched by hand should be placed.
- `extract_archive` refuses absolute paths, ``..`` components, links that point outside the
  destination and device files (and uses tarfile's ``data`` filter where Python has it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

__all__ = [
    "ChecksumError",
    "DownloadError",
    "UnsafeArchiveError",
    "check_integrity",
    "data_root",
    "download",
    "extract_archive",
    "file_hash",
]

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be downloaded (offline, unreachable, truncated).

    Examples:
        >>> issubclass(DownloadError, RuntimeError)
        True
    """


class ChecksumError(DownloadError):
    """A file's checksum is not the expected one (the file has been deleted).

    Examples:
        >>> issubclass(ChecksumError, DownloadError)
        True
    """


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the destination folder.

    Examples:
        >>> issubclass(UnsafeArchiveError, ValueError)
        True
    """


def data_root() -> Path:
    """Where datasets live: ``$TINYTORCH_DATA``, else ``~/.cache/tinytorch``.

    Examples:
        >>> isinstance(data_root(), Path)
        True
    """
    env = os.environ.get("TINYTORCH_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tinytorch"


def file_hash(path, algorithm: str = "md5") -> str:
    """The hex digest of a file, read in chunks.

    Examples:
        >>> import tempfile, os
        >>> fd, p = tempfile.mkstemp(); os.close(fd)
        >>> file_hash(p)
        'd41d8cd98f00b204e9800998ecf8427e'
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected(md5: str | None, sha256: str | None) -> tuple[str, str] | None:
    if sha256:
        return "sha256", sha256.lower()
    if md5:
        return "md5", md5.lower()
    return None


def check_integrity(path, md5: str | None = None, sha256: str | None = None) -> bool:
    """True when ``path`` exists and matches the given checksum (any existing file if none).

    Examples:
        >>> check_integrity("/nonexistent/file")
        False
    """
    path = Path(path)
    if not path.is_file():
        return False
    want = _expected(md5, sha256)
    return want is None or file_hash(path, want[0]) == want[1]


def _place_by_hand(url: str, dest: Path, md5: str | None, sha256: str | None) -> str:
    want = _expected(md5, sha256)
    check = f" ({want[0]} {want[1]})" if want else ""
    return (
        f"Download it by hand from {url} and place it at {dest}{check}, "
        "or point the loader at a local copy."
    )


def _progress(total: int | None, name: str, enabled: bool | None):
    """A rich progress bar when stdout is a TTY (and rich is installed); otherwise None."""
    if enabled is None:
        enabled = sys.stdout.isatty()
    if not enabled:
        return None
    try:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ImportError:
        return None
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task(name, total=total)
    return bar, task


def download(
    url: str,
    dest,
    md5: str | None = None,
    sha256: str | None = None,
    *,
    timeout: float = 10.0,
    progress: bool | None = None,
) -> Path:
    """Download ``url`` to ``dest``, verified and atomic; return ``dest``.

    An existing ``dest`` with the right checksum is kept (no download). One with a wrong
    checksum is deleted and downloaded again.

    Args:
        url: http(s) or file URL.
        dest: the final path (its folder is created).
        md5: expected md5 hex digest (or use ``sha256``).
        sha256: expected sha256 hex digest.
        timeout: seconds to wait for the connection or for data (fail fast when offline).
        progress: show a rich progress bar (None: only when stdout is a TTY).

    Raises:
        DownloadError: unreachable, offline or truncated; says where to place the file by hand.
        ChecksumError: the bytes do not match the checksum (says expected vs got).

    Examples:
        >>> download("https://example.org/data.bin", "/tmp/data.bin", md5="...")  # doctest: +SKIP
    """
    dest = Path(dest)
    want = _expected(md5, sha256)
    if dest.is_file():
        if want is None or file_hash(dest, want[0]) == want[1]:
            return dest
        dest.unlink()  # a corrupted or partial earlier file is never trusted
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    hasher = hashlib.new(want[0]) if want else None
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DownloadError(
                    f"could not download {url}: {reason}. {_place_by_hand(url, dest, md5, sha256)}"
                ) from None
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                bar = _progress(total, dest.name, progress)
                if bar:
                    bar[0].start()
                try:
                    while True:
                        try:
                            chunk = response.read(CHUNK)
                        except (OSError, ValueError) as exc:  # reset, timeout, IncompleteRead
                            raise DownloadError(
                                f"download of {url} broke off after {received} bytes ({exc}). "
                                f"Run again to retry. {_place_by_hand(url, dest, md5, sha256)}"
                            ) from None
                        if not chunk:
                            break
                        out.write(chunk)
                        received += len(chunk)
                        if hasher:
                            hasher.update(chunk)
                        if bar:
                            bar[0].update(bar[1], completed=received)
                finally:
                    if bar:
                        bar[0].stop()
            if total is not None and received != total:
                raise DownloadError(
                    f"download of {url} is truncated: got {received} of {total} bytes; the "
                    f"partial file was deleted, run again to retry. "
                    f"{_place_by_hand(url, dest, md5, sha256)}"
                )
        if hasher:
            got = hasher.hexdigest()
            if got != want[1]:
                raise ChecksumError(
                    f"{want[0]} mismatch for {url}: expected {want[1]}, got {got} "
                    f"({received} bytes). The file was deleted; a later run downloads it again. "
                    "A truncated or corrupted download, or the wrong checksum for this mirror."
                )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _check_member(member: tarfile.TarInfo, dest: Path) -> None:
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"archive member {name!r} contains '..'")
    target = (dest / name).resolve()
    if not target.is_relative_to(dest):
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside {dest}")
    if member.issym() or member.islnk():
        link = PurePosixPath(member.linkname)
        if link.is_absolute():
            raise UnsafeArchiveError(f"archive link {name!r} -> {member.linkname!r} is absolute")
        base = (dest / name).parent if member.issym() else dest
        if not (base / member.linkname).resolve().is_relative_to(dest):
            raise UnsafeArchiveError(
                f"archive link {name!r} -> {member.linkname!r} points outside {dest}"
            )
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member {name!r} is a device or special file")


def extract_archive(archive, dest) -> Path:
    """Extract a tar (.tar, .tar.gz, ...) into ``dest`` safely; return ``dest``.

    Every member is checked before anything is written (absolute paths, ``..``, links
    pointing outside ``dest`` and device files are refused); the members are unpacked into a
    temporary folder inside ``dest`` and then moved into place, so an interrupted extraction
    never leaves a half-written dataset folder behind.

    Raises:
        UnsafeArchiveError: a member would escape ``dest``.

    Examples:
        >>> extract_archive("cifar-10-python.tar.gz", "data/")  # doctest: +SKIP
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _check_member(m, dest)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
        try:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(staging, members=members, filter="data")
            else:  # pragma: no cover (Python < 3.10.12 / 3.11.4)
                tf.extractall(staging, members=members)
            for entry in staging.iterdir():
                target = dest / entry.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                os.replace(entry, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return dest
