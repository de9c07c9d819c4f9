"""The arrival rate over time, and how many requests it means up to a moment.

A profile is piecewise linear in requests per second: one endless segment
for a constant rate, or one segment per stage (a ramp from the previous
rate, or a step that holds its rate). After the last stage the rate is
zero and the schedule ends.

Everything downstream works on the cumulative count ``C(t)``, the number of
requests the profile means to start by ``t``: request ``n`` is due when
``C(t)`` reaches its position ``n + phase`` (or, for Poisson arrivals, a
sum of exponential draws). :meth:`RateProfile.time_at` inverts ``C``
exactly, segment by segment, so a ramp does not drift the way summing
``1 / rate`` steps would.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from loadgen.errors import ConfigError

RAMP = "ramp"
STEP = "step"
SHAPES = (RAMP, STEP)


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: ``rate_per_s`` reached at its end (``ramp``, linearly from
    the previous stage's rate) or held throughout (``step``)."""

    duration_s: float
    rate_per_s: float
    shape: str = RAMP


@dataclass(frozen=True, slots=True)
class _Segment:
    """A span whose rate moves linearly from ``start_rate`` to ``end_rate``."""

    start_s: float
    end_s: float
    start_rate: float
    end_rate: float
    count_before: float

    @property
    def slope(self) -> float:
        span = self.end_s - self.start_s
        if math.isinf(span) or span <= 0:
            return 0.0
        return (self.end_rate - self.start_rate) / span

    @property
    def count(self) -> float:
        span = self.end_s - self.start_s
        if math.isinf(span):
            return math.inf if self.start_rate > 0 else 0.0
        return (self.start_rate + self.end_rate) / 2 * span

    def count_until(self, time_s: float) -> float:
        """Requests due from the segment's start to ``time_s`` (inside it)."""
        tau = time_s - self.start_s
        return self.start_rate * tau + self.slope * tau * tau / 2

    def time_of(self, count: float) -> float:
        """When the segment has made ``count`` requests due (0 <= count)."""
        if count <= 0:
            return self.start_s
        rate = self.start_rate
        # tau solves rate*tau + slope*tau^2/2 = count; written as
        # 2*count / (rate + sqrt(...)) it stays exact when slope is 0.
        root = math.sqrt(max(rate * rate + 2 * self.slope * count, 0.0))
        return self.start_s + 2 * count / (rate + root)


class RateProfile:
    """Requests per second over seconds since the start of the run."""

    def __init__(self, segments: Sequence[_Segment]) -> None:
        if not segments:
            raise ValueError("a rate profile needs at least one segment")
        self._segments = tuple(segments)
        self._starts = [s.start_s for s in self._segments]
        self._count_ends = [s.count_before + s.count for s in self._segments]

    @classmethod
    def constant(cls, rate_per_s: float) -> RateProfile:
        """The same rate for ever."""
        return cls([_Segment(0.0, math.inf, rate_per_s, rate_per_s, 0.0)])

    @classmethod
    def from_stages(
        cls, stages: Sequence[Stage], initial_rate_per_s: float = 0.0
    ) -> RateProfile:
        """Stages one after the other; a ramp starts where the last one ended."""
        segments = []
        start_s, rate, count = 0.0, initial_rate_per_s, 0.0
        for stage in stages:
            begin = rate if stage.shape == RAMP else stage.rate_per_s
            segment = _Segment(
                start_s, start_s + stage.duration_s, begin, stage.rate_per_s, count
            )
            segments.append(segment)
            start_s, rate, count = (
                segment.end_s,
                stage.rate_per_s,
                count + segment.count,
            )
        return cls(segments)

    @property
    def end_s(self) -> float:
        """When the profile ends (infinite for a constant rate)."""
        return self._segments[-1].end_s

    @property
    def total_count(self) -> float:
        return self._count_ends[-1]

    def scaled(self, factor: float) -> RateProfile:
        """The same shape at ``factor`` times the rate (one worker's share)."""
        return RateProfile(
            [
                _Segment(
                    s.start_s,
                    s.end_s,
                    s.start_rate * factor,
                    s.end_rate * factor,
                    s.count_before * factor,
                )
                for s in self._segments
            ]
        )

    def rate_at(self, time_s: float) -> float:
        """The rate in requests per second at ``time_s``; 0 after the end."""
        if time_s < 0 or time_s >= self.end_s:
            return 0.0
        segment = self._segment_at(time_s)
        return segment.start_rate + segment.slope * (time_s - segment.start_s)

    def count_at(self, time_s: float) -> float:
        """Requests due from the start up to ``time_s``."""
        if time_s <= 0:
            return 0.0
        if time_s >= self.end_s:
            return self.total_count
        segment = self._segment_at(time_s)
        return segment.count_before + segment.count_until(time_s)

    def _segment_at(self, time_s: float) -> _Segment:
        """The segment that holds ``time_s`` (the later of two that touch)."""
        return self._segments[bisect.bisect_right(self._starts, time_s) - 1]

    def time_at(self, count: float) -> float | None:
        """When ``count`` requests have come due; None if never (ended)."""
        if count >= self.total_count:
            return None
        # The first segment whose cumulative count passes ``count``; zero-rate
        # segments end where they began and are skipped.
        index = bisect.bisect_right(self._count_ends, max(count, 0.0))
        segment = self._segments[index]
        return segment.time_of(count - segment.count_before)


# Parsing ---------------------------------------------------------------------

_UNIT_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration_s(text: str, *, field: str) -> float:
    """``500ms``, ``30s``, ``2m`` or ``1h``; a bare number is refused, since
    it could mean seconds as easily as milliseconds."""
    body = text.strip()
    for unit in sorted(_UNIT_S, key=len, reverse=True):
        if body.endswith(unit):
            number = body[: -len(unit)]
            try:
                value = float(number) * _UNIT_S[unit]
            except ValueError:
                break
            if math.isfinite(value) and value >= 0:
                return value
            break
    raise ConfigError(
        "must be a duration with a unit, such as 500ms, 30s, 2m or 1h",
        field=field,
        value=text,
    )


def parse_rate_per_s(text: str, *, field: str) -> float:
    """A finite rate in requests per second, zero or more."""
    try:
        value = float(text.strip().removesuffix("/s"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            "must be requests per second, a finite number >= 0",
            field=field,
            value=text,
        )
    return value


def parse_stages(text: str, shape: str, *, field: str) -> tuple[Stage, ...]:
    """``30s:100,1m:100,30s:0``: comma-separated ``DURATION:RATE`` stages."""
    if shape not in SHAPES:
        raise ConfigError(f"must be one of {', '.join(SHAPES)}", value=shape)
    stages = []
    for index, item in enumerate(text.split(",")):
        where = f"{field}[{index}]"
        duration, sep, rate = item.partition(":")
        if not sep:
            raise ConfigError(
                "must read DURATION:RATE, e.g. 30s:100", field=where, value=item
            )
        stages.append(
            Stage(
                parse_duration_s(duration, field=where),
                parse_rate_per_s(rate, field=where),
                shape,
            )
        )
    return tuple(stages)
