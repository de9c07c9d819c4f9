"""The recorder: every request's latency and outcome, bucketed once a second.

The hot path (:meth:`Recorder.record`) does one dict lookup and two stores
into preallocated numpy arrays: about 0.3 us on the machine bench/README.md
names, against 0.8 us for hdrhistogram's ``record_value``. Bucketing,
counting per outcome, and min/max/sum per name happen vectorized when the
interval is taken (or when the buffer fills first), so their cost is paid
per interval, not per request.

A request is keyed by (name, outcome class); each key belongs to one name.
The recorder holds no clock: whoever takes an interval says when it began
and ended (see :mod:`loadgen.recording.schedule`).

Open-model requests (``record_paced``) carry two latencies: from their
intended start (the corrected one, which goes where every other latency
goes) and from their actual send. The second is kept apart, as a list of
buffer positions and values, so a closed-model run pays nothing for it; a
name gets an uncorrected histogram in an interval only when one of its
requests there was paced. Without one, both latencies are the same data.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from loadgen.recording.layout import DEFAULT_LAYOUT, HdrLayout, IntArray
from loadgen.recording.limits import (
    MAX_COUNTERS,
    MAX_OUTCOMES_PER_NAME,
    OTHER_OUTCOME,
    EventValue,
    check_counter,
    check_event,
    clean_name,
    clean_outcome,
)

logger = logging.getLogger(__name__)

# 64 Ki samples: a 1 s interval at 65,000 requests/s. A worker process spends
# about 300 us of CPU per MCP request (issue 2's measurement), so it reaches
# a few thousand a second and the buffer rarely spills.
DEFAULT_CAPACITY = 65_536

# Request names beyond this many share one histogram under OVERFLOW_NAME, so
# a name that embeds an id cannot grow memory without bound.
DEFAULT_MAX_NAMES = 1_000
OVERFLOW_NAME = "(other names)"

# Events from other modules (breaker transitions, chaos marks) per interval.
MAX_EVENTS_PER_INTERVAL = 1_000

# Raw (name, outcome) keys remembered beyond the cleaned ones: names cut
# short or outcomes rewritten still take the fast path, up to this many.
MAX_RAW_KEYS = 10_000


@dataclass(frozen=True)
class RecordedEvent:
    """Something another module marked on the time line, e.g. a breaker opening."""

    kind: str
    time_s: float
    attrs: Mapping[str, EventValue] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class UncorrectedLatency:
    """Latency from the actual send of one name's requests over one interval.

    Present only beside a corrected histogram (open model); it counts the
    same requests, so its count equals the corrected one.
    """

    bucket_indices: IntArray
    bucket_counts: IntArray
    min_us: int
    max_us: int
    sum_us: int

    @property
    def count(self) -> int:
        return int(self.bucket_counts.sum())


@dataclass(frozen=True, eq=False)
class NameRecord:
    """One request name over one interval: histogram, exact extremes, outcomes."""

    name: str
    bucket_indices: IntArray
    bucket_counts: IntArray
    min_us: int
    max_us: int
    sum_us: int
    # Requests by outcome class; the counts add up to the histogram's count.
    outcome_counts: Mapping[str, int] = field(default_factory=dict)
    # None: no request of the name was paced, so uncorrected is the same data.
    uncorrected: UncorrectedLatency | None = None

    @property
    def count(self) -> int:
        return int(self.bucket_counts.sum())


@dataclass(frozen=True, eq=False)
class IntervalRecord:
    """Everything recorded between two takes."""

    interval_start_s: float
    interval_end_s: float
    names: tuple[NameRecord, ...]
    clamped_low_count: int
    clamped_high_count: int
    events: tuple[RecordedEvent, ...]
    dropped_event_count: int
    # Things other modules counted (open-model late and dropped requests).
    counters: Mapping[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(n.count for n in self.names)


# Sparse buckets of one spill: name * counts_len + bucket index, and counts.
_Buckets = tuple[IntArray, IntArray]

_BIG = np.iinfo(np.int64).max


def _empty() -> IntArray:
    return np.zeros(0, np.int64)


@dataclass
class _Extremes:
    """Exact minimum, maximum and sum per name index."""

    mins: IntArray = field(default_factory=_empty)
    maxs: IntArray = field(default_factory=_empty)
    sums: IntArray = field(default_factory=_empty)

    @classmethod
    def of(cls, names: IntArray, values: IntArray, size: int) -> _Extremes:
        extremes = cls(
            np.full(size, _BIG, np.int64), np.full(size, -1, np.int64), _empty()
        )
        np.minimum.at(extremes.mins, names, values)
        np.maximum.at(extremes.maxs, names, values)
        weights = np.bincount(names, weights=values, minlength=size)
        extremes.sums = weights.astype(np.int64)
        return extremes

    def fold(self, other: _Extremes) -> None:
        """Take in another spill's extremes (as many names or more)."""
        size = other.mins.size
        self.mins = _grown(self.mins, size, _BIG)
        self.maxs = _grown(self.maxs, size, -1)
        self.sums = _grown(self.sums, size, 0)
        np.minimum(self.mins[:size], other.mins, out=self.mins[:size])
        np.maximum(self.maxs[:size], other.maxs, out=self.maxs[:size])
        self.sums[:size] += other.sums


