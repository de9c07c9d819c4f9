"""Corrected and uncorrected latency: aggregator, report and table."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from loadgen.aggregator import wire
from loadgen.aggregator.results import RunSnapshot
from loadgen.aggregator.state import Aggregator
from loadgen.aggregator.table import format_percentile_table
from loadgen.pacing.config import OpenModelConfig
from loadgen.pacing.locust_glue import OpenModelRun, report_section
from loadgen.recording import Recorder
from sla.report_json import report_schema
from sla.testing import report_of

START_S = 1_700_000_000.0
ECHO = "tools/call echo"


class Worker:
    """One worker's recorder, stamped into frames for one aggregator."""

    def __init__(self, aggregator: Aggregator, worker_id: str) -> None:
        self.aggregator = aggregator
        self.worker_id = worker_id
        self.recorder = Recorder()
        self.seq = 0

    def send(self, slot: int, *, final: bool = False) -> None:
        start_s = START_S + slot
        record = self.recorder.take(start_s, start_s + 1)
        frame = wire.IntervalFrame.from_record(
            record,
            run_id="run-1",
            worker_id=self.worker_id,
            seq=self.seq,
            report_interval_s=1.0,
            final=final,
        )
        self.seq += 1
        assert self.aggregator.ingest(wire.encode(frame)).status == wire.ACCEPTED


def stalled_run() -> RunSnapshot:
    """Two seconds: unpaced at first, then 100 paced requests, 10 of them late."""
    aggregator = Aggregator("run-1", clock=lambda: START_S + 2)
    worker = Worker(aggregator, "w1")
    worker.recorder.record(ECHO, 1_000, "ok")
    worker.recorder.record("initialize", 9_000, "ok")
    worker.send(0)
    for i in range(100):
        late_us = 800_000 if i < 10 else 0
        worker.recorder.record_paced(ECHO, 1_000 + late_us, 1_000, "ok")
    worker.recorder.count("pacing.sent", 100)
    worker.recorder.count("pacing.late", 10)
    worker.send(1, final=True)
    aggregator.finish()
    return aggregator.snapshot()


def test_the_uncorrected_side_starts_as_a_copy_of_the_earlier_data() -> None:
    """Requests before the first paced one are in both sides of the run."""
    echo = stalled_run().cumulative.by_name[ECHO]
    assert echo.count == 101
    assert echo.uncorrected is not None
    assert echo.uncorrected.count == 101
    assert echo.uncorrected.max_us == 1_000
    assert echo.max_us == 801_000


def test_corrected_percentiles_see_the_stall_and_uncorrected_do_not() -> None:
    """The late tenth shows at p95 corrected; uncorrected stays at 1 ms."""
    total = stalled_run().cumulative.total
    assert total.percentile_us(95) >= 800_000
    assert total.as_uncorrected().percentile_us(95) == pytest.approx(1_000, rel=1e-3)


def test_a_closed_model_name_is_its_own_uncorrected_side() -> None:
    """Without pacing there is one measurement, read from both sides."""
    initialize = stalled_run().cumulative.by_name["initialize"]
    assert initialize.uncorrected is None
    assert initialize.as_uncorrected() is initialize


def test_intervals_of_a_paced_and_an_unpaced_worker_merge_exactly() -> None:
    """One slot, two workers: the uncorrected side counts both workers' requests."""
    aggregator = Aggregator("run-1")
    paced, plain = Worker(aggregator, "w1"), Worker(aggregator, "w2")
    paced.recorder.record_paced(ECHO, 500_000, 2_000, "ok")
    plain.recorder.record(ECHO, 3_000, "ok")
    paced.send(0)
    plain.send(0)
    echo = aggregator.snapshot().intervals[0].by_name[ECHO]
    assert echo.count == 2 and echo.uncorrected is not None
    assert (echo.uncorrected.min_us, echo.uncorrected.max_us) == (2_000, 3_000)
    assert (echo.min_us, echo.max_us) == (3_000, 500_000)


def test_counters_add_up_over_workers_intervals_and_windows() -> None:
    """The pacer's counters sum across workers, per interval and per window."""
    aggregator = Aggregator("run-1")
    workers = [Worker(aggregator, "w1"), Worker(aggregator, "w2")]
    for slot in range(3):
        for worker in workers:
            worker.recorder.count("pacing.late", slot + 1)
            worker.send(slot)
    snapshot = aggregator.snapshot()
    assert snapshot.cumulative.counters == {"pacing.late": 12}
    assert [i.counters["pacing.late"] for i in snapshot.intervals] == [2, 4, 6]
    assert snapshot.last(2.0).counters == {"pacing.late": 10}


def test_the_report_puts_uncorrected_latency_beside_latency() -> None:
    """Totals and names carry both; the corrected one is latency_ms."""
    report = report_of(stalled_run())
    totals = report["totals"]
    assert totals["latency_ms"]["max"] == 801.0
    assert totals["uncorrected_latency_ms"]["max"] == 9.0
    echo = next(e for e in report["endpoints"] if e["name"] == ECHO)
    assert echo["uncorrected_latency_ms"]["p99"] == pytest.approx(1.0, rel=1e-3)


def test_a_closed_model_report_repeats_latency_as_uncorrected() -> None:
    """With one measurement, uncorrected_latency_ms holds the same values."""
    aggregator = Aggregator("run-1")
    worker = Worker(aggregator, "w1")
    worker.recorder.record("ping", 700, "ok")
    worker.send(0, final=True)
    report = report_of(aggregator.snapshot())
    assert report["totals"]["uncorrected_latency_ms"] == report["totals"]["latency_ms"]
    assert report["open_model"] is None
    validate(report)


def test_the_open_model_section_states_the_schedule_and_its_counts() -> None:
    """sent, late and dropped come from the counters; rates from the span."""
    snapshot = stalled_run()
    run = OpenModelRun(OpenModelConfig(50.0), 1, START_S, START_S + 2)
    section = report_section(run, snapshot)
    assert section["sent_count"] == 100
    assert section["late_count"] == 10
    assert section["dropped_count"] == 0
    assert section["achieved_rate_per_s"] == pytest.approx(50.0)
    assert section["intended_count"] == 100
    assert section["unsent_count"] == 0
    report = report_of(snapshot)
    report["open_model"] = section
    validate(report)


def test_the_table_prints_corrected_then_uncorrected_and_the_counts() -> None:
    """An open-model run's table has both percentile tables, as wrk2 prints."""
    table = format_percentile_table(stalled_run())
    corrected, _, uncorrected = table.partition("from the actual send (uncorrected)")
    assert "intended start (corrected)" in corrected
    rows = [line for line in table.splitlines() if line.startswith("Aggregated")]
    assert len(rows) == 2
    assert rows[0].split()[-1] == "801"
    assert rows[1].split()[-1] == "9"
    assert "Open model: 100 requests sent" in uncorrected
    assert "10 late" in uncorrected


def validate(report: dict[str, Any]) -> None:
    jsonschema.validate(report, report_schema(), cls=jsonschema.Draft202012Validator)
