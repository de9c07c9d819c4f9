"""Where each request falls on the cumulative-count axis of a rate profile.

Evenly spaced arrivals sit at ``n + phase`` for n = 0, 1, 2, ...: the phase
(a worker's index over the worker count) interleaves the workers, so that
together they send as one schedule at the whole rate would. Poisson
arrivals are spaced by exponential draws of mean 1 on the same axis, which
the profile maps to time: by the time-rescaling theorem that is a Poisson
process whose intensity follows the profile's rate, ramps included.
"""

from __future__ import annotations

import math

import numpy as np


class EvenArrivals:
    """Arrival positions ``n + phase``: a fixed interval at a constant rate."""

    def __init__(self, phase: float = 0.0) -> None:
        if not 0.0 <= phase < 1.0:
            raise ValueError(f"phase must be in [0, 1), got {phase!r}")
        self._phase = phase
        self._n = 0

    def peek(self) -> float:
        """The next arrival's position."""
        return self._n + self._phase

    def advance(self) -> None:
        """The next arrival was taken; move to the one after."""
        self._n += 1

    def skip_below(self, position: float) -> int:
        """Pass over every arrival before ``position``; return how many."""
        first_kept = max(self._n, math.ceil(position - self._phase))
        skipped, self._n = first_kept - self._n, first_kept
        return skipped


class PoissonArrivals:
    """Arrival positions spaced by exponential draws of mean 1."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._position = float(rng.exponential())

    def peek(self) -> float:
        return self._position

    def advance(self) -> None:
        self._position += float(self._rng.exponential())

    def skip_below(self, position: float) -> int:
        """Pass over every arrival before ``position``; return how many.

        The process has no memory, so the arrivals after the next one and
        before ``position`` are a Poisson count, and the first one kept
        lies an exponential draw past ``position``.
        """
        if self._position >= position:
            return 0
        skipped = 1 + int(self._rng.poisson(position - self._position))
        self._position = position + float(self._rng.exponential())
        return skipped


Arrivals = EvenArrivals | PoissonArrivals