@dataclass
class _Partial:
    """What spills of the current interval have bucketed so far."""

    combined: list[_Buckets] = field(default_factory=list)
    # Per spill: the uncorrected buckets, or None when none of its requests
    # was paced (then they are the corrected ones).
    uncorrected: list[_Buckets | None] = field(default_factory=list)
    key_counts: IntArray = field(default_factory=_empty)
    extremes: _Extremes = field(default_factory=_Extremes)
    uncorrected_extremes: _Extremes = field(default_factory=_Extremes)
    paced_names: set[int] = field(default_factory=set)
    clamped_low: int = 0
    clamped_high: int = 0


def _grown(array: IntArray, size: int, fill: int) -> IntArray:
    if array.size >= size:
        return array
    return np.concatenate([array, np.full(size - array.size, fill, np.int64)])


def _merged(pieces: list[_Buckets]) -> _Buckets:
    """Several spills' sparse buckets as one, counts added."""
    combined = np.concatenate([c for c, _ in pieces])
    counts = np.concatenate([n for _, n in pieces])
    if len(pieces) > 1:
        combined, inverse = np.unique(combined, return_inverse=True)
        counts = np.bincount(inverse, weights=counts).astype(np.int64)
    return combined, counts


class Recorder:
    """Latency in integer microseconds and outcome counts, per request name."""

    def __init__(
        self,
        layout: HdrLayout = DEFAULT_LAYOUT,
        capacity: int = DEFAULT_CAPACITY,
        max_names: int = DEFAULT_MAX_NAMES,
    ) -> None:
        self.layout = layout
        self._capacity = capacity
        self._max_names = max_names
        self._key_buf = np.zeros(capacity, dtype=np.int32)
        self._value_buf = np.zeros(capacity, dtype=np.int64)
        self._n = 0
        self._keys: dict[tuple[str, str], int] = {}
        self._key_outcomes: list[str] = []
        self._key_name_index: list[int] = []
        self._names: dict[str, int] = {}
        self._name_list: list[str] = []
        self._outcomes_per_name: list[int] = []
        self._partial = _Partial()
        # Buffer positions of paced requests and their uncorrected latency.
        self._paced_at: list[int] = []
        self._paced_us: list[int] = []
        self._events: list[RecordedEvent] = []
        self._dropped_events = 0
        self._counters: dict[str, int] = {}
        self.spill_count = 0

    # Hot path ----------------------------------------------------------------

    def record(self, name: str, latency_us: int, outcome: str) -> None:
        """Note one finished request; vectorized work waits for the interval."""
        key = self._keys.get((name, outcome))
        if key is None:
            key = self._new_key(name, outcome)
        i = self._n
        if i == self._capacity:
            self._spill()
            i = 0
        self._key_buf[i] = key
        self._value_buf[i] = latency_us
        self._n = i + 1

    def record_paced(
        self, name: str, latency_us: int, uncorrected_us: int, outcome: str
    ) -> None:
        """Note an open-model request: latency from its intended start, and
        from its actual send (``uncorrected_us``)."""
        self.record(name, latency_us, outcome)
        # record() spills a full buffer before it stores, so the sample
        # just stored sits at the last position of the current buffer.
        self._paced_at.append(self._n - 1)
        self._paced_us.append(uncorrected_us)

    def _new_key(self, raw_name: str, raw_outcome: str) -> int:
        """Key of a (name, outcome) not seen yet, within the report's limits."""
        name_index = self._name_index(clean_name(raw_name))
        name = self._name_list[name_index]
        outcome = clean_outcome(raw_outcome)
        key = self._keys.get((name, outcome))
        # The last of a name's outcome slots is kept for OTHER_OUTCOME.
        full = self._outcomes_per_name[name_index] >= MAX_OUTCOMES_PER_NAME - 1
        if key is None and full:
            outcome = OTHER_OUTCOME
            key = self._keys.get((name, outcome))
        if key is None:
            key = self._keys[(name, outcome)] = len(self._key_outcomes)
            self._key_outcomes.append(outcome)
            self._key_name_index.append(name_index)
            self._outcomes_per_name[name_index] += 1
        if name != OVERFLOW_NAME and len(self._keys) < MAX_RAW_KEYS:
            self._keys[(raw_name, raw_outcome)] = key
        return key

    def _name_index(self, name: str) -> int:
        index = self._names.get(name)
        if index is not None:
            return index
        if len(self._names) >= self._max_names:
            if OVERFLOW_NAME not in self._names:
                logger.warning(
                    "More than %s request names; further names are counted "
                    "together as %r",
                    self._max_names,
                    OVERFLOW_NAME,
                )
            name = OVERFLOW_NAME
            if name in self._names:
                return self._names[name]
        index = self._names[name] = len(self._name_list)
        self._name_list.append(name)
        self._outcomes_per_name.append(0)
        return index

    # Events ------------------------------------------------------------------

    def add_event(
        self, kind: str, time_s: float, attrs: Mapping[str, EventValue] | None = None
    ) -> None:
        """Attach a time-line mark to the current interval (bounded, counted).

        Raises ValueError for a kind or attributes the report cannot carry.
        """
        checked = check_event(kind, attrs or {})
        if not math.isfinite(time_s):
            raise ValueError(f"event {kind!r}: time_s must be finite, got {time_s}")
        if len(self._events) >= MAX_EVENTS_PER_INTERVAL:
            self._dropped_events += 1
            return
        self._events.append(RecordedEvent(kind, float(time_s), checked))

    # Counters ----------------------------------------------------------------

    def count(self, kind: str, n: int = 1) -> None:
        """Add to a counter of the current interval (e.g. late requests).

        Raises ValueError for a kind the report cannot carry, or a count
        below zero (the caller's fault, raised at once).
        """
        if kind not in self._counters:
            check_counter(kind, n)
            if len(self._counters) >= MAX_COUNTERS:
                raise ValueError(f"more than {MAX_COUNTERS} counter kinds")
            self._counters[kind] = 0
        elif n < 0:
            raise ValueError(f"counter {kind!r}: cannot add {n}, below zero")
        self._counters[kind] += n

    # Interval end ------------------------------------------------------------

    def take(self, interval_start_s: float, interval_end_s: float) -> IntervalRecord:
        """Bucket everything recorded since the last take and start afresh."""
        self._spill()
        partial, self._partial = self._partial, _Partial()
        events, self._events = tuple(self._events), []
        dropped, self._dropped_events = self._dropped_events, 0
        counters, self._counters = self._counters, {}
        return IntervalRecord(
            interval_start_s=interval_start_s,
            interval_end_s=interval_end_s,
            names=self._name_records(partial),
            clamped_low_count=partial.clamped_low,
            clamped_high_count=partial.clamped_high,
            events=events,
            dropped_event_count=dropped,
            counters={k: v for k, v in counters.items() if v},
        )

    def _spill(self) -> None:
        """Bucket the buffered samples into the interval's partial state."""
        n = self._n
        self._n = 0
        if n == 0:
            return
        self.spill_count += 1
        keys = self._key_buf[:n].astype(np.int64)
        raw = self._value_buf[:n]
        values = self._clamped(raw.copy())
        name_of_key = np.asarray(self._key_name_index, dtype=np.int64)
        names = name_of_key[keys]
        extremes = _Extremes.of(names, values, len(self._names))
        p = self._partial
        p.extremes.fold(extremes)
        p.key_counts = _grown(p.key_counts, len(self._key_outcomes), 0)
        p.key_counts[: len(self._key_outcomes)] += np.bincount(
            keys, minlength=len(self._key_outcomes)
        )
        p.combined.append(self._bucketed(names, values))
        p.uncorrected.append(self._spill_uncorrected(names, raw, extremes))

    def _bucketed(self, names: IntArray, values: IntArray) -> _Buckets:
        combined = names * self.layout.counts_len + self.layout.index_for(values)
        unique, counts = np.unique(combined, return_counts=True)
        return unique, counts.astype(np.int64)

    def _spill_uncorrected(
        self, names: IntArray, raw: IntArray, extremes: _Extremes
    ) -> _Buckets | None:
        """The spill's latencies from actual send, where any request was paced.

        Uncorrected values are clipped into the layout's range without being
        counted again: the clamped counts describe the corrected latencies.
        """
        at, self._paced_at = self._paced_at, []
        paced_us, self._paced_us = self._paced_us, []
        p = self._partial
        if not at:
            p.uncorrected_extremes.fold(extremes)
            return None
        values = raw.copy()
        values[at] = paced_us
        np.clip(values, 0, self.layout.highest_us, out=values)
        p.paced_names.update(np.unique(names[at]).tolist())
        p.uncorrected_extremes.fold(_Extremes.of(names, values, len(self._names)))
        return self._bucketed(names, values)

    def _clamped(self, values: IntArray) -> IntArray:
        """Clamp to the layout's range, counting what had to be clamped."""
        low = values < 0
        high = values > self.layout.highest_us
        n_low, n_high = int(low.sum()), int(high.sum())
        if n_low or n_high:
            self._partial.clamped_low += n_low
            self._partial.clamped_high += n_high
            np.clip(values, 0, self.layout.highest_us, out=values)
        return values

    def _split(self, buckets: _Buckets) -> tuple[IntArray, IntArray, list[int]]:
        """Bucket indices, counts, and where each name index starts in them."""
        combined, counts = buckets
        name_index = combined // self.layout.counts_len
        bucket = combined % self.layout.counts_len
        bounds = np.searchsorted(name_index, np.arange(len(self._names) + 1))
        return bucket, counts, bounds.tolist()

    def _name_records(self, partial: _Partial) -> tuple[NameRecord, ...]:
        if not partial.combined:
            return ()
        bucket, counts, bounds = self._split(_merged(partial.combined))
        uncorrected = self._uncorrected(partial)
        outcomes = self._outcome_counts(partial)
        e = partial.extremes
        records = []
        for i, name in enumerate(self._names):
            lo, hi = bounds[i], bounds[i + 1]
            if lo == hi:
                continue
            records.append(
                NameRecord(
                    name=name,
                    bucket_indices=bucket[lo:hi],
                    bucket_counts=counts[lo:hi],
                    min_us=int(e.mins[i]),
                    max_us=int(e.maxs[i]),
                    sum_us=int(e.sums[i]),
                    outcome_counts=outcomes[i],
                    uncorrected=uncorrected.get(i),
                )
            )
        return tuple(records)

    def _uncorrected(self, partial: _Partial) -> dict[int, UncorrectedLatency]:
        """Uncorrected latency of each name index that had a paced request."""
        if not partial.paced_names:
            return {}
        pieces = [
            corrected if uncorrected is None else uncorrected
            for corrected, uncorrected in zip(
                partial.combined, partial.uncorrected, strict=True
            )
        ]
        bucket, counts, bounds = self._split(_merged(pieces))
        e = partial.uncorrected_extremes
        return {
            i: UncorrectedLatency(
                bucket_indices=bucket[bounds[i] : bounds[i + 1]],
                bucket_counts=counts[bounds[i] : bounds[i + 1]],
                min_us=int(e.mins[i]),
                max_us=int(e.maxs[i]),
                sum_us=int(e.sums[i]),
            )
            for i in sorted(partial.paced_names)
        }

    def _outcome_counts(self, partial: _Partial) -> list[dict[str, int]]:
        """Requests per outcome class, one dict per name index."""
        per_name: list[dict[str, int]] = [{} for _ in self._names]
        for key, count in enumerate(partial.key_counts.tolist()):
            if count:
                per_name[self._key_name_index[key]][self._key_outcomes[key]] = count
        return per_name
