"""tito: the TinyTorch command line.

tito never imports a TinyTorch package at import time: every command imports what it needs
lazily, so that `tito system doctor` still runs (and explains what is wrong) when an install
is broken.
"""

from __future__ import annotations

from importlib import metadata as _metadata

__all__ = ["__version__", "DISTRIBUTION"]

#: The distribution name on PyPI (`tito` on PyPI is an unrelated project).
DISTRIBUTION = "tito-cli"

try:
    __version__: str = _metadata.version(DISTRIBUTION)
    """The installed version of the `tito-cli` distribution."""
except _metadata.PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0+unknown"
