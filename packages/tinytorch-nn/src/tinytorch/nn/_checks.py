"""Argument checks shared by the layers: bad arguments fail at construction, naming the layer."""

from __future__ import annotations

import numpy as np


def positive_int(layer: str, what: str, value) -> int:
    """``value`` as an int >= 1, else TypeError / ValueError naming ``layer`` and ``what``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{layer}: {what} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{layer}: {what} must be >= 1, got {value}")
    return int(value)
