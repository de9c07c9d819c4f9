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
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from loadgen.recording.layout import DEFAULT_LAYOUT, HdrLayout, IntArray
from loadgen.recording.limits import (
    MAX_OUTCOMES_PER_NAME,
    OTHER_OUTCOME,
    EventValue,
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

    @property
    def count(self) -> int:
        return sum(n.count for n in self.names)


@dataclass
class _Partial:
    """What spills of the current interval have bucketed so far."""

    combined: list[tuple[IntArray, IntArray]] = field(default_factory=list)
    key_counts: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    mins: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    maxs: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    sums: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    clamped_low: int = 0
    clamped_high: int = 0


def _grown(array: IntArray, size: int, fill: int) -> IntArray:
    if array.size >= size:
        return array
    return np.concatenate([array, np.full(size - array.size, fill, np.int64)])


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
        self._events: list[RecordedEvent] = []
        self._dropped_events = 0
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

    # Interval end ------------------------------------------------------------

    def take(self, interval_start_s: float, interval_end_s: float) -> IntervalRecord:
        """Bucket everything recorded since the last take and start afresh."""
        self._spill()
        partial, self._partial = self._partial, _Partial()
        events, self._events = tuple(self._events), []
        dropped, self._dropped_events = self._dropped_events, 0
        return IntervalRecord(
            interval_start_s=interval_start_s,
            interval_end_s=interval_end_s,
            names=self._name_records(partial),
            clamped_low_count=partial.clamped_low,
            clamped_high_count=partial.clamped_high,
            events=events,
            dropped_event_count=dropped,
        )

    def _spill(self) -> None:
        """Bucket the buffered samples into the interval's partial state."""
        n = self._n
        self._n = 0
        if n == 0:
            return
        self.spill_count += 1
        keys = self._key_buf[:n].astype(np.int64)
        values = self._clamped(self._value_buf[:n].copy())
        name_of_key = np.asarray(self._key_name_index, dtype=np.int64)
        names = name_of_key[keys]
        self._add_extremes(names, values)
        p = self._partial
        p.key_counts = _grown(p.key_counts, len(self._key_outcomes), 0)
        p.key_counts[: len(self._key_outcomes)] += np.bincount(
            keys, minlength=len(self._key_outcomes)
        )
        combined = names * self.layout.counts_len + self.layout.index_for(values)
        unique, counts = np.unique(combined, return_counts=True)
        p.combined.append((unique, counts.astype(np.int64)))

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

    def _add_extremes(self, names: IntArray, values: IntArray) -> None:
        p = self._partial
        size = len(self._names)
        big = np.iinfo(np.int64).max
        p.mins = _grown(p.mins, size, big)
        p.maxs = _grown(p.maxs, size, -1)
        p.sums = _grown(p.sums, size, 0)
        np.minimum.at(p.mins, names, values)
        np.maximum.at(p.maxs, names, values)
        p.sums += np.bincount(names, weights=values, minlength=size).astype(np.int64)

    def _name_records(self, partial: _Partial) -> tuple[NameRecord, ...]:
        if not partial.combined:
            return ()
        combined = np.concatenate([c for c, _ in partial.combined])
        counts = np.concatenate([n for _, n in partial.combined])
        if len(partial.combined) > 1:
            combined, inverse = np.unique(combined, return_inverse=True)
            counts = np.bincount(inverse, weights=counts).astype(np.int64)
        name_index = combined // self.layout.counts_len
        bucket = combined % self.layout.counts_len
        bounds = np.searchsorted(name_index, np.arange(len(self._names) + 1)).tolist()
        outcomes = self._outcome_counts(partial)
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
                    min_us=int(partial.mins[i]),
                    max_us=int(partial.maxs[i]),
                    sum_us=int(partial.sums[i]),
                    outcome_counts=outcomes[i],
                )
            )
        return tuple(records)

    def _outcome_counts(self, partial: _Partial) -> list[dict[str, int]]:
        """Requests per outcome class, one dict per name index."""
        per_name: list[dict[str, int]] = [{} for _ in self._names]
        for key, count in enumerate(partial.key_counts.tolist()):
            if count:
                per_name[self._key_name_index[key]][self._key_outcomes[key]] = count
        return per_name
