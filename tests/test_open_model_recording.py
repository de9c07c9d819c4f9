"""Recording corrected and uncorrected latency, and the pacer's counters."""

from __future__ import annotations

import numpy as np
import pytest

from loadgen.recording import Histogram, Recorder, RequestEventListener
from loadgen.recording.recorder import IntervalRecord, NameRecord

START_S = 1_800_000_000.0


def by_name(record: IntervalRecord) -> dict[str, NameRecord]:
    return {n.name: n for n in record.names}


def fire(
    listener: RequestEventListener,
    latency_us: int,
    *,
    late_s: float | None = None,
    name: str = "tools/call echo",
) -> None:
    """One McpUser-style request event; ``late_s`` makes it an open-model one."""
    context: dict[str, object] = {"outcome": "ok", "latency_us": latency_us}
    if late_s is not None:
        context["intended_start_s"] = START_S - late_s
    listener(
        request_type="MCP",
        name=name,
        response_time=latency_us / 1000,
        context=context,
        start_time=START_S,
    )


def test_a_paced_request_counts_from_its_intended_start() -> None:
    """Sent 250 ms late and answered in 2 ms: 252 ms corrected, 2 ms not."""
    recorder = Recorder()
    fire(RequestEventListener(recorder), 2_000, late_s=0.25)
    entry = by_name(recorder.take(0, 1))["tools/call echo"]
    assert (entry.min_us, entry.max_us) == (252_000, 252_000)
    assert entry.uncorrected is not None
    assert (entry.uncorrected.min_us, entry.uncorrected.sum_us) == (2_000, 2_000)


def test_closed_model_requests_carry_no_second_histogram() -> None:
    """Without an intended start both latencies are the same data: one histogram."""
    recorder = Recorder()
    listener = RequestEventListener(recorder)
    for latency in (1_000, 2_000, 3_000):
        fire(listener, latency)
    assert by_name(recorder.take(0, 1))["tools/call echo"].uncorrected is None


def test_unpaced_requests_of_a_paced_name_are_in_both_histograms() -> None:
    """A name's uncorrected histogram counts all its requests, paced or not."""
    recorder = Recorder()
    listener = RequestEventListener(recorder)
    fire(listener, 1_000)
    fire(listener, 1_000, late_s=0.5)
    entry = by_name(recorder.take(0, 1))["tools/call echo"]
    assert entry.count == 2
    assert entry.uncorrected is not None
    assert entry.uncorrected.count == 2
    assert entry.uncorrected.sum_us == 2_000
    assert entry.sum_us == 1_000 + 501_000


def test_other_names_stay_single_when_one_name_is_paced() -> None:
    """Only names with a paced request get an uncorrected histogram."""
    recorder = Recorder()
    listener = RequestEventListener(recorder)
    fire(listener, 1_000, name="initialize")
    fire(listener, 1_000, late_s=0.1)
    names = by_name(recorder.take(0, 1))
    assert names["initialize"].uncorrected is None
    assert names["tools/call echo"].uncorrected is not None


def test_a_send_before_the_intended_start_counts_as_on_time() -> None:
    """A negative delay (clock step) adds nothing to the latency."""
    recorder = Recorder()
    fire(RequestEventListener(recorder), 3_000, late_s=-0.002)
    entry = by_name(recorder.take(0, 1))["tools/call echo"]
    assert entry.sum_us == 3_000


def test_paced_samples_are_exact_across_buffer_spills() -> None:
    """Both histograms equal bucketing the raw samples, whatever spills."""
    recorder = Recorder(capacity=64)
    rng = np.random.default_rng(5)
    sent = rng.integers(100, 50_000, 1_000)
    delay = rng.integers(0, 900_000, 1_000) * (rng.random(1_000) < 0.3)
    for i in range(1_000):
        if i % 200 < 100:
            recorder.record("a", int(sent[i]), "ok")
            delay[i] = 0
        else:
            recorder.record_paced("a", int(sent[i] + delay[i]), int(sent[i]), "ok")
    entry = by_name(recorder.take(0, 1))["a"]
    assert recorder.spill_count > 10
    corrected = Histogram.from_values(sent + delay)
    assert entry.bucket_counts.tolist() == corrected.bucket_counts.tolist()
    assert entry.uncorrected is not None
    uncorrected = Histogram.from_values(sent)
    assert entry.uncorrected.bucket_indices.tolist() == (
        uncorrected.bucket_indices.tolist()
    )
    assert entry.uncorrected.bucket_counts.tolist() == (
        uncorrected.bucket_counts.tolist()
    )
    assert entry.uncorrected.sum_us == int(sent.sum())
    assert entry.uncorrected.max_us == int(sent.max())


def test_counters_are_taken_with_their_interval() -> None:
    """Counters add up within an interval and start afresh after a take."""
    recorder = Recorder()
    recorder.count("pacing.late")
    recorder.count("pacing.late", 4)
    recorder.count("pacing.dropped", 0)
    assert recorder.take(0, 1).counters == {"pacing.late": 5}
    assert recorder.take(1, 2).counters == {}


@pytest.mark.parametrize(("kind", "n"), [("has space", 1), ("ok", -1), ("ok", 1.5)])
def test_a_counter_the_report_cannot_carry_is_refused(kind: str, n: object) -> None:
    """A bad counter kind or count raises ValueError when counted."""
    with pytest.raises(ValueError):
        Recorder().count(kind, n)  # type: ignore[arg-type]
