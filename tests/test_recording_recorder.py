"""The recorder, its request-event adapter and the report schedule."""

from __future__ import annotations

import numpy as np
import pytest

from loadgen.recording import Histogram, Recorder, ReportSchedule, RequestEventListener
from loadgen.recording.layout import HIGHEST_US
from loadgen.recording.recorder import (
    MAX_EVENTS_PER_INTERVAL,
    OVERFLOW_NAME,
    IntervalRecord,
    NameRecord,
)
from loadgen.recording.schedule import slot_of


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def by_name(record: IntervalRecord) -> dict[str, NameRecord]:
    return {n.name: n for n in record.names}


def test_counts_and_histogram_per_name() -> None:
    """Each name gets its own histogram, equal to bucketing its samples."""
    recorder = Recorder()
    values = {"ping": [5, 70, 900], "tools/call echo": [1_500, 1_500, 2_000_000]}
    for name, latencies in values.items():
        for latency in latencies:
            recorder.record(name, latency, "ok")
    record = recorder.take(10.0, 11.0)
    names = by_name(record)
    for name, latencies in values.items():
        expected = Histogram.from_values(latencies)
        assert names[name].bucket_indices.tolist() == expected.bucket_indices.tolist()
        assert names[name].bucket_counts.tolist() == expected.bucket_counts.tolist()
        assert (names[name].min_us, names[name].max_us) == (
            min(latencies),
            max(latencies),
        )
        assert names[name].sum_us == sum(latencies)
    assert (record.interval_start_s, record.interval_end_s) == (10.0, 11.0)


def test_outcome_counts_per_name_and_class() -> None:
    """Outcome classes are counted per request name."""
    recorder = Recorder()
    for outcome in ["ok", "ok", "transport", "jsonrpc_error", "ok"]:
        recorder.record("ping", 100, outcome)
    recorder.record("tools/list", 100, "http_status")
    names = by_name(recorder.take(0, 1))
    assert names["ping"].outcome_counts == {"ok": 3, "transport": 1, "jsonrpc_error": 1}
    assert names["tools/list"].outcome_counts == {"http_status": 1}


def test_full_buffer_spills_without_losing_samples() -> None:
    """More samples than the buffer holds are bucketed in several spills, exactly."""
    recorder = Recorder(capacity=100)
    rng = np.random.default_rng(3)
    values = rng.integers(1, 100_000, 1_050)
    for i, value in enumerate(values):
        recorder.record("a" if i % 2 else "b", int(value), "ok")
    record = recorder.take(0, 1)
    assert recorder.spill_count == 11
    assert record.count == 1_050
    merged = Histogram.merge(
        Histogram(n.bucket_indices, n.bucket_counts) for n in record.names
    )
    assert (
        merged.to_dense().tolist() == Histogram.from_values(values).to_dense().tolist()
    )


def test_out_of_range_values_are_clamped_and_counted() -> None:
    """Negative and over-an-hour latencies are clamped, counted, never dropped."""
    recorder = Recorder()
    for latency in (-5, -1, 10, HIGHEST_US + 1, 10 * HIGHEST_US):
        recorder.record("x", latency, "ok")
    record = recorder.take(0, 1)
    assert (record.clamped_low_count, record.clamped_high_count) == (2, 2)
    name = by_name(record)["x"]
    assert name.count == 5
    assert (name.min_us, name.max_us) == (0, HIGHEST_US)


def test_take_starts_a_fresh_interval() -> None:
    """A take empties the recorder; the next interval holds only new samples."""
    recorder = Recorder()
    recorder.record("x", 10, "ok")
    recorder.take(0, 1)
    recorder.record("x", 20, "error")
    record = recorder.take(1, 2)
    assert record.count == 1
    assert by_name(record)["x"].outcome_counts == {"error": 1}
    assert recorder.take(2, 3).count == 0


def test_names_beyond_the_limit_share_one_histogram() -> None:
    """Past max_names, new names are counted together under OVERFLOW_NAME."""
    recorder = Recorder(max_names=3)
    for i in range(10):
        recorder.record(f"name {i}", 100, "ok")
    names = by_name(recorder.take(0, 1))
    assert sorted(names) == sorted(["name 0", "name 1", "name 2", OVERFLOW_NAME])
    assert names[OVERFLOW_NAME].count == 7


def test_events_travel_with_the_interval_and_are_bounded() -> None:
    """Events go into the current interval; beyond the bound they are counted."""
    recorder = Recorder()
    recorder.add_event("breaker.open", 12.5, {"user": 3})
    for i in range(MAX_EVENTS_PER_INTERVAL + 4):
        recorder.add_event("chaos.mark", float(i))
    record = recorder.take(0, 1)
    assert record.events[0].kind == "breaker.open"
    assert record.events[0].attrs == {"user": 3}
    assert len(record.events) == MAX_EVENTS_PER_INTERVAL
    assert record.dropped_event_count == 5


