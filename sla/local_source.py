"""An in-process snapshot source for a local (single-process) Locust run.

The SLA reads results through :class:`~sla.locust_hooks.SnapshotSource`,
which the aggregator's Locust plugin provides. When a local run asks for an
SLA verdict and nothing provided one, this module stands in: it feeds the
request event into a ``Recorder``, closes an interval on the report
schedule, and merges each interval into an in-process ``Aggregator`` (the
same pieces a distributed run uses, minus the sockets). It cannot see other
processes, so a master never uses it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import gevent

from loadgen.aggregator.results import RunSnapshot
from loadgen.aggregator.state import Aggregator
from loadgen.aggregator.wire import IntervalFrame
from loadgen.recording.adapter import RequestEventListener
from loadgen.recording.recorder import Recorder
from loadgen.recording.schedule import DEFAULT_REPORT_INTERVAL_S, ReportSchedule
from sla.source import SnapshotSource

logger = logging.getLogger(__name__)

WORKER_ID = "local"


class LocalRecording:
    """Records this process's requests and aggregates them, interval by interval."""

    def __init__(
        self,
        environment: Any,
        *,
        clock: Callable[[], float],
        interval_s: float = DEFAULT_REPORT_INTERVAL_S,
    ) -> None:
        self.environment = environment
        self.interval_s = interval_s
        self._clock = clock
        self.run_id = uuid.uuid4().hex[:12]
        self.aggregator = Aggregator(self.run_id, clock=clock)
        self.recorder = Recorder()
        self._listener = RequestEventListener(self.recorder)
        self._schedule: ReportSchedule | None = None
        self._seq = 0
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Listen to requests and close an interval on every boundary."""
        self._schedule = ReportSchedule.start(self.interval_s, self._clock)
        self.environment.events.request.add_listener(self._listener)
        self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        assert self._schedule is not None
        while True:
            gevent.sleep(self._schedule.seconds_until_due())
            if self._schedule.is_due():
                self._take(final=False)

    def _take(self, *, final: bool) -> None:
        assert self._schedule is not None
        start_s, end_s = self._schedule.advance()
        frame = IntervalFrame.from_record(
            self.recorder.take(start_s, end_s),
            run_id=self.run_id,
            worker_id=WORKER_ID,
            seq=self._seq,
            report_interval_s=self.interval_s,
            final=final,
        )
        self._seq += 1
        self.aggregator.ingest_frame(frame)

    def live(self) -> RunSnapshot | None:
        return self.aggregator.snapshot() if self._seq else None

    def final(self) -> RunSnapshot | None:
        """Close the last interval, stop listening, return the finished run."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        if self._schedule is not None and not self.aggregator.finished:
            self._take(final=True)
            self.environment.events.request.remove_listener(self._listener)
            self.aggregator.finish()
        return self.aggregator.snapshot()

    def source(self) -> SnapshotSource:
        return SnapshotSource(self.live, self.final, self.interval_s)
