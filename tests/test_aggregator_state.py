"""The aggregator's merge, time series, completeness and read API (no sockets)."""

from __future__ import annotations

import numpy as np
import pytest

from loadgen.aggregator import wire
from loadgen.aggregator.results import TOTAL_NAME, TimedEvent
from loadgen.aggregator.state import Aggregator
from loadgen.aggregator.testing import interval_frame
from loadgen.recording import Recorder

RUN = "run-1"


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now_s: float = 1_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def send(aggregator: Aggregator, frame: wire.IntervalFrame) -> str:
    return aggregator.ingest(wire.encode(frame)).status


DISTRIBUTIONS = {
    "uniform": lambda rng, n: rng.uniform(500, 50_000, n),
    "normal": lambda rng, n: rng.normal(20_000, 3_000, n),
    "lognormal": lambda rng, n: rng.lognormal(8, 0.8, n),
    "exponential": lambda rng, n: rng.exponential(5_000, n) + 200,
    "bimodal": lambda rng, n: np.concatenate(
        [rng.normal(2_000, 200, n - n // 10), rng.normal(80_000, 5_000, n // 10)]
    ),
}


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_three_workers_merge_within_a_tenth_of_a_percent(distribution: str) -> None:
    """p50/p90/p99/p99.9 from 3 workers' frames are within 0.1 % of numpy's."""
    rng = np.random.default_rng(11)
    aggregator = Aggregator(RUN)
    raw = []
    for worker in range(3):
        recorder = Recorder()
        for seq in range(4):
            values = DISTRIBUTIONS[distribution](rng, 25_000)
            values = np.clip(np.rint(values), 1, None).astype(np.int64)
            raw.append(values)
            for value in values.tolist():
                recorder.record("tools/call echo", value, "ok")
            frame = wire.IntervalFrame.from_record(
                recorder.take(seq, seq + 1),
                run_id=RUN,
                worker_id=f"w{worker}",
                seq=seq,
                report_interval_s=1.0,
                final=seq == 3,
            )
            assert send(aggregator, frame) == wire.ACCEPTED
    samples = np.concatenate(raw)
    merged = aggregator.snapshot().cumulative.total
    assert merged.count == samples.size
    for p in (50, 90, 99, 99.9):
        exact = np.percentile(samples, p, method="inverted_cdf")
        assert merged.percentile_us(p) == pytest.approx(exact, rel=1e-3)
    assert merged.mean_us == pytest.approx(samples.mean(), rel=1e-12)
    assert (merged.min_us, merged.max_us) == (samples.min(), samples.max())


def test_duplicate_frames_are_acknowledged_and_merged_once() -> None:
    """A resent frame is a duplicate: acknowledged again, counted once."""
    aggregator = Aggregator(RUN)
    frame = interval_frame({"ping": [100, 200]}, run_id=RUN)
    assert send(aggregator, frame) == wire.ACCEPTED
    assert send(aggregator, frame) == wire.DUPLICATE
    snapshot = aggregator.snapshot()
    assert snapshot.cumulative.total.count == 2
    assert snapshot.completeness.duplicate_frames == 1


def test_foreign_run_is_rejected_and_counted() -> None:
    """A frame of another run is rejected with reason foreign_run."""
    aggregator = Aggregator(RUN)
    result = aggregator.ingest(wire.encode(interval_frame({"a": [1]}, run_id="other")))
    assert (result.status, result.reason) == (wire.REJECTED, "foreign_run")
    assert aggregator.snapshot().completeness.rejected_frames == {"foreign_run": 1}


def test_a_different_interval_length_is_inconsistent() -> None:
    """Frames of one run must share one report interval."""
    aggregator = Aggregator(RUN)
    send(aggregator, interval_frame({"a": [1]}, run_id=RUN, report_interval_s=1.0))
    other = interval_frame({"a": [1]}, run_id=RUN, seq=1, report_interval_s=2.0)
    result = aggregator.ingest(wire.encode(other))
    assert (result.status, result.reason) == (wire.REJECTED, "inconsistent")


def test_garbage_is_rejected_and_counted_by_reason() -> None:
    """Undecodable input never raises; it is counted under its reason."""
    aggregator = Aggregator(RUN, max_frame_bytes=1024)
    assert aggregator.ingest(b"\xc1").reason == "malformed"
    assert aggregator.ingest(b"x" * 2000).reason == "oversized"
    assert aggregator.snapshot().completeness.rejected_frames == {
        "malformed": 1,
        "oversized": 1,
    }


def test_run_id_is_adopted_from_the_first_frame() -> None:
    """Without a run id the aggregator collects the first frame's run."""
    aggregator = Aggregator()
    send(aggregator, interval_frame({"a": [1]}, run_id="adopted"))
    assert aggregator.run_id == "adopted"


def frames_of(worker: str, seqs: list[int], final_seq: int | None = None):
    for seq in seqs:
        yield interval_frame(
            {"ping": [1_000]},
            run_id=RUN,
            worker_id=worker,
            seq=seq,
            start_s=100.0 + seq,
            final=seq == final_seq,
        )


def test_gaps_count_as_missing_intervals() -> None:
    """Sequence numbers that never arrived below the highest are missing."""
    aggregator = Aggregator(RUN)
    for frame in frames_of("w1", [0, 1, 4, 5], final_seq=5):
        send(aggregator, frame)
    completeness = aggregator.snapshot().completeness
    assert completeness.intervals_received == 4
    assert completeness.intervals_missing == 2
    assert not completeness.complete


def test_a_late_resend_fills_a_gap() -> None:
    """A gap filled by a resent frame is no longer missing."""
    aggregator = Aggregator(RUN)
    frames = list(frames_of("w1", [0, 1, 2], final_seq=2))
    for frame in (frames[0], frames[2], frames[1]):
        send(aggregator, frame)
    assert aggregator.snapshot().completeness.complete


def test_worker_silent_without_final_is_lost_after_the_silence_limit() -> None:
    """A worker with no final interval is lost once silent long enough."""
    clock = FakeClock()
    aggregator = Aggregator(RUN, clock=clock, silence_limit_intervals=5)
    for frame in frames_of("alive", [0, 1]):
        send(aggregator, frame)
    for frame in frames_of("killed", [0, 1]):
        send(aggregator, frame)
    assert aggregator.snapshot().completeness.lost_workers == ()

    clock.now_s += 4
    send(aggregator, next(frames_of("alive", [2])))
    clock.now_s += 2
    lost = aggregator.snapshot().completeness.lost_workers
    assert [w.worker_id for w in lost] == ["killed"]
    assert lost[0].last_seq == 1
    assert lost[0].intervals_lost == 1
    assert aggregator.silent_workers() == {"killed"}


def test_finishing_loses_every_worker_without_a_final_interval() -> None:
    """After finish, any worker without its final interval is lost."""
    aggregator = Aggregator(RUN)
    for frame in frames_of("done", [0, 1], final_seq=1):
        send(aggregator, frame)
    for frame in frames_of("gone", [0]):
        send(aggregator, frame)
    aggregator.note_worker_progress("gone", 3)
    aggregator.finish()
    completeness = aggregator.snapshot().completeness
    assert [w.worker_id for w in completeness.lost_workers] == ["gone"]
    # Sent 0..2 by its own report, received 0, plus the unflushed interval.
    assert completeness.lost_workers[0].intervals_lost == 3
    assert completeness.intervals_missing == 3
    assert completeness.workers_finished == 1


def test_has_final_needs_every_interval_before_it() -> None:
    """A final frame with a gap before it is not yet a complete worker."""
    aggregator = Aggregator(RUN)
    for frame in frames_of("w", [0, 2], final_seq=2):
        send(aggregator, frame)
    assert not aggregator.has_final("w")
    send(aggregator, next(frames_of("w", [1])))
    assert aggregator.has_final("w")


def run_of_three_intervals() -> Aggregator:
    aggregator = Aggregator(RUN)
    samples = [
        {"tools/call echo": [1_000] * 9, "tools/call add": [2_000] * 3, "ping": [50]},
        {"tools/call echo": [5_000] * 4, "ping": [60, 70]},
        {"tools/call echo": [9_000] * 2},
    ]
    for seq, per_name in enumerate(samples):
        for worker in ("a", "b"):
            frame = interval_frame(
                per_name,
                run_id=RUN,
                worker_id=worker,
                seq=seq,
                start_s=200.0 + seq,
                final=seq == 2,
            )
            send(aggregator, frame)
    return aggregator


def test_time_series_has_one_merged_entry_per_interval() -> None:
    """Intervals of all workers that start in one slot merge into one entry."""
    snapshot = run_of_three_intervals().snapshot()
    assert [i.slot for i in snapshot.intervals] == [200, 201, 202]
    assert [i.total.count for i in snapshot.intervals] == [26, 12, 4]
    assert [i.worker_count for i in snapshot.intervals] == [2, 2, 2]
    assert snapshot.intervals[1].by_name["ping"].max_us == 70


def test_cumulative_equals_the_sum_of_intervals() -> None:
    """The whole-run view counts what the time series counts."""
    snapshot = run_of_three_intervals().snapshot()
    whole = snapshot.cumulative
    assert whole.total.count == sum(i.total.count for i in snapshot.intervals)
    assert whole.total.name == TOTAL_NAME
    assert (whole.start_s, whole.end_s) == (200.0, 203.0)
    assert whole.total.rps == pytest.approx(42 / 3)


def test_select_merges_names_matching_a_glob() -> None:
    """select("tools/call *") merges exactly the tool calls."""
    whole = run_of_three_intervals().snapshot().cumulative
    tools = whole.select("tools/call *")
    assert tools.count == (9 + 3 + 4 + 2) * 2
    assert whole.matching("tools/call *") == ("tools/call add", "tools/call echo")
    assert whole.select("ping").count == 6
    assert whole.select(None).count == whole.total.count


def test_windows_merge_intervals() -> None:
    """window() and last() merge the intervals they cover; rolling() yields each."""
    snapshot = run_of_three_intervals().snapshot()
    assert snapshot.window(201.0, 203.0).total.count == 16
    assert snapshot.last(2.0).total.count == 16
    echo = snapshot.last(2.0).select("tools/call echo")
    assert echo.percentile_us(50) == pytest.approx(5_000, rel=1e-3)
    assert [w.total.count for w in snapshot.rolling(2.0)] == [26, 38, 16]


def test_error_rates_by_outcome_class() -> None:
    """error_rate() counts every class but ok; error_rate(cls) one class."""
    aggregator = Aggregator(RUN)
    recorder = Recorder()
    for outcome, n in (("ok", 6), ("transport", 3), ("jsonrpc_error", 1)):
        for _ in range(n):
            recorder.record("ping", 100, outcome)
    frame = wire.IntervalFrame.from_record(
        recorder.take(0, 2), run_id=RUN, worker_id="w", seq=0, report_interval_s=1.0
    )
    send(aggregator, frame)
    ping = aggregator.snapshot().cumulative.by_name["ping"]
    assert ping.failure_count == 4
    assert ping.error_rate() == pytest.approx(0.4)
    assert ping.error_rate("transport") == pytest.approx(0.3)
    assert ping.failures_by_outcome() == {"transport": 3, "jsonrpc_error": 1}


def test_percentiles_stay_within_the_exact_extremes() -> None:
    """A percentile never exceeds the largest latency actually recorded."""
    aggregator = Aggregator(RUN)
    send(aggregator, interval_frame({"x": [100_001]}, run_id=RUN))
    result = aggregator.snapshot().cumulative.by_name["x"]
    assert result.histogram.percentile_us(100) > 100_001
    assert result.percentile_us(100) == 100_001


def test_snapshots_reuse_unchanged_results() -> None:
    """A slot no frame touched since the last snapshot is the same object."""
    aggregator = run_of_three_intervals()
    first = aggregator.snapshot()
    send(
        aggregator,
        interval_frame({"ping": [1]}, run_id=RUN, worker_id="c", seq=0, start_s=202.0),
    )
    second = aggregator.snapshot()
    assert second.intervals[0] is first.intervals[0]
    assert second.intervals[2] is not first.intervals[2]
    assert second.intervals[2].total.count == 5


def test_events_are_kept_in_time_order() -> None:
    """Worker events and the master's own marks come back sorted by time."""
    aggregator = Aggregator(RUN)
    frame = interval_frame({"a": [1]}, run_id=RUN)
    frame = wire.IntervalFrame(
        **{**vars(frame), "events": (wire.WorkerEvent("breaker.open", 5.0, {}),)}
    )
    send(aggregator, frame)
    aggregator.add_event(TimedEvent("master", "chaos.start", 3.0, {}))
    kinds = [e.kind for e in aggregator.snapshot().events]
    assert kinds == ["chaos.start", "breaker.open"]
    assert aggregator.snapshot().events_of(["breaker.open"])[0].worker_id == "worker-1"
