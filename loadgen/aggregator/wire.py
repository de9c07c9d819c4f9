"""Wire format between workers and the aggregator: msgpack, schema version 2.

One ZeroMQ message is one msgpack map. Four kinds travel:

- ``interval`` (worker -> aggregator): one report interval of one worker.
- ``ack`` (aggregator -> worker): accepted, duplicate or rejected, by sequence.
- ``pull`` (reader -> standalone aggregator): accepted intervals of a run
  from a position on.
- ``frames`` (standalone aggregator -> reader): those intervals, as the
  original encoded frames.

docs/results.md lists every field. Histograms travel sparse: bucket indices
of the HDR layout (1 us .. 1 h, 3 significant digits: fixed by schema
version 1) as little-endian uint16, and counts in the narrowest of 1, 2, 4
or 8 bytes that holds the largest. Merging a frame then costs two
``numpy.frombuffer`` calls per name, where hdrhistogram's ``decode_and_add``
costs about 0.5 ms per histogram.

Decoding trusts nothing: sizes are capped before and during unpacking, and
every field is checked. Whatever is wrong raises a :class:`WireError`
subclass that says what; nothing else escapes :func:`decode`.

Versions. Version 2 added, per histogram entry, the uncorrected latency of
open-model requests (a ninth field, nil when the name had none paced), and
per interval a map of counters (late and dropped requests). This build
writes version 2 and reads both: a version 1 interval (entries of exactly
eight fields, no counters) is what an older worker sends or an older
journal holds. Acks and pull messages did not change; an ack answers in the
version of the frame it acknowledges, so an older worker understands it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import msgpack
import numpy as np

from loadgen.recording.layout import DEFAULT_LAYOUT, IntArray
from loadgen.recording.limits import (
    MAX_ATTR_CHARS,
    MAX_COUNTERS,
    MAX_NAME_CHARS,
    MAX_OUTCOMES_PER_NAME,
    OUTCOME_PATTERN,
    EventValue,
    check_counter,
    check_event,
)
from loadgen.recording.recorder import (
    IntervalRecord,
    NameRecord,
    UncorrectedLatency,
)

SCHEMA_VERSION = 2
# Versions this build decodes; see "Versions" above for what changed.
READABLE_VERSIONS = (1, 2)
# Fields of a histogram entry in each version.
_ENTRY_FIELDS = {1: 8, 2: 9}

# 4 MiB: a 1 s interval with 1,000 names of 2,000 distinct buckets each is
# about 6 MB, far beyond a real workload; a report of 20 names with 100
# requests each measures 7 KB (bench/README.md).
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024

MAX_NAMES_PER_FRAME = 1_000
MAX_EVENTS_PER_FRAME = 1_000
MAX_PULL_FRAMES = 10_000

_ID = re.compile(r"[A-Za-z0-9._:@/-]{1,128}")
_COUNT_WIDTHS = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}
_INT64_LIMIT = 1 << 63
_INDEX_DTYPE = "<u2"
assert DEFAULT_LAYOUT.counts_len <= 1 << 16, "bucket indices must fit uint16"


# Errors ----------------------------------------------------------------------


class WireError(Exception):
    """A peer sent a message we cannot accept: the sender's fault, not ours."""

    reason = "malformed"


class MalformedFrame(WireError):
    """Not msgpack, or a field is missing, of the wrong type or out of range."""


class FrameTooLarge(WireError):
    """Larger than the frame size limit."""

    reason = "oversized"


class UnknownSchemaVersion(WireError):
    """A schema version this build does not speak."""

    reason = "unknown_version"


class ForeignRun(WireError):
    """A frame of another run than the one this aggregator collects."""

    reason = "foreign_run"


class InconsistentRun(WireError):
    """A frame that contradicts earlier frames of its run (e.g. interval length)."""

    reason = "inconsistent"


# Messages --------------------------------------------------------------------


# One request name's latency counts over one interval: the recorder's own
# per-name record travels unchanged.
HistogramEntry = NameRecord


