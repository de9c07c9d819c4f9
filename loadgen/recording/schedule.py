"""When to take an interval: on wall-clock multiples of the report interval.

Every worker ends its intervals at the same wall-clock instants (12:00:01,
12:00:02, ...), so the aggregator can line intervals of different workers up
by their start without any coordination beyond synchronized clocks. Only the
first interval (from the test start) and the last one (to the test stop) are
shorter. The clock is injected: tests step it, the driver sleeps on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

# Locust's own worker report interval is 3 s; the issue asks for 1 s so SLA
# windows of a few seconds still hold several intervals.
DEFAULT_REPORT_INTERVAL_S = 1.0


def slot_of(time_s: float, interval_s: float) -> int:
    """Index of the interval that contains ``time_s`` (epoch seconds)."""
    # A start exactly on a boundary computed by another process may come back
    # a hair below it after float division; 1e-6 of an interval absorbs that.
    return math.floor(time_s / interval_s + 1e-6)


@dataclass
class ReportSchedule:
    """Interval boundaries for one test run, from the clock it is given."""

    interval_s: float
    clock: Clock
    interval_start_s: float = 0.0
    _due_s: float = 0.0

    @classmethod
    def start(cls, interval_s: float, clock: Clock) -> ReportSchedule:
        if not interval_s > 0:
            raise ValueError(f"report interval must be positive, got {interval_s!r}")
        now = clock()
        schedule = cls(interval_s, clock, now)
        schedule._due_s = schedule._next_boundary(now)
        return schedule

    def _next_boundary(self, after_s: float) -> float:
        return (slot_of(after_s, self.interval_s) + 1) * self.interval_s

    def seconds_until_due(self) -> float:
        """How long the driver may sleep before the next take (>= 0)."""
        return max(self._due_s - self.clock(), 0.0)

    def is_due(self) -> bool:
        return self.clock() >= self._due_s

    def advance(self) -> tuple[float, float]:
        """Close the current interval at the clock's now: (start_s, end_s)."""
        now = self.clock()
        span = (self.interval_start_s, now)
        self.interval_start_s = now
        self._due_s = self._next_boundary(now)
        return span
