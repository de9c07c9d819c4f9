"""Wire schema version 2: uncorrected latency and counters, decoded strictly."""

from __future__ import annotations

import contextlib
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadgen.aggregator import wire
from loadgen.aggregator.state import Aggregator
from loadgen.recording import Recorder

START_S = 1_700_000_000.0


def paced_frame(version: int = wire.SCHEMA_VERSION) -> wire.IntervalFrame:
    """A frame with one paced name, one closed-model name and counters."""
    recorder = Recorder()
    for sent_us, late_us in ((1_000, 0), (1_500, 400_000), (2_000, 900_000)):
        recorder.record_paced("tools/call echo", sent_us + late_us, sent_us, "ok")
    recorder.record("initialize", 8_000, "ok")
    recorder.count("pacing.sent", 3)
    recorder.count("pacing.late", 2)
    record = recorder.take(START_S, START_S + 1)
    frame = wire.IntervalFrame.from_record(
        record, run_id="run-1", worker_id="w1", seq=0, report_interval_s=1.0
    )
    return wire.IntervalFrame(**{**vars(frame), "schema_version": version})


def body(frame: wire.IntervalFrame) -> dict[str, Any]:
    data = msgpack.unpackb(wire.encode(frame), raw=False)
    assert isinstance(data, dict)
    return data


def pack(data: Any) -> bytes:
    packed: bytes = msgpack.packb(data, use_bin_type=True)
    return packed


def echo_index(data: dict[str, Any]) -> int:
    names = [entry[0] for entry in data["histograms"]]
    return names.index("tools/call echo")


def test_uncorrected_latency_and_counters_round_trip() -> None:
    """Every uncorrected field and counter survives encode and decode."""
    frame = paced_frame()
    decoded = wire.decode(wire.encode(frame))
    assert isinstance(decoded, wire.IntervalFrame)
    assert decoded.counters == {"pacing.sent": 3, "pacing.late": 2}
    ours = {h.name: h for h in decoded.histograms}
    theirs = {h.name: h for h in frame.histograms}
    assert ours["initialize"].uncorrected is None
    mine, sent = ours["tools/call echo"].uncorrected, theirs["tools/call echo"]
    assert mine is not None and sent.uncorrected is not None
    assert mine.bucket_counts.tolist() == sent.uncorrected.bucket_counts.tolist()
    assert (mine.min_us, mine.max_us, mine.sum_us) == (1_000, 2_000, 4_500)


def test_a_version_1_frame_still_decodes_and_is_acked_in_version_1() -> None:
    """An older worker's frame is merged, and its ack speaks its version."""
    recorder = Recorder()
    recorder.record("ping", 900, "ok")
    record = recorder.take(START_S, START_S + 1)
    old = wire.IntervalFrame.from_record(
        record, run_id="run-1", worker_id="w1", seq=0, report_interval_s=1.0
    )
    old = wire.IntervalFrame(**{**vars(old), "schema_version": 1})
    data = body(old)
    assert len(data["histograms"][0]) == 8 and "counters" not in data
    result = Aggregator("run-1").ingest(pack(data))
    assert result.status == wire.ACCEPTED
    ack = wire.decode(wire.encode(result.ack()))
    assert isinstance(ack, wire.Ack) and ack.schema_version == 1


def test_version_1_cannot_carry_uncorrected_latency() -> None:
    """Encoding a paced name as version 1 is refused, not silently dropped."""
    with pytest.raises(ValueError, match="version 1"):
        wire.encode(paced_frame(version=1))


def test_a_version_2_entry_of_eight_fields_is_rejected() -> None:
    """Version 2 entries have exactly nine fields."""
    data = body(paced_frame())
    data["histograms"][0] = data["histograms"][0][:8]
    with pytest.raises(wire.MalformedFrame, match="9 fields"):
        wire.decode(pack(data))


def test_a_version_1_entry_of_nine_fields_is_rejected() -> None:
    """Version 1 entries have exactly eight fields."""
    data = body(paced_frame())
    data["schema_version"] = 1
    with pytest.raises(wire.MalformedFrame, match="8 fields"):
        wire.decode(pack(data))


def test_a_version_2_frame_without_counters_is_rejected() -> None:
    """The counters map is required from version 2 on."""
    data = body(paced_frame())
    del data["counters"]
    with pytest.raises(wire.MalformedFrame, match="counters"):
        wire.decode(pack(data))


def test_uncorrected_latency_must_count_the_same_requests() -> None:
    """An uncorrected histogram with another count is malformed."""
    data = body(paced_frame())
    part = data["histograms"][echo_index(data)][8]
    part[0], part[1], part[2] = b"\x01\x00", b"\x07", 1
    part[3] = part[4] = 1
    part[5] = 7
    with pytest.raises(wire.MalformedFrame, match="counts 7 requests"):
        wire.decode(pack(data))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (None, [1, 2, 3]),
        (0, "text"),
        (0, b""),
        (0, b"\x05\x00\x01\x00"),
        (1, b"\x00"),
        (2, 3),
        (3, -1),
        (3, 10**9),
        (4, 1),
        (5, 0),
        (5, True),
    ],
)
def test_each_broken_uncorrected_field_is_rejected(
    field: int | None, value: Any
) -> None:
    """A mistyped or inconsistent uncorrected part raises MalformedFrame."""
    data = body(paced_frame())
    entry = data["histograms"][echo_index(data)]
    if field is None:
        entry[8] = value
    else:
        entry[8][field] = value
    with pytest.raises(wire.MalformedFrame):
        wire.decode(pack(data))


@pytest.mark.parametrize(
    "counters",
    [[], {"bad kind": 1}, {"pacing.late": -1}, {"pacing.late": 1.5}, {"x": True}],
)
def test_each_broken_counter_is_rejected(counters: Any) -> None:
    """Counters are a map of valid kinds to non-negative integers."""
    data = body(paced_frame())
    data["counters"] = counters
    with pytest.raises(wire.MalformedFrame):
        wire.decode(pack(data))


def test_too_many_counters_are_rejected() -> None:
    """A frame carries at most 64 counters."""
    data = body(paced_frame())
    data["counters"] = {f"c{i}": 1 for i in range(65)}
    with pytest.raises(wire.MalformedFrame):
        wire.decode(pack(data))


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.binary(max_size=12),
    st.text(max_size=8),
    st.lists(st.integers(min_value=-2, max_value=2**40), max_size=7),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0, max_value=6), value=values)
def test_a_mutated_uncorrected_part_parses_or_raises_wire_error(
    position: int, value: Any
) -> None:
    """Whatever replaces a field of the uncorrected part: decoded, or WireError."""
    data = body(paced_frame())
    entry = data["histograms"][echo_index(data)]
    if position == 6:
        entry[8] = value
    else:
        entry[8][position] = value
    with contextlib.suppress(wire.WireError):
        wire.decode(pack(data))