@dataclass(frozen=True)
class WorkerEvent:
    """A mark on the time line from another module (breaker, chaos)."""

    kind: str
    time_s: float
    attrs: Mapping[str, EventValue] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class IntervalFrame:
    """One report interval of one worker, as it travels."""

    run_id: str
    worker_id: str
    seq: int
    interval_start_s: float
    interval_end_s: float
    report_interval_s: float
    final: bool
    histograms: tuple[HistogramEntry, ...]
    clamped_low_count: int = 0
    clamped_high_count: int = 0
    events: tuple[WorkerEvent, ...] = ()
    dropped_event_count: int = 0
    counters: Mapping[str, int] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def count(self) -> int:
        return sum(h.count for h in self.histograms)

    @classmethod
    def from_record(
        cls,
        record: IntervalRecord,
        *,
        run_id: str,
        worker_id: str,
        seq: int,
        report_interval_s: float,
        final: bool = False,
    ) -> IntervalFrame:
        """Stamp a recorder's interval with who sent it and in which order."""
        return cls(
            run_id=run_id,
            worker_id=worker_id,
            seq=seq,
            interval_start_s=record.interval_start_s,
            interval_end_s=record.interval_end_s,
            report_interval_s=report_interval_s,
            final=final,
            histograms=record.names,
            clamped_low_count=record.clamped_low_count,
            clamped_high_count=record.clamped_high_count,
            events=tuple(WorkerEvent(e.kind, e.time_s, e.attrs) for e in record.events),
            dropped_event_count=record.dropped_event_count,
            counters=dict(record.counters),
        )


ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
ACK_STATUSES = (ACCEPTED, DUPLICATE, REJECTED)


@dataclass(frozen=True)
class Ack:
    """The aggregator's answer to one interval frame (seq -1: unreadable)."""

    run_id: str
    seq: int
    status: str
    reason: str = ""
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True)
class PullRequest:
    """Ask a standalone aggregator for a run's accepted frames from a position."""

    run_id: str
    from_index: int
    max_frames: int = 1_000
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, eq=False)
class PullReply:
    """Accepted frames, oldest first, and where the next pull starts."""

    run_id: str
    from_index: int
    next_index: int
    frames: tuple[bytes, ...]
    schema_version: int = SCHEMA_VERSION


Message = IntervalFrame | Ack | PullRequest | PullReply


# Encoding --------------------------------------------------------------------


def _count_width(counts: IntArray) -> int:
    top = int(counts.max()) if counts.size else 0
    for width in (1, 2, 4):
        if top < 1 << (8 * width):
            return width
    return 8


def _encode_buckets(indices: IntArray, counts: IntArray) -> list[Any]:
    """Index blob, count blob and count width."""
    width = _count_width(counts)
    return [
        np.asarray(indices).astype(_INDEX_DTYPE).tobytes(),
        np.asarray(counts).astype(_COUNT_WIDTHS[width]).tobytes(),
        width,
    ]


def _encode_uncorrected(u: UncorrectedLatency | None) -> list[Any] | None:
    if u is None:
        return None
    buckets = _encode_buckets(u.bucket_indices, u.bucket_counts)
    return [*buckets, u.min_us, u.max_us, u.sum_us]


def _encode_histogram(h: HistogramEntry, version: int) -> list[Any]:
    entry = [
        h.name,
        *_encode_buckets(h.bucket_indices, h.bucket_counts),
        h.min_us,
        h.max_us,
        h.sum_us,
        dict(h.outcome_counts),
    ]
    if version == 1:
        if h.uncorrected is not None:
            raise ValueError(
                f"version 1 cannot carry uncorrected latency of {h.name!r}"
            )
        return entry
    return [*entry, _encode_uncorrected(h.uncorrected)]


def _interval_map(f: IntervalFrame) -> dict[str, Any]:
    version = f.schema_version
    body = {
        "schema_version": version,
        "kind": "interval",
        "run_id": f.run_id,
        "worker_id": f.worker_id,
        "seq": f.seq,
        "interval_start_s": f.interval_start_s,
        "interval_end_s": f.interval_end_s,
        "report_interval_s": f.report_interval_s,
        "final": f.final,
        "histograms": [_encode_histogram(h, version) for h in f.histograms],
        "clamped_low_count": f.clamped_low_count,
        "clamped_high_count": f.clamped_high_count,
        "events": [[e.kind, e.time_s, dict(e.attrs)] for e in f.events],
        "dropped_event_count": f.dropped_event_count,
    }
    if version >= 2:
        body["counters"] = dict(f.counters)
    return body


