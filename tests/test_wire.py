"""The wire format: round trips, and every malformed frame raises our error."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadgen.aggregator import wire
from loadgen.aggregator.testing import interval_frame
from loadgen.recording.layout import DEFAULT_LAYOUT


def valid_frame() -> wire.IntervalFrame:
    frame = interval_frame(
        {"ping": [5, 5, 900, 70_000], "tools/call echo": [1_200, 30_000_000]},
        run_id="20261203T120000Z-abcd1234",
        worker_id="host_0123abcd",
        seq=7,
        start_s=1_700_000_000.0,
        final=True,
    )
    return wire.IntervalFrame(
        **{
            **vars(frame),
            "events": (wire.WorkerEvent("breaker.open", 1_700_000_000.5, {"user": 4}),),
        }
    )


def body(frame: wire.IntervalFrame | None = None) -> dict[str, Any]:
    data = msgpack.unpackb(wire.encode(frame or valid_frame()), raw=False)
    assert isinstance(data, dict)
    return data


def pack(data: Any) -> bytes:
    packed: bytes = msgpack.packb(data, use_bin_type=True)
    return packed


# Round trips -------------------------------------------------------------------


def test_interval_frame_round_trips() -> None:
    """Every field of an interval frame survives encode and decode."""
    frame = valid_frame()
    decoded = wire.decode(wire.encode(frame))
    assert isinstance(decoded, wire.IntervalFrame)
    for name in ("run_id", "worker_id", "seq", "interval_start_s", "final", "events"):
        assert getattr(decoded, name) == getattr(frame, name)
    for ours, theirs in zip(decoded.histograms, frame.histograms, strict=True):
        assert ours.name == theirs.name
        assert ours.outcome_counts == theirs.outcome_counts
        assert ours.bucket_indices.tolist() == theirs.bucket_indices.tolist()
        assert ours.bucket_counts.tolist() == theirs.bucket_counts.tolist()
        assert (ours.min_us, ours.max_us, ours.sum_us) == (
            theirs.min_us,
            theirs.max_us,
            theirs.sum_us,
        )


@pytest.mark.parametrize("count", [1, 255, 256, 65_536, 2**33])
def test_counts_of_any_width_round_trip(count: int) -> None:
    """Counts travel in 1, 2, 4 or 8 bytes, whichever holds the largest."""
    frame = valid_frame()
    entry = frame.histograms[0]
    big = wire.HistogramEntry(
        entry.name,
        entry.bucket_indices[:1],
        entry.bucket_counts[:1] * 0 + count,
        entry.min_us,
        entry.min_us,
        entry.min_us * count,
        {"ok": count},
    )
    frame = wire.IntervalFrame(**{**vars(frame), "histograms": (big,)})
    decoded = wire.decode(wire.encode(frame))
    assert isinstance(decoded, wire.IntervalFrame)
    assert decoded.histograms[0].bucket_counts.tolist() == [count]


@pytest.mark.parametrize(
    "message",
    [
        wire.Ack("run-1", 3, wire.ACCEPTED),
        wire.Ack("", -1, wire.REJECTED, "malformed"),
        wire.PullRequest("run-1", 10, 500),
        wire.PullReply("run-1", 10, 12, (b"a", b"b")),
    ],
)
def test_control_messages_round_trip(message: wire.Message) -> None:
    """Acks, pull requests and pull replies decode to what was encoded."""
    decoded = wire.decode(wire.encode(message))
    assert vars(decoded) == vars(message)


def test_a_one_second_report_of_twenty_names_is_small() -> None:
    """A typical interval (20 names, 100 requests each) stays a few KiB."""
    samples = {f"tools/call t{i}": range(1_000, 101_000, 1_000) for i in range(20)}
    size = len(wire.encode(interval_frame(samples)))
    assert size < 12_000


# Rejections --------------------------------------------------------------------


def test_oversized_frame_is_rejected_before_unpacking() -> None:
    """A frame over the limit raises FrameTooLarge."""
    with pytest.raises(wire.FrameTooLarge):
        wire.decode(b"\x00" * 2048, max_frame_bytes=1024)


def test_unknown_schema_version_is_rejected() -> None:
    """Another schema version raises UnknownSchemaVersion."""
    data = body()
    data["schema_version"] = wire.SCHEMA_VERSION + 1
    with pytest.raises(wire.UnknownSchemaVersion):
        wire.decode(pack(data))


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xc1", b"\x92\x01\x02", pack([1, 2]), pack("text"), pack({"kind": 1})],
)
def test_garbage_is_malformed(payload: bytes) -> None:
    """Bytes that are not one of our messages raise a WireError."""
    with pytest.raises(wire.WireError):
        wire.decode(payload)


def set_path(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("kind",), "other"),
        (("seq",), DELETE),
        (("seq",), -1),
        (("seq",), True),
        (("seq",), 1.5),
        (("run_id",), "has space"),
        (("run_id",), ""),
        (("worker_id",), "x" * 200),
        (("interval_start_s",), math.nan),
        (("interval_end_s",), 1.0),
        (("report_interval_s",), 0),
        (("final",), 1),
        (("histograms",), {}),
        (("histograms", 0), ["ping"]),
        (("histograms", 0, 0), ""),
        (("histograms", 0, 1), b"\x01"),
        (("histograms", 0, 1), b"\x05\x00\x01\x00\x09\x00"),
        (("histograms", 0, 1), b"\xff\xff\x00\x00\x01\x00"),
        (("histograms", 0, 2), b"\x00\x00\x00"),
        (("histograms", 0, 3), 3),
        (("histograms", 0, 4), 10**9),
        (("histograms", 0, 6), 0),
        (("histograms", 0, 7), {}),
        (("histograms", 0, 7), []),
        (("histograms", 0, 7), {"Not A Class": 4}),
        (("histograms", 0, 7), {"ok": 999}),
        (("histograms", 0, 7), {"ok": 3, "transport": 2}),
        (("histograms", 0, 7), {"ok": -4}),
        (("events", 0, 0), ""),
        (("events", 0, 1), math.inf),
        (("events", 0, 2), {"nested": [1]}),
        (("clamped_low_count",), -3),
    ],
)
def test_each_broken_field_is_rejected(path: tuple[Any, ...], value: Any) -> None:
    """A missing, mistyped or inconsistent field raises MalformedFrame."""
    data = body()
    set_path(data, path, value)
    with pytest.raises(wire.MalformedFrame):
        wire.decode(pack(data))


def test_duplicate_names_are_rejected() -> None:
    """A name twice among the histograms is malformed."""
    data = body()
    data["histograms"].append(list(data["histograms"][0]))
    with pytest.raises(wire.MalformedFrame, match="twice"):
        wire.decode(pack(data))


def test_bucket_index_past_the_layout_is_rejected() -> None:
    """Indices beyond the 1 us .. 1 h layout are malformed."""
    data = body()
    past = DEFAULT_LAYOUT.counts_len
    data["histograms"][0][1] = past.to_bytes(2, "little")
    data["histograms"][0][2] = b"\x01"
    data["histograms"][0][3] = 1
    with pytest.raises(wire.MalformedFrame):
        wire.decode(pack(data))


def test_every_truncation_raises_wire_error() -> None:
    """Each prefix of a valid frame, fed as a whole message, raises WireError."""
    encoded = wire.encode(valid_frame())
    for end in range(len(encoded)):
        with pytest.raises(wire.WireError):
            wire.decode(encoded[:end])


# Fuzz: parse it or raise our error, nothing else --------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=40),
)
structures = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    """Random bytes decode or raise WireError."""
    with contextlib.suppress(wire.WireError):
        wire.decode(data)


@settings(max_examples=300, deadline=None)
@given(structures)
def test_fuzz_random_msgpack(value: Any) -> None:
    """Random msgpack structures decode or raise WireError."""
    with contextlib.suppress(wire.WireError):
        wire.decode(pack(value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_valid_frames(data: st.DataObject) -> None:
    """A valid frame with fields replaced by anything decodes or raises WireError."""
    frame = body()
    key = data.draw(st.sampled_from(sorted(frame)))
    frame[key] = data.draw(structures)
    if data.draw(st.booleans()) and frame.get("histograms"):
        entry = frame["histograms"]
        if (
            isinstance(entry, list)
            and entry
            and isinstance(entry[0], list)
            and entry[0]
        ):
            index = data.draw(st.integers(0, len(entry[0]) - 1))
            entry[0][index] = data.draw(structures)
    with contextlib.suppress(wire.WireError):
        wire.decode(pack(frame))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_fuzz_flipped_bytes(position: int, value: int) -> None:
    """A valid frame with one byte overwritten decodes or raises WireError."""
    encoded = bytearray(wire.encode(valid_frame()))
    encoded[position % len(encoded)] = value
    with contextlib.suppress(wire.WireError):
        wire.decode(bytes(encoded))
