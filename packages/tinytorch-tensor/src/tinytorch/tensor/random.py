"""Seeded random numbers: a `Generator` per stream, and one default stream set by `manual_seed`.

Random tensors come from numpy's PCG64 generator. Passing ``generator=`` to
`rand`, `randn` or `randint` gives a stream of its own (what a DataLoader's
shuffle uses), so that one part of a program cannot shift another's numbers.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A seeded source of random numbers (wraps ``numpy.random.Generator``).

    Examples:
        >>> g = Generator(seed=0)
        >>> a = g.numpy.random()
    """

    def __init__(self, seed: int | None = None):
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Restart this stream from ``seed`` (None: fresh entropy from the OS)."""
        self.seed = seed
        self.numpy = np.random.default_rng(seed)
        return self

    def get_state(self) -> dict:
        """The stream's full state, a JSON-friendly dict (for exact resume)."""
        return self.numpy.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Continue from a state returned by `get_state`."""
        self.numpy.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, which every random op uses unless given ``generator=``."""
    return default_generator.manual_seed(seed)


def resolve(generator: Generator | None) -> np.random.Generator:
    """The numpy generator to draw from: ``generator``'s, or the default one."""
    return (generator or default_generator).numpy