def encode(message: Message) -> bytes:
    """One message as bytes for one ZeroMQ frame."""
    if isinstance(message, IntervalFrame):
        body = _interval_map(message)
    elif isinstance(message, Ack):
        body = {"kind": "ack", **_plain(message)}
    elif isinstance(message, PullRequest):
        body = {"kind": "pull", **_plain(message)}
    else:
        body = {"kind": "frames", **_plain(message), "frames": list(message.frames)}
    packed: bytes = msgpack.packb(body, use_bin_type=True)
    return packed


def _plain(message: Ack | PullRequest | PullReply) -> dict[str, Any]:
    return {k: v for k, v in vars(message).items() if k != "frames"}


# Decoding --------------------------------------------------------------------


def _unpack(data: bytes, max_frame_bytes: int) -> dict[str, Any]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedFrame(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_frame_bytes:
        raise FrameTooLarge(
            f"frame of {len(data)} bytes exceeds the limit of {max_frame_bytes}"
        )
    try:
        body = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=max(MAX_ATTR_CHARS, MAX_NAME_CHARS) * 4,
            max_bin_len=max_frame_bytes,
            max_array_len=max(MAX_PULL_FRAMES, 1 << 16),
            max_map_len=64,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises several unrelated types
        raise MalformedFrame(f"not a msgpack message: {exc}") from exc
    if not isinstance(body, dict):
        raise MalformedFrame(f"expected a map, got {type(body).__name__}")
    version = body.get("schema_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise UnknownSchemaVersion(
            f"schema_version {version!r:.40}; this build reads "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    return body


def _field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in body:
        raise MalformedFrame(f"field {name!r} is missing")
    value = body[name]
    # bool is an int subclass: a count of True is a malformed count.
    if isinstance(value, bool) and kind is not bool:
        raise MalformedFrame(f"field {name!r} must be {kind}, got a bool")
    if not isinstance(value, kind):
        raise MalformedFrame(
            f"field {name!r} must be {kind}, got {type(value).__name__}"
        )
    return value


def _count(value: Any, what: str, of: str = "") -> int:
    """A non-negative int64; the message is only formatted on failure."""
    if type(value) is int and 0 <= value < _INT64_LIMIT:
        return value
    where = f"{what} of {of!r}" if of else what
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedFrame(f"{where} must be an integer, got {value!r:.40}")
    raise MalformedFrame(f"{where} out of range: {value}")


def _seconds(body: Mapping[str, Any], name: str) -> float:
    value = _field(body, name, (int, float))
    if not math.isfinite(value) or value < 0:
        raise MalformedFrame(f"field {name!r} must be finite and >= 0, got {value}")
    return float(value)


def _identifier(body: Mapping[str, Any], name: str) -> str:
    value = _field(body, name, str)
    if not _ID.fullmatch(value):
        raise MalformedFrame(f"field {name!r} is not a valid identifier: {value!r:.60}")
    return str(value)


# Histograms are checked for the whole frame at once: a handful of numpy
# calls per frame instead of per name took ingest from about 650 to over
# 2,000 reports/s (bench/README.md).


class _RawHistogram(NamedTuple):
    """An entry between its type checks and its bulk checks (internal; a
    NamedTuple because it is built 20 times per frame on the hot path)."""

    name: str
    index_blob: bytes
    counts: IntArray
    min_us: int
    max_us: int
    sum_us: int
    outcomes: Any


def _raw_histogram(item: Any, fields: int) -> tuple[_RawHistogram, Any]:
    """Type and length checks of one entry; the numbers are checked in bulk.
    Returns the entry and its uncorrected part (None in version 1)."""
    if type(item) is not list or len(item) != fields:
        raise MalformedFrame(f"a histogram entry must be a list of {fields} fields")
    name = item[0]
    if type(name) is not str or not 0 < len(name) <= MAX_NAME_CHARS:
        raise MalformedFrame(f"histogram name must be 1..{MAX_NAME_CHARS} characters")
    raw = _raw_buckets(name, *item[1:7], outcomes=item[7])
    return raw, item[8] if fields > 8 else None


def _raw_uncorrected(name: str, item: Any) -> _RawHistogram:
    """The uncorrected part of an entry: six fields, or the peer's fault."""
    if type(item) is not list or len(item) != 6:
        raise MalformedFrame(
            f"uncorrected latency of {name!r} must be nil or a list of 6 fields"
        )
    return _raw_buckets(name, *item, outcomes=None)


def _raw_buckets(
    name: str,
    index_blob: Any,
    count_blob: Any,
    width: Any,
    min_us: Any,
    max_us: Any,
    sum_us: Any,
    *,
    outcomes: Any,
) -> _RawHistogram:
    if type(width) is not int or width not in _COUNT_WIDTHS:
        raise MalformedFrame(f"count width of {name!r} must be 1, 2, 4 or 8")
    if type(index_blob) is not bytes or type(count_blob) is not bytes:
        raise MalformedFrame(f"bucket indices and counts of {name!r} must be binary")
    buckets = len(index_blob) // 2
    if buckets == 0 or len(index_blob) % 2 or len(count_blob) != buckets * width:
        raise MalformedFrame(
            f"{name!r} needs >= 1 bucket and as many counts ({width} bytes each) "
            f"as indices (2 bytes each)"
        )
    return _RawHistogram(
        name,
        index_blob,
        np.frombuffer(count_blob, dtype=_COUNT_WIDTHS[width]),
        _count(min_us, "min_us", name),
        _count(max_us, "max_us", name),
        _count(sum_us, "sum_us", name),
        outcomes,
    )


class _Bulk(NamedTuple):
    """Every entry's buckets of a frame side by side, checked."""

    indices: IntArray
    counts: IntArray
    starts: list[int]
    sizes: list[int]
    totals: list[int]

    def part(self, i: int) -> tuple[IntArray, IntArray]:
        begin, size = self.starts[i], self.sizes[i]
        return self.indices[begin : begin + size], self.counts[begin : begin + size]


def _checked_bulk(raws: list[_RawHistogram]) -> _Bulk:
    sizes = np.array([len(r.index_blob) // 2 for r in raws], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    indices = np.frombuffer(
        b"".join(r.index_blob for r in raws), dtype=_INDEX_DTYPE
    ).astype(np.int64)
    counts = np.concatenate([r.counts for r in raws]).astype(np.int64)
    _check_buckets(raws, indices, counts, starts)
    totals = np.add.reduceat(counts, starts).tolist()
    _check_extremes(raws, indices, starts, sizes, totals)
    return _Bulk(indices, counts, starts.tolist(), sizes.tolist(), totals)


def _decode_histograms(items: list[Any], version: int) -> tuple[HistogramEntry, ...]:
    if len(items) > MAX_NAMES_PER_FRAME:
        raise MalformedFrame(f"more than {MAX_NAMES_PER_FRAME} request names")
    if not items:
        return ()
    pairs = [_raw_histogram(item, _ENTRY_FIELDS[version]) for item in items]
    raws = [raw for raw, _ in pairs]
    bulk = _checked_bulk(raws)
    uncorrected = _decode_uncorrected(raws, [u for _, u in pairs], bulk.totals)
    entries = []
    for i, r in enumerate(raws):
        indices, counts = bulk.part(i)
        outcomes = _decode_outcomes(r.outcomes, r.name, bulk.totals[i])
        entries.append(
            HistogramEntry(
                r.name,
                indices,
                counts,
                r.min_us,
                r.max_us,
                r.sum_us,
                outcomes,
                uncorrected[i],
            )
        )
    return tuple(entries)


def _decode_uncorrected(
    raws: list[_RawHistogram], items: list[Any], totals: list[int]
) -> list[UncorrectedLatency | None]:
    """Each entry's uncorrected latency, checked as strictly as the entry;
    it counts the same requests, so its total must equal the entry's."""
    present = [i for i, item in enumerate(items) if item is not None]
    decoded: list[UncorrectedLatency | None] = [None] * len(items)
    if not present:
        return decoded
    parts = [_raw_uncorrected(raws[i].name, items[i]) for i in present]
    bulk = _checked_bulk(parts)
    for k, i in enumerate(present):
        if bulk.totals[k] != totals[i]:
            raise MalformedFrame(
                f"uncorrected latency of {raws[i].name!r} counts {bulk.totals[k]} "
                f"requests, the entry {totals[i]}"
            )
        p = parts[k]
        decoded[i] = UncorrectedLatency(*bulk.part(k), p.min_us, p.max_us, p.sum_us)
    return decoded


def _name_at(raws: list[_RawHistogram], starts: IntArray, position: int) -> str:
    return raws[int(np.searchsorted(starts, position, side="right")) - 1].name


def _check_buckets(
    raws: list[_RawHistogram], indices: IntArray, counts: IntArray, starts: IntArray
) -> None:
    if int(indices.max()) >= DEFAULT_LAYOUT.counts_len:
        at = int(np.argmax(indices))
        name = _name_at(raws, starts, at)
        raise MalformedFrame(f"{name!r} has a bucket index past the layout")
    steps = np.diff(indices)
    steps[starts[1:] - 1] = 1  # the step from one name to the next is free
    if steps.size and int(steps.min()) <= 0:
        name = _name_at(raws, starts, int(np.argmin(steps)))
        raise MalformedFrame(f"bucket indices of {name!r} must strictly increase")
    if int(counts.min()) <= 0 or int(counts.max()) >= 1 << 62:
        bad = int(np.argmin(counts)) if int(counts.min()) <= 0 else int(counts.argmax())
        name = _name_at(raws, starts, bad)
        raise MalformedFrame(f"bucket counts of {name!r} must be in 1..2**62")


def _check_extremes(
    raws: list[_RawHistogram],
    indices: IntArray,
    starts: IntArray,
    sizes: IntArray,
    totals: list[int],
) -> None:
    layout = DEFAULT_LAYOUT
    lowest = layout.lowest_equivalent_us(indices[starts]).tolist()
    highest = layout.highest_equivalent_us(indices[starts + sizes - 1]).tolist()
    for r, low, high, count in zip(raws, lowest, highest, totals, strict=True):
        if not low <= r.min_us <= r.max_us <= high:
            raise MalformedFrame(f"min_us/max_us of {r.name!r} contradict its buckets")
        if not r.min_us * count <= r.sum_us <= r.max_us * count:
            raise MalformedFrame(f"sum_us of {r.name!r} contradicts min, max and count")


def _outcome_class(value: Any) -> str:
    if type(value) is str and (
        value in _OUTCOMES_SEEN or OUTCOME_PATTERN.fullmatch(value)
    ):
        if len(_OUTCOMES_SEEN) < 256:
            _OUTCOMES_SEEN.add(value)
        return value
    raise MalformedFrame(f"outcome class {value!r:.40} is not valid")


# Outcome classes already matched: a set lookup instead of a regex per entry.
_OUTCOMES_SEEN: set[str] = set()


def _decode_outcomes(outcomes: Any, name: str, count: int) -> dict[str, int]:
    """Outcome class -> requests of one name; they must add up to its count."""
    limit = MAX_OUTCOMES_PER_NAME
    if type(outcomes) is not dict or not 0 < len(outcomes) <= limit:
        raise MalformedFrame(
            f"outcome counts of {name!r} must be a map of 1..{limit} classes"
        )
    total = 0
    for outcome, n in outcomes.items():
        _outcome_class(outcome)
        total += _count(n, "outcome count", name)
    if total != count:
        raise MalformedFrame(f"outcome counts of {name!r} do not sum to its count")
    return outcomes


def _decode_events(items: list[Any]) -> tuple[WorkerEvent, ...]:
    if len(items) > MAX_EVENTS_PER_FRAME:
        raise MalformedFrame(f"more than {MAX_EVENTS_PER_FRAME} events")
    events = []
    for item in items:
        if type(item) is not list or len(item) != 3:
            raise MalformedFrame("an event must be a list of 3 fields")
        kind, time_s, attrs = item
        if type(time_s) not in (int, float) or not math.isfinite(time_s):
            raise MalformedFrame("event time_s must be a finite number")
        if type(attrs) is not dict:
            raise MalformedFrame("event attrs must be a map")
        try:
            checked = check_event(kind, attrs)
        except ValueError as exc:
            raise MalformedFrame(str(exc)) from exc
        events.append(WorkerEvent(kind, float(time_s), checked))
    return tuple(events)


def _decode_counters(body: Mapping[str, Any], version: int) -> dict[str, int]:
    """Counter kind -> count (version 2 and later; none in version 1)."""
    if version < 2:
        return {}
    counters = _field(body, "counters", dict)
    if len(counters) > MAX_COUNTERS:
        raise MalformedFrame(f"more than {MAX_COUNTERS} counters")
    for kind, n in counters.items():
        try:
            check_counter(kind, n)
        except ValueError as exc:
            raise MalformedFrame(str(exc)) from exc
    return dict(counters)


def _decode_interval(body: Mapping[str, Any]) -> IntervalFrame:
    version = body["schema_version"]
    start_s = _seconds(body, "interval_start_s")
    end_s = _seconds(body, "interval_end_s")
    interval_s = _seconds(body, "report_interval_s")
    if end_s < start_s or not 0 < interval_s <= 3600:
        raise MalformedFrame("interval end before start, or interval not in (0, 3600]")
    histograms = _decode_histograms(_field(body, "histograms", list), version)
    if len({h.name for h in histograms}) != len(histograms):
        raise MalformedFrame("a request name appears twice among the histograms")
    return IntervalFrame(
        run_id=_identifier(body, "run_id"),
        worker_id=_identifier(body, "worker_id"),
        seq=_count(_field(body, "seq", int), "seq"),
        interval_start_s=start_s,
        interval_end_s=end_s,
        report_interval_s=interval_s,
        final=_field(body, "final", bool),
        histograms=histograms,
        clamped_low_count=_count(_field(body, "clamped_low_count", int), "clamped"),
        clamped_high_count=_count(_field(body, "clamped_high_count", int), "clamped"),
        events=_decode_events(_field(body, "events", list)),
        dropped_event_count=_count(_field(body, "dropped_event_count", int), "dropped"),
        counters=_decode_counters(body, version),
        schema_version=version,
    )


def _decode_ack(body: Mapping[str, Any]) -> Ack:
    status = _field(body, "status", str)
    if status not in ACK_STATUSES:
        raise MalformedFrame(f"ack status {status!r:.40} is not one of {ACK_STATUSES}")
    seq = _field(body, "seq", int)
    if seq < -1:
        raise MalformedFrame(f"ack seq {seq} is negative")
    reason = _field(body, "reason", str)
    run_id = _field(body, "run_id", str)[:128]
    return Ack(run_id, seq, status, reason[:512], body["schema_version"])


def _decode_pull(body: Mapping[str, Any]) -> PullRequest:
    max_frames = _count(_field(body, "max_frames", int), "max_frames")
    if not 0 < max_frames <= MAX_PULL_FRAMES:
        raise MalformedFrame(f"max_frames must be in 1..{MAX_PULL_FRAMES}")
    return PullRequest(
        _identifier(body, "run_id"),
        _count(_field(body, "from_index", int), "from_index"),
        max_frames,
        body["schema_version"],
    )


def _decode_reply(body: Mapping[str, Any]) -> PullReply:
    frames = _field(body, "frames", list)
    if not all(isinstance(f, bytes) for f in frames):
        raise MalformedFrame("pulled frames must be binary")
    return PullReply(
        _identifier(body, "run_id"),
        _count(_field(body, "from_index", int), "from_index"),
        _count(_field(body, "next_index", int), "next_index"),
        tuple(frames),
        body["schema_version"],
    )


_DECODERS: dict[str, Callable[[Mapping[str, Any]], Message]] = {
    "interval": _decode_interval,
    "ack": _decode_ack,
    "pull": _decode_pull,
    "frames": _decode_reply,
}


def decode(data: bytes, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> Message:
    """Parse and validate one message, or raise a :class:`WireError`."""
    body = _unpack(data, max_frame_bytes)
    kind = body.get("kind")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise MalformedFrame(f"unknown message kind {kind!r:.40}")
    try:
        return decoder(body)
    except WireError:
        raise
    except Exception as exc:  # a check we did not think of: still the peer's
        raise MalformedFrame(f"invalid {kind} message: {exc!r:.200}") from exc
