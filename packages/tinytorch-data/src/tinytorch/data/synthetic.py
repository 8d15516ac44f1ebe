"""Small synthetic datasets that need no download: spirals, XOR, blobs; digits via scikit-learn.

Each returns ``(X, y)``: float32 features ``(n, features)`` and int64 labels ``(n,)``.
``seed`` is an int, a `tinytorch.tensor.Generator`, or None (the default generator).
"""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Generator

__all__ = ["load_digits", "make_blobs", "make_spirals", "make_xor"]


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, Generator):
        return seed.numpy
    if seed is None:
        from tinytorch.tensor import default_generator

        return default_generator.numpy
    return np.random.default_rng(seed)


def _split(n: int, classes: int) -> np.ndarray:
    """Labels for n samples spread as evenly as possible over the classes."""
    return np.repeat(np.arange(classes), [n // classes + (c < n % classes) for c in range(classes)])


def make_spirals(
    n: int = 200, classes: int = 2, noise: float = 0.2, seed=None, turns: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: a classic non-linearly-separable set.

    Examples:
        >>> X, y = make_spirals(100, classes=3, seed=0)
        >>> X.shape, X.dtype, sorted(set(y.tolist()))
        ((100, 2), dtype('float32'), [0, 1, 2])
    """
    if n < classes or classes < 1:
        raise ValueError(f"make_spirals: need n >= classes >= 1, got n={n}, classes={classes}")
    rng = _rng(seed)
    y = _split(n, classes)
    r = np.concatenate([np.linspace(0.0, 1.0, (y == c).sum()) for c in range(classes)])
    theta = r * turns * 2 * np.pi + y * (2 * np.pi / classes)
    theta = theta + rng.normal(0.0, noise, size=n)
    X = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return X.astype(np.float32), y.astype(np.int64)


def make_xor(n: int = 200, noise: float = 0.1, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Points around the four corners of a square; label = (x > 0) XOR (y > 0).

    Examples:
        >>> X, y = make_xor(8, noise=0.0, seed=0)
        >>> bool(((X[:, 0] > 0) ^ (X[:, 1] > 0) == (y == 1)).all())
        True
    """
    rng = _rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    X = (corners * 2 - 1) * 0.5 + rng.normal(0.0, noise, size=(n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return X.astype(np.float32), y


def make_blobs(
    n: int = 200,
    centers: int = 3,
    features: int = 2,
    std: float = 1.0,
    seed=None,
    box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around ``centers`` random centres drawn in ``box``.

    Examples:
        >>> X, y = make_blobs(90, centers=3, features=4, seed=0)
        >>> X.shape, int(y.max())
        ((90, 4), 2)
    """
    rng = _rng(seed)
    mu = rng.uniform(box[0], box[1], size=(centers, features))
    y = _split(n, centers)
    X = mu[y] + rng.normal(0.0, std, size=(n, features))
    return X.astype(np.float32), y.astype(np.int64)


def load_digits(images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, scaled to [0, 1] (needs the ``sklearn`` extra).

    Args:
        images: ``(N, 1, 8, 8)`` instead of flat ``(N, 64)``.

    Raises:
        ImportError: scikit-learn is not installed (``pip install tinytorch-data[sklearn]``).

    Examples:
        >>> X, y = load_digits()  # doctest: +SKIP
        >>> X.shape, y.max()  # doctest: +SKIP
        ((1797, 64), 9)
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn: pip install tinytorch-data[sklearn]"
        ) from None
    bunch = _sk_load_digits()
    X = (np.asarray(bunch.data, dtype=np.float32) / 16.0).astype(np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    if images:
        X = X.reshape(-1, 1, 8, 8)
    return X, y
