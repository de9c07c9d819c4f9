"""What the aggregator offers its readers: immutable results, merged exactly.

The SLA evaluator, the reports and the end-of-run table read these objects
and nothing else (docs/results.md shows how):

- :class:`NameResult`: one request name (or a merge of several) over some
  span: count, outcome counts, exact min/max/mean, HDR percentiles, stdev,
  rps, error rates.
- :class:`ResultSet`: every name over one span, with ``total`` and
  ``select(glob)``.
- :class:`RunSnapshot`: the whole run (``cumulative``), the time series
  (``intervals``), rolling windows over it, completeness and worker events.

Under the open model a name's latency counts from each request's intended
start (corrected for coordinated omission); ``NameResult.uncorrected``
then holds the same requests measured from their actual send. In a closed
model run it is None: both are the same data, and ``as_uncorrected()``
returns the result itself.

All of them are frozen; merges happen on demand and are cached per object.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from loadgen.recording.histogram import Histogram
from loadgen.recording.recorder import EventValue

# Locust calls its all-names row "Aggregated"; the table uses the same word.
TOTAL_NAME = "Aggregated"
OK_OUTCOME = "ok"

# Counters the open model's pacer keeps (loadgen.pacing): requests sent on
# the schedule, those sent after their intended start because no user was
# free, and those given up as too late.
SENT_COUNTER = "pacing.sent"
LATE_COUNTER = "pacing.late"
DROPPED_COUNTER = "pacing.dropped"


@dataclass(frozen=True)
class PacingCounts:
    """What the open model's schedule did over a span."""

    sent_count: int
    late_count: int
    dropped_count: int
    duration_s: float

    @property
    def achieved_rate_per_s(self) -> float:
        return self.sent_count / self.duration_s if self.duration_s > 0 else 0.0


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))


@dataclass(frozen=True, eq=False)
class NameResult:
    """Latency and outcomes of one request name (or a merge) over one span."""

    name: str
    histogram: Histogram
    outcome_counts: Mapping[str, int]
    min_us: int
    max_us: int
    sum_us: int
    start_s: float
    end_s: float
    # Latency from actual send of the same requests (open model); None when
    # no request was paced, so it would be the same data as this result.
    uncorrected: NameResult | None = None

    @classmethod
    def empty(cls, name: str, start_s: float = 0.0, end_s: float = 0.0) -> NameResult:
        return cls(name, Histogram(), _frozen_counts({}), 0, 0, 0, start_s, end_s)

    def as_uncorrected(self) -> NameResult:
        """The latency from actual send: ``uncorrected``, or this result."""
        return self if self.uncorrected is None else self.uncorrected

    @classmethod
    def merge(
        cls,
        name: str,
        results: Sequence[NameResult],
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> NameResult:
        """The exact merge of several results (names or spans)."""
        parts = [r for r in results if r.count]
        span_start = min((r.start_s for r in results), default=0.0)
        span_end = max((r.end_s for r in results), default=0.0)
        span_start = span_start if start_s is None else start_s
        span_end = span_end if end_s is None else end_s
        if not parts:
            return cls.empty(name, span_start, span_end)
        outcomes: dict[str, int] = {}
        for r in parts:
            for outcome, n in r.outcome_counts.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
        uncorrected = None
        if any(r.uncorrected is not None for r in parts):
            sides = [r.as_uncorrected() for r in parts]
            uncorrected = cls.merge(name, sides, span_start, span_end)
        return cls(
            name=name,
            histogram=Histogram.merge(r.histogram for r in parts),
            outcome_counts=_frozen_counts(outcomes),
            min_us=min(r.min_us for r in parts),
            max_us=max(r.max_us for r in parts),
            sum_us=sum(r.sum_us for r in parts),
            start_s=span_start,
            end_s=span_end,
            uncorrected=uncorrected,
        )

    @property
    def count(self) -> int:
        return self.histogram.count

    @property
    def ok_count(self) -> int:
        return self.outcome_counts.get(OK_OUTCOME, 0)

    @property
    def failure_count(self) -> int:
        """Requests in any outcome class but ``ok``."""
        return self.count - self.ok_count

    def failures_by_outcome(self) -> Mapping[str, int]:
        return {k: v for k, v in self.outcome_counts.items() if k != OK_OUTCOME}

    def error_rate(self, outcome: str | None = None) -> float:
        """Share of requests that failed (in ``outcome`` only, if given)."""
        if self.count == 0:
            return 0.0
        failed = (
            self.failure_count
            if outcome is None
            else self.outcome_counts.get(outcome, 0)
        )
        return failed / self.count

    @property
    def duration_s(self) -> float:
        return max(self.end_s - self.start_s, 0.0)

    @property
    def rps(self) -> float:
        return self.count / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def mean_us(self) -> float:
        """Exact mean of the recorded microseconds."""
        return self.sum_us / self.count if self.count else 0.0

    @property
    def stdev_us(self) -> float:
        """Standard deviation over HDR bucket midpoints."""
        return self.histogram.stdev_us

    def percentile_us(self, percentile: float) -> int:
        """Value at a percentile in 0..100: HDR's, kept within the exact min..max.

        HDR reports the highest value of the percentile's bucket, which can
        lie above the largest value actually recorded; the exact extremes
        travel with the counts, so the result never leaves them.
        """
        return self.percentiles_us([percentile])[percentile]

    def percentiles_us(self, percentiles: Sequence[float]) -> dict[float, int]:
        values = self.histogram.percentiles_us(percentiles)
        if self.count:
            values = [min(max(v, self.min_us), self.max_us) for v in values]
        return dict(zip(percentiles, values, strict=True))


@dataclass(frozen=True, eq=False)
class ResultSet:
    """Every request name over one span of time."""

    start_s: float
    end_s: float
    by_name: Mapping[str, NameResult]
    # What workers counted besides requests (e.g. ``pacing.late``).
    counters: Mapping[str, int] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.by_name))

    @property
    def pacing(self) -> PacingCounts | None:
        """The open model's counts; None when nothing was paced."""
        counters = self.counters
        keys = (SENT_COUNTER, LATE_COUNTER, DROPPED_COUNTER)
        if not any(k in counters for k in keys):
            return None
        sent, late, dropped = (counters.get(k, 0) for k in keys)
        return PacingCounts(sent, late, dropped, self.duration_s)

    @property
    def duration_s(self) -> float:
        return max(self.end_s - self.start_s, 0.0)

    @cached_property
    def total(self) -> NameResult:
        """All names merged (Locust's "Aggregated" row)."""
        return NameResult.merge(
            TOTAL_NAME, list(self.by_name.values()), self.start_s, self.end_s
        )

    def matching(self, pattern: str) -> tuple[str, ...]:
        """Names that match a glob such as ``"tools/call *"``."""
        return tuple(n for n in self.names if fnmatch.fnmatchcase(n, pattern))

    def select(self, pattern: str | None = None) -> NameResult:
        """Merge of the names matching ``pattern``; all names when None."""
        if pattern is None:
            return self.total
        if pattern in self.by_name and not any(c in pattern for c in "*?["):
            return self.by_name[pattern]
        names = self.matching(pattern)
        return NameResult.merge(
            pattern, [self.by_name[n] for n in names], self.start_s, self.end_s
        )

    @classmethod
    def merge(
        cls, sets: Sequence[ResultSet], start_s: float | None = None
    ) -> ResultSet:
        """Several spans as one (e.g. the intervals of a rolling window)."""
        if not sets:
            return cls(start_s or 0.0, start_s or 0.0, MappingProxyType({}))
        begin = min(s.start_s for s in sets) if start_s is None else start_s
        end = max(s.end_s for s in sets)
        grouped: dict[str, list[NameResult]] = {}
        counters: dict[str, int] = {}
        for s in sets:
            for name, result in s.by_name.items():
                grouped.setdefault(name, []).append(result)
            for kind, n in s.counters.items():
                counters[kind] = counters.get(kind, 0) + n
        by_name = {n: NameResult.merge(n, rs, begin, end) for n, rs in grouped.items()}
        return cls(begin, end, MappingProxyType(by_name), _frozen_counts(counters))