def test_listener_uses_mcp_context() -> None:
    """McpUser's context gives the latency in microseconds and the outcome class."""
    recorder = Recorder()
    listener = RequestEventListener(recorder)
    listener(
        request_type="MCP",
        name="tools/call echo",
        response_time=9.999,
        response_length=10,
        exception=RuntimeError("http_status 503"),
        context={"outcome": "http_status", "latency_us": 1234, "ttfb_us": 1000},
    )
    record = recorder.take(0, 1)
    name = by_name(record)["tools/call echo"]
    assert (name.min_us, name.max_us) == (1234, 1234)
    assert name.outcome_counts == {"http_status": 1}


@pytest.mark.parametrize(
    ("exception", "outcome"), [(None, "ok"), (ValueError("boom"), "error")]
)
def test_listener_classifies_other_users(
    exception: Exception | None, outcome: str
) -> None:
    """Without context, milliseconds become microseconds and ok/error is the class."""
    recorder = Recorder()
    listener = RequestEventListener(recorder)
    listener(
        request_type="GET",
        name="/",
        response_time=2.5005,
        response_length=0,
        exception=exception,
        context={},
    )
    record = recorder.take(0, 1)
    assert by_name(record)["/"].max_us == 2501
    assert by_name(record)["/"].outcome_counts == {outcome: 1}


def test_schedule_ends_intervals_on_wall_clock_multiples() -> None:
    """The first interval runs from the start to the next boundary, then whole ones."""
    clock = FakeClock(100.3)
    schedule = ReportSchedule.start(1.0, clock)
    assert schedule.seconds_until_due() == pytest.approx(0.7)
    assert not schedule.is_due()
    clock.now_s = 101.02
    assert schedule.is_due()
    assert schedule.advance() == (100.3, 101.02)
    assert schedule.seconds_until_due() == pytest.approx(0.98)
    clock.now_s = 102.0
    assert schedule.advance() == (101.02, 102.0)


def test_schedule_late_take_skips_to_the_next_boundary() -> None:
    """A take that comes late covers the gap; the next one is on a boundary again."""
    clock = FakeClock(10.0)
    schedule = ReportSchedule.start(2.0, clock)
    clock.now_s = 15.5
    assert schedule.advance() == (10.0, 15.5)
    assert schedule.seconds_until_due() == pytest.approx(0.5)


def test_slot_of_absorbs_float_noise_at_boundaries() -> None:
    """A start computed as a hair below a boundary still lands in its slot."""
    assert slot_of(0.3 * 3, 0.3) == 3
    assert slot_of(12.999, 1.0) == 12
    assert slot_of(13.0, 1.0) == 13


def test_schedule_rejects_a_non_positive_interval() -> None:
    """A zero interval is a usage error, reported at start."""
    with pytest.raises(ValueError, match="positive"):
        ReportSchedule.start(0.0, FakeClock(0.0))


def test_what_the_wire_refuses_is_made_to_fit() -> None:
    """Long or empty names and odd outcome classes still make a valid report."""
    from loadgen.aggregator import wire

    recorder = Recorder()
    recorder.record("x" * 600, 10, "ok")
    recorder.record("", 10, "ok")
    recorder.record("ping", 10, "HTTP Status 503")
    recorder.record("ping", 10, "404")
    for i in range(40):
        recorder.record("many", 10, f"class_{i}")
    record = recorder.take(0, 1)
    names = by_name(record)
    assert len(next(n for n in names if n.startswith("xxx"))) == 512
    assert "(empty name)" in names
    assert names["ping"].outcome_counts == {"http_status_503": 1, "x_404": 1}
    assert len(names["many"].outcome_counts) == 32
    assert names["many"].outcome_counts["other"] == 9
    frame = wire.IntervalFrame.from_record(
        record, run_id="r", worker_id="w", seq=0, report_interval_s=1.0
    )
    assert isinstance(wire.decode(wire.encode(frame)), wire.IntervalFrame)


@pytest.mark.parametrize(
    ("kind", "attrs"),
    [
        ("has space", {}),
        ("", {}),
        ("ok.kind", {"nested": [1]}),
        ("ok.kind", {"x": float("nan")}),
        ("ok.kind", {f"k{i}": i for i in range(33)}),
    ],
)
def test_events_the_wire_refuses_are_refused_when_recorded(
    kind: str, attrs: dict[str, object]
) -> None:
    """A bad event kind or attribute raises at once, naming the rule."""
    with pytest.raises(ValueError, match="event"):
        Recorder().add_event(kind, 1.0, attrs)  # type: ignore[arg-type]
