"""Sliding windows of call outcomes for the circuit breaker, updated in O(1).

Both windows keep three running totals (calls, failures, slow calls) and
adjust them as outcomes enter and leave, so reading a rate never walks the
window:

- :class:`CountWindow` holds the last ``size`` outcomes in a ring; each new
  outcome replaces the oldest one.
- :class:`TimeWindow` holds the outcomes of the last ``window_s`` seconds in
  a ring of buckets, each ``window_s / buckets`` long; moving to a new
  bucket clears the buckets it passes over. A jump longer than the window
  clears all of them once, so the cost stays O(1) amortized per outcome.

Neither reads a clock: the time window is told the time of each outcome.
"""

from __future__ import annotations

from typing import Protocol

_FAILED = 1
_SLOW = 2


class OutcomeWindow(Protocol):
    """What the breaker reads from a window."""

    calls: int
    failures: int
    slow: int

    def add(self, failed: bool, slow: bool, now_s: float) -> None: ...

    def refresh(self, now_s: float) -> None: ...

    def clear(self) -> None: ...


class CountWindow:
    """The last ``size`` outcomes."""

    __slots__ = ("_codes", "_next", "_size", "calls", "failures", "slow")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a count window holds at least one call, got {size}")
        self._size = size
        self._codes = [0] * size
        self._next = 0
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def add(self, failed: bool, slow: bool, now_s: float) -> None:
        """Add one outcome; the oldest leaves once the ring is full."""
        i = self._next
        if self.calls == self._size:
            old = self._codes[i]
            self.failures -= old & _FAILED
            self.slow -= old >> 1
        else:
            self.calls += 1
        self._codes[i] = failed | (slow << 1)
        self.failures += failed
        self.slow += slow
        self._next = i + 1 if i + 1 < self._size else 0

    def refresh(self, now_s: float) -> None:
        """Nothing ages out of a count window."""

    def clear(self) -> None:
        self._next = self.calls = self.failures = self.slow = 0


class TimeWindow:
    """The outcomes of the last ``window_s`` seconds, in ``buckets`` steps.

    The window covers the current bucket and the ``buckets - 1`` before it,
    so its true span lies between ``window_s - window_s / buckets`` and
    ``window_s``: ten buckets keep that within 10 %.
    """

    __slots__ = (
        "_bucket_calls",
        "_bucket_failures",
        "_bucket_s",
        "_bucket_slow",
        "_buckets",
        "_head",
        "calls",
        "failures",
        "slow",
    )

    def __init__(self, window_s: float, buckets: int = 10) -> None:
        if not window_s > 0 or buckets < 1:
            raise ValueError(
                f"a time window needs a positive length and at least one bucket, "
                f"got {window_s} s and {buckets}"
            )
        self._buckets = buckets
        self._bucket_s = window_s / buckets
        self._bucket_calls = [0] * buckets
        self._bucket_failures = [0] * buckets
        self._bucket_slow = [0] * buckets
        self._head: int | None = None
        self.calls = self.failures = self.slow = 0

    def add(self, failed: bool, slow: bool, now_s: float) -> None:
        """Add one outcome at ``now_s`` (seconds on the breaker's clock)."""
        self.refresh(now_s)
        i = (self._head or 0) % self._buckets
        self._bucket_calls[i] += 1
        self._bucket_failures[i] += failed
        self._bucket_slow[i] += slow
        self.calls += 1
        self.failures += failed
        self.slow += slow

    def refresh(self, now_s: float) -> None:
        """Drop the buckets that fell out of the window by ``now_s``."""
        index = int(now_s // self._bucket_s)
        head = self._head
        if head is None:
            self._head = index
            return
        if index <= head:
            # A clock that stepped back keeps filling the newest bucket.
            return
        if index - head >= self._buckets:
            self.clear()
        else:
            for passed in range(head + 1, index + 1):
                self._drop(passed % self._buckets)
        self._head = index

    def _drop(self, i: int) -> None:
        self.calls -= self._bucket_calls[i]
        self.failures -= self._bucket_failures[i]
        self.slow -= self._bucket_slow[i]
        self._bucket_calls[i] = self._bucket_failures[i] = self._bucket_slow[i] = 0

    def clear(self) -> None:
        for i in range(self._buckets):
            self._bucket_calls[i] = self._bucket_failures[i] = 0
            self._bucket_slow[i] = 0
        self.calls = self.failures = self.slow = 0