@dataclass(frozen=True, eq=False)
class IntervalResult(ResultSet):
    """One report interval of the run, merged over every worker."""

    slot: int = 0
    worker_count: int = 0
    frame_count: int = 0


@dataclass(frozen=True)
class LostWorker:
    """A worker that stopped reporting before its final interval."""

    worker_id: str
    last_seq: int
    last_interval_end_s: float
    intervals_lost: int


@dataclass(frozen=True)
class Completeness:
    """How much of what the workers measured reached the aggregator."""

    workers_seen: int = 0
    workers_finished: int = 0
    intervals_received: int = 0
    intervals_missing: int = 0
    lost_workers: tuple[LostWorker, ...] = ()
    duplicate_frames: int = 0
    rejected_frames: Mapping[str, int] = field(default_factory=dict)
    clamped_low_count: int = 0
    clamped_high_count: int = 0
    dropped_event_count: int = 0

    @property
    def complete(self) -> bool:
        return self.intervals_missing == 0 and not self.lost_workers


@dataclass(frozen=True)
class TimedEvent:
    """A worker's time-line mark (breaker transition, chaos mark, ...)."""

    worker_id: str
    kind: str
    time_s: float
    attrs: Mapping[str, EventValue]


@dataclass(frozen=True, eq=False)
class RunSnapshot:
    """The run as the aggregator knows it at ``taken_at_s``."""

    run_id: str
    report_interval_s: float
    taken_at_s: float
    finished: bool
    cumulative: ResultSet
    intervals: tuple[IntervalResult, ...]
    completeness: Completeness
    events: tuple[TimedEvent, ...] = ()

    @property
    def start_s(self) -> float:
        return self.cumulative.start_s

    @property
    def end_s(self) -> float:
        return self.cumulative.end_s

    def window(self, start_s: float, end_s: float) -> ResultSet:
        """Intervals that start in [start_s, end_s), merged."""
        chosen = [i for i in self.intervals if start_s <= i.start_s < end_s]
        return ResultSet.merge(chosen)

    def last(self, window_s: float) -> ResultSet:
        """The newest ``window_s`` seconds of intervals, merged."""
        if not self.intervals:
            return ResultSet.merge([])
        end_slot = self.intervals[-1].slot
        return self._slots(end_slot, window_s)

    def rolling(self, window_s: float) -> Iterator[ResultSet]:
        """Each window of ``window_s`` seconds that ends with an interval."""
        for interval in self.intervals:
            yield self._slots(interval.slot, window_s)

    def _slots(self, end_slot: int, window_s: float) -> ResultSet:
        span = max(round(window_s / self.report_interval_s), 1)
        first = end_slot - span + 1
        return ResultSet.merge(
            [i for i in self.intervals if first <= i.slot <= end_slot]
        )

    def events_of(self, kinds: Iterable[str]) -> tuple[TimedEvent, ...]:
        wanted = set(kinds)
        return tuple(e for e in self.events if e.kind in wanted)
