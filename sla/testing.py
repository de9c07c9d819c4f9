"""Build run snapshots for tests the way a real run does, without a run.

:class:`RunBuilder` drives the real pieces: one ``Recorder`` per worker,
intervals stamped into wire frames, merged by an ``Aggregator`` whose clock
the builder steps. Tests of SLA files and report renderers (ours, and
users' own) get snapshots with the exact shape and arithmetic of a run,
including gaps and lost workers, in microseconds of CPU and no sleeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadgen.aggregator.results import RunSnapshot
from loadgen.aggregator.state import Aggregator
from loadgen.aggregator.wire import IntervalFrame
from loadgen.recording.recorder import EventValue, Recorder
from sla.live import Abort
from sla.report_json import RunInfo, build_report
from sla.spec import parse_sla
from sla.verdict import judge

# 2023-11-14 22:13:20 UTC: a fixed, whole-second epoch so interval
# boundaries fall on exact slot edges.
DEFAULT_START_S = 1_700_000_000.0


@dataclass
class _Worker:
    recorder: Recorder = field(default_factory=Recorder)
    seq: int = 0


class RunBuilder:
    """A fake run: record requests, close intervals, take snapshots."""

    def __init__(
        self,
        *,
        interval_s: float = 1.0,
        start_s: float = DEFAULT_START_S,
        run_id: str = "test-run",
    ) -> None:
        self.interval_s = interval_s
        self.start_s = start_s
        self.now_s = start_s
        self.run_id = run_id
        self.aggregator = Aggregator(run_id, clock=lambda: self.now_s)
        self._workers: dict[str, _Worker] = {}
        self._gone: set[str] = set()

    def clock(self) -> float:
        """The builder's time, for code under test that takes a clock."""
        return self.now_s

    def record(
        self,
        name: str,
        latency_us: int | Iterable[int],
        outcome: str = "ok",
        *,
        count: int = 1,
        worker: str = "worker-1",
    ) -> RunBuilder:
        """Record ``count`` requests per latency given, in the open interval."""
        recorder = self._workers.setdefault(worker, _Worker()).recorder
        values = [latency_us] if isinstance(latency_us, int) else list(latency_us)
        for value in values:
            for _ in range(count):
                recorder.record(name, value, outcome)
        return self

    def event(
        self,
        kind: str,
        at_s: float,
        attrs: Mapping[str, EventValue] | None = None,
        *,
        worker: str = "worker-1",
    ) -> RunBuilder:
        """Mark the time line, ``at_s`` seconds after the builder's start."""
        recorder = self._workers.setdefault(worker, _Worker()).recorder
        recorder.add_event(kind, self.start_s + at_s, attrs)
        return self

    def end_interval(
        self,
        *,
        length_s: float | None = None,
        lose: Iterable[str] = (),
        final: bool = False,
    ) -> RunBuilder:
        """Close the open interval on every worker and advance the clock.

        Workers in ``lose`` take their interval but it never arrives (a gap).
        """
        start_s = self.now_s
        self.now_s += self.interval_s if length_s is None else length_s
        lost = set(lose)
        for worker_id, worker in self._workers.items():
            if worker_id in self._gone:
                continue
            frame = self._frame(worker_id, worker, start_s, final=final)
            if worker_id not in lost:
                self.aggregator.ingest_frame(frame)
        return self

    def vanish(self, worker: str) -> RunBuilder:
        """The worker stops reporting and never sends its final interval."""
        self._gone.add(worker)
        return self

    def finish(self, *, length_s: float | None = None) -> RunSnapshot:
        """Close the open interval as every worker's last; the final snapshot."""
        self.end_interval(length_s=length_s, final=True)
        self.aggregator.finish()
        return self.aggregator.snapshot()

    def snapshot(self) -> RunSnapshot:
        """The run so far, as a live reader sees it."""
        return self.aggregator.snapshot()

    def _frame(
        self, worker_id: str, worker: _Worker, start_s: float, *, final: bool
    ) -> IntervalFrame:
        record = worker.recorder.take(start_s, self.now_s)
        frame = IntervalFrame.from_record(
            record,
            run_id=self.run_id,
            worker_id=worker_id,
            seq=worker.seq,
            report_interval_s=self.interval_s,
            final=final,
        )
        worker.seq += 1
        return frame


def report_of(
    snapshot: RunSnapshot,
    sla: Mapping[str, object] | None = None,
    *,
    info: RunInfo | None = None,
    aborted: Abort | None = None,
) -> dict[str, Any]:
    """The JSON report of a snapshot judged by an SLA given as a mapping."""
    spec = parse_sla(sla, "test-sla.yaml") if sla is not None else None
    verdict = judge(spec, snapshot, aborted)
    return build_report(snapshot, verdict, info or RunInfo(sla_file="test-sla.yaml"))
