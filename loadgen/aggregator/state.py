"""The aggregator's state: exact merge of interval frames, no sockets.

Theory of operation. Every worker numbers its intervals 0, 1, 2, ... within
a run and marks the last one ``final``. The aggregator keeps, per worker, the
set of sequence numbers it accepted, so a resent frame is acknowledged again
but merged once, and a number below the highest that never arrived is a gap.
A worker that goes silent without its final frame is lost once the run is
finished or it has been silent for ``silence_limit_intervals``; it lost at
least the interval it had not flushed, plus any it had reported as sent
(:meth:`Aggregator.note_worker_progress`) that never came.

Each accepted frame is merged twice: into cumulative counts per name (dense
arrays, one vectorized add per name) and into its interval slot of the time
series (kept as sparse pieces, merged when read). Reads go through
:meth:`Aggregator.snapshot`, which reuses the results of slots and names
that did not change since the last snapshot.

Open-model latency: an entry may carry its requests' uncorrected latency.
A name keeps a second accumulator from the first such entry on; it starts
as a copy of the corrected one, since everything before was not paced and
so the same data, and from then on takes each entry's uncorrected part (or
the entry itself when it has none). Closed-model runs never allocate it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from loadgen.aggregator import wire
from loadgen.aggregator.results import (
    Completeness,
    IntervalResult,
    LostWorker,
    NameResult,
    ResultSet,
    RunSnapshot,
    TimedEvent,
)
from loadgen.recording.histogram import Histogram
from loadgen.recording.layout import DEFAULT_LAYOUT, IntArray
from loadgen.recording.recorder import OVERFLOW_NAME, UncorrectedLatency
from loadgen.recording.schedule import Clock, slot_of

logger = logging.getLogger(__name__)

# Dense cumulative counts cost 184 KiB per name; 2,000 names is 368 MiB.
DEFAULT_MAX_NAMES = 2_000

# A worker silent for this many intervals is lost (Locust marks a worker
# missing after 3 missed heartbeats of 1 s; we allow for a slow flush).
DEFAULT_SILENCE_LIMIT_INTERVALS = 10


@dataclass(frozen=True)
class IngestResult:
    """What became of one frame; the server turns it into the ack."""

    status: str
    run_id: str = ""
    worker_id: str = ""
    seq: int = -1
    reason: str = ""
    detail: str = ""
    frame: wire.IntervalFrame | None = None
    # The version of the frame answered: its ack is written in it.
    schema_version: int = wire.SCHEMA_VERSION

    def ack(self) -> wire.Ack:
        return wire.Ack(
            self.run_id, self.seq, self.status, self.reason, self.schema_version
        )


_Part = wire.HistogramEntry | UncorrectedLatency


@dataclass
class _Latency:
    """Dense counts and exact extremes of one name over the whole run."""

    counts: IntArray = field(
        default_factory=lambda: np.zeros(DEFAULT_LAYOUT.counts_len, dtype=np.int64)
    )
    min_us: int = 1 << 62
    max_us: int = 0
    sum_us: int = 0

    def add(self, part: _Part) -> None:
        # Indices are unique within an entry (checked by wire.decode).
        self.counts[part.bucket_indices] += part.bucket_counts
        self.min_us = min(self.min_us, part.min_us)
        self.max_us = max(self.max_us, part.max_us)
        self.sum_us += part.sum_us

    def copy(self) -> _Latency:
        return _Latency(self.counts.copy(), self.min_us, self.max_us, self.sum_us)

    def histogram(self) -> Histogram:
        return Histogram.from_dense(self.counts)


@dataclass
class _Name:
    latency: _Latency = field(default_factory=_Latency)
    # From actual send, once any entry of the name was paced.
    uncorrected: _Latency | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    version: int = 0


@dataclass
class _Slot:
    slot: int
    start_s: float
    end_s: float
    pieces: dict[str, list[wire.HistogramEntry]] = field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    workers: set[str] = field(default_factory=set)
    frames: int = 0
    cached: IntervalResult | None = None


@dataclass
class _Worker:
    worker_id: str
    seqs: set[int] = field(default_factory=set)
    max_seq: int = -1
    final_seq: int | None = None
    reported_next_seq: int = 0
    last_received_s: float = 0.0
    last_interval_end_s: float = 0.0

    @property
    def gaps(self) -> int:
        return self.max_seq + 1 - len(self.seqs)


class Aggregator:
    """Merges the interval frames of one run; ``run_id`` None adopts the first."""

    def __init__(
        self,
        run_id: str | None = None,
        *,
        clock: Clock = time.time,
        max_frame_bytes: int = wire.DEFAULT_MAX_FRAME_BYTES,
        max_names: int = DEFAULT_MAX_NAMES,
        silence_limit_intervals: int = DEFAULT_SILENCE_LIMIT_INTERVALS,
    ) -> None:
        self.run_id = run_id
        self._clock = clock
        self._max_frame_bytes = max_frame_bytes
        self._max_names = max_names
        self._silence_limit_intervals = silence_limit_intervals
        self.report_interval_s: float | None = None
        self._names: dict[str, _Name] = {}
        self._name_cache: dict[str, tuple[int, NameResult]] = {}
        self._slots: dict[int, _Slot] = {}
        self._workers: dict[str, _Worker] = {}
        self._events: list[TimedEvent] = []
        self._counters: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        self._duplicates = 0
        self._received = 0
        self._clamped = [0, 0]
        self._dropped_events = 0
        self._start_s: float | None = None
        self._end_s = 0.0
        self.finished = False

    # Ingest ------------------------------------------------------------------

    def ingest(self, data: bytes) -> IngestResult:
        """Decode, validate and merge one frame; never raises for bad input."""
        try:
            message = wire.decode(data, self._max_frame_bytes)
        except wire.WireError as exc:
            return self._reject(exc)
        if not isinstance(message, wire.IntervalFrame):
            return self._reject(wire.MalformedFrame("expected an interval frame"))
        return self.ingest_frame(message)

    def ingest_frame(self, frame: wire.IntervalFrame) -> IngestResult:
        """Merge one decoded frame (in-process senders skip the encoding)."""
        try:
            self._check_run(frame)
        except wire.WireError as exc:
            return self._reject(exc, frame)
        worker = self._workers.get(frame.worker_id)
        if worker is not None and frame.seq in worker.seqs:
            self._duplicates += 1
            return self._result(wire.DUPLICATE, frame)
        if worker is None:
            worker = self._workers[frame.worker_id] = _Worker(frame.worker_id)
            logger.info(
                "Results: worker %s reports for run %s", frame.worker_id, frame.run_id
            )
        self._accept(worker, frame)
        return self._result(wire.ACCEPTED, frame)

    def _check_run(self, frame: wire.IntervalFrame) -> None:
        if self.run_id is None:
            self.run_id = frame.run_id
        if frame.run_id != self.run_id:
            raise wire.ForeignRun(
                f"frame of run {frame.run_id!r}; collecting run {self.run_id!r}"
            )
        if self.report_interval_s is None:
            self.report_interval_s = frame.report_interval_s
        elif abs(frame.report_interval_s - self.report_interval_s) > 1e-9:
            raise wire.InconsistentRun(
                f"report interval {frame.report_interval_s} s differs from the "
                f"run's {self.report_interval_s} s"
            )

    def count_rejected(self, reason: str) -> None:
        """Count a frame the socket layer rejected before it reached us."""
        self._rejected[reason] += 1

    def _result(self, status: str, frame: wire.IntervalFrame) -> IngestResult:
        return IngestResult(
            status,
            frame.run_id,
            frame.worker_id,
            frame.seq,
            frame=frame,
            schema_version=frame.schema_version,
        )

    def _reject(
        self, exc: wire.WireError, frame: wire.IntervalFrame | None = None
    ) -> IngestResult:
        self._rejected[exc.reason] += 1
        if frame is None:
            return IngestResult(wire.REJECTED, reason=exc.reason, detail=str(exc))
        return IngestResult(
            wire.REJECTED,
            frame.run_id,
            frame.worker_id,
            frame.seq,
            exc.reason,
            str(exc),
            schema_version=frame.schema_version,
        )

    def _accept(self, worker: _Worker, frame: wire.IntervalFrame) -> None:
        worker.seqs.add(frame.seq)
        worker.max_seq = max(worker.max_seq, frame.seq)
        worker.last_received_s = self._clock()
        worker.last_interval_end_s = max(
            worker.last_interval_end_s, frame.interval_end_s
        )
        if frame.final:
            worker.final_seq = frame.seq
        self._received += 1
        self._clamped[0] += frame.clamped_low_count
        self._clamped[1] += frame.clamped_high_count
        self._dropped_events += frame.dropped_event_count
        self._counters.update(frame.counters)
        self._extend_span(frame)
        self._merge_cumulative(frame)
        self._merge_slot(frame)
        self._events.extend(
            TimedEvent(frame.worker_id, e.kind, e.time_s, e.attrs) for e in frame.events
        )

    def _extend_span(self, frame: wire.IntervalFrame) -> None:
        if self._start_s is None or frame.interval_start_s < self._start_s:
            self._start_s = frame.interval_start_s
        self._end_s = max(self._end_s, frame.interval_end_s)

    def _name_key(self, name: str) -> str:
        if name in self._names or len(self._names) < self._max_names:
            return name
        if OVERFLOW_NAME not in self._names:
            logger.warning(
                "Results: more than %s request names; the rest count as %r",
                self._max_names,
                OVERFLOW_NAME,
            )
        return OVERFLOW_NAME

    def _merge_cumulative(self, frame: wire.IntervalFrame) -> None:
        for h in frame.histograms:
            key = self._name_key(h.name)
            acc = self._names.get(key)
            if acc is None:
                acc = self._names[key] = _Name()
            if h.uncorrected is not None and acc.uncorrected is None:
                acc.uncorrected = acc.latency.copy()
            acc.latency.add(h)
            if acc.uncorrected is not None:
                acc.uncorrected.add(h if h.uncorrected is None else h.uncorrected)
            acc.version += 1
            outcomes = acc.outcomes
            for outcome, n in h.outcome_counts.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n

    def _merge_slot(self, frame: wire.IntervalFrame) -> None:
        assert self.report_interval_s is not None
        index = slot_of(frame.interval_start_s, self.report_interval_s)
        slot = self._slots.get(index)
        if slot is None:
            slot = self._slots[index] = _Slot(
                index, frame.interval_start_s, frame.interval_end_s
            )
        slot.start_s = min(slot.start_s, frame.interval_start_s)
        slot.end_s = max(slot.end_s, frame.interval_end_s)
        slot.workers.add(frame.worker_id)
        slot.frames += 1
        slot.counters.update(frame.counters)
        slot.cached = None
        for h in frame.histograms:
            key = self._name_key(h.name)
            slot.pieces.setdefault(key, []).append(h)
            counts = slot.outcomes.setdefault(key, {})
            for outcome, n in h.outcome_counts.items():
                counts[outcome] = counts.get(outcome, 0) + n

    # Worker life -------------------------------------------------------------

    def note_worker_progress(self, worker_id: str, next_seq: int) -> None:
        """A worker said (out of band) it has produced intervals up to next_seq."""
        worker = self._workers.get(worker_id)
        if worker is None:
            worker = self._workers[worker_id] = _Worker(worker_id)
            worker.last_received_s = self._clock()
        worker.reported_next_seq = max(worker.reported_next_seq, next_seq)

    def workers_without_final(self) -> set[str]:
        """Workers seen in this run whose final interval has not arrived."""
        return {w.worker_id for w in self._workers.values() if w.final_seq is None}

    def workers_seen(self) -> set[str]:
        """Workers with at least one accepted interval in this run."""
        return {w.worker_id for w in self._workers.values() if w.seqs}

    def silent_workers(self) -> set[str]:
        """Workers without a final interval that have been silent too long."""
        return {lost.worker_id for lost in self._lost_workers()}

    def has_final(self, worker_id: str) -> bool:
        worker = self._workers.get(worker_id)
        return worker is not None and worker.final_seq is not None and worker.gaps == 0

    def add_event(self, event: TimedEvent) -> None:
        """A time-line mark from this process (e.g. the master's chaos journal)."""
        self._events.append(event)

    def finish(self) -> None:
        """No more frames are expected: silent workers now count as lost."""
        if not self.finished:
            self.finished = True
            logger.info(
                "Results: run %s finished with %s", self.run_id, self._summary()
            )

    def _summary(self) -> str:
        c = self.completeness()
        return (
            f"{c.workers_seen} workers, {c.intervals_received} intervals received, "
            f"{c.intervals_missing} missing, {len(c.lost_workers)} workers lost"
        )

    # Reading -----------------------------------------------------------------

    def completeness(self) -> Completeness:
        lost = tuple(self._lost_workers())
        lost_ids = {w.worker_id for w in lost}
        missing = sum(
            w.gaps for w in self._workers.values() if w.worker_id not in lost_ids
        )
        return Completeness(
            workers_seen=sum(1 for w in self._workers.values() if w.seqs),
            workers_finished=sum(
                1 for w in self._workers.values() if w.final_seq is not None
            ),
            intervals_received=self._received,
            intervals_missing=missing + sum(w.intervals_lost for w in lost),
            lost_workers=lost,
            duplicate_frames=self._duplicates,
            rejected_frames=MappingProxyType(dict(self._rejected)),
            clamped_low_count=self._clamped[0],
            clamped_high_count=self._clamped[1],
            dropped_event_count=self._dropped_events,
        )

    def _lost_workers(self) -> list[LostWorker]:
        interval = self.report_interval_s or 1.0
        silence_s = self._silence_limit_intervals * interval
        now = self._clock()
        lost = []
        for w in sorted(self._workers.values(), key=lambda w: w.worker_id):
            if w.final_seq is not None:
                continue
            if not self.finished and now - w.last_received_s < silence_s:
                continue
            unsent = max(w.reported_next_seq - 1 - w.max_seq, 0)
            lost.append(
                LostWorker(
                    w.worker_id, w.max_seq, w.last_interval_end_s, w.gaps + unsent + 1
                )
            )
        return lost

    def snapshot(self) -> RunSnapshot:
        """An immutable view of the run so far (cheap when little changed)."""
        start = self._start_s or 0.0
        by_name = {name: self._name_result(name, start) for name in self._names}
        return RunSnapshot(
            run_id=self.run_id or "",
            report_interval_s=self.report_interval_s or 1.0,
            taken_at_s=self._clock(),
            finished=self.finished,
            cumulative=ResultSet(
                start,
                self._end_s,
                MappingProxyType(by_name),
                MappingProxyType(dict(self._counters)),
            ),
            intervals=tuple(
                self._slot_result(s) for _, s in sorted(self._slots.items())
            ),
            completeness=self.completeness(),
            events=tuple(sorted(self._events, key=lambda e: e.time_s)),
        )

    def _name_result(self, name: str, start_s: float) -> NameResult:
        acc = self._names[name]
        cached = self._name_cache.get(name)
        if (
            cached is not None
            and cached[0] == acc.version
            and cached[1].end_s == self._end_s
        ):
            return cached[1]
        outcomes = MappingProxyType(dict(acc.outcomes))
        uncorrected = None
        if acc.uncorrected is not None:
            uncorrected = self._result_of(name, acc.uncorrected, outcomes, start_s)
        result = self._result_of(name, acc.latency, outcomes, start_s, uncorrected)
        self._name_cache[name] = (acc.version, result)
        return result

    def _result_of(
        self,
        name: str,
        latency: _Latency,
        outcomes: MappingProxyType[str, int],
        start_s: float,
        uncorrected: NameResult | None = None,
    ) -> NameResult:
        return NameResult(
            name=name,
            histogram=latency.histogram(),
            outcome_counts=outcomes,
            min_us=latency.min_us,
            max_us=latency.max_us,
            sum_us=latency.sum_us,
            start_s=start_s,
            end_s=self._end_s,
            uncorrected=uncorrected,
        )

    def compact(self) -> None:
        """Merge the pieces of every changed interval now (bounds memory).

        Each worker's report leaves one piece per name in its interval;
        merged, an interval holds one piece per name however many workers
        reported. Snapshots do this as a side effect; the master also calls
        it once per interval when nobody takes snapshots.
        """
        for slot in self._slots.values():
            if slot.cached is None:
                self._slot_result(slot)

    def _slot_result(self, slot: _Slot) -> IntervalResult:
        if slot.cached is not None:
            return slot.cached
        by_name = {name: self._merge_pieces(slot, name) for name in slot.pieces}
        slot.cached = IntervalResult(
            start_s=slot.start_s,
            end_s=slot.end_s,
            by_name=MappingProxyType(by_name),
            counters=MappingProxyType(dict(slot.counters)),
            slot=slot.slot,
            worker_count=len(slot.workers),
            frame_count=slot.frames,
        )
        return slot.cached

    def _merge_pieces(self, slot: _Slot, name: str) -> NameResult:
        """One name's pieces in one interval as a result, kept as one piece."""
        pieces = slot.pieces[name]
        outcomes = MappingProxyType(dict(slot.outcomes.get(name, {})))
        uncorrected = None
        if any(p.uncorrected is not None for p in pieces):
            sides = [p if p.uncorrected is None else p.uncorrected for p in pieces]
            uncorrected = _piece_result(name, sides, outcomes, slot)
        result = _piece_result(name, pieces, outcomes, slot, uncorrected)
        slot.pieces[name] = [_as_piece(result)]
        return result


def _piece_result(
    name: str,
    pieces: list[wire.HistogramEntry] | list[_Part],
    outcomes: MappingProxyType[str, int],
    slot: _Slot,
    uncorrected: NameResult | None = None,
) -> NameResult:
    """The exact merge of one name's pieces in one interval."""
    if len(pieces) == 1:
        histogram = Histogram(pieces[0].bucket_indices, pieces[0].bucket_counts)
    else:
        histogram = Histogram.from_sparse(
            np.concatenate([p.bucket_indices for p in pieces]),
            np.concatenate([p.bucket_counts for p in pieces]),
        )
    return NameResult(
        name=name,
        histogram=histogram,
        outcome_counts=outcomes,
        min_us=min(p.min_us for p in pieces),
        max_us=max(p.max_us for p in pieces),
        sum_us=sum(p.sum_us for p in pieces),
        start_s=slot.start_s,
        end_s=slot.end_s,
        uncorrected=uncorrected,
    )


def _as_piece(result: NameResult) -> wire.HistogramEntry:
    """A merged result as the one piece its interval keeps."""
    u = result.uncorrected
    return wire.HistogramEntry(
        result.name,
        result.histogram.bucket_indices,
        result.histogram.bucket_counts,
        result.min_us,
        result.max_us,
        result.sum_us,
        uncorrected=None
        if u is None
        else UncorrectedLatency(
            u.histogram.bucket_indices,
            u.histogram.bucket_counts,
            u.min_us,
            u.max_us,
            u.sum_us,
        ),
    )
