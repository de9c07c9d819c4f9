"""The results path in each kind of Locust process, without Locust itself.

- ``LocalHub`` (a plain ``locust`` run): recorder and aggregator in one
  process; each interval goes straight into the aggregator.
- ``WorkerHub`` (``--worker``, and each ``--processes`` child): recorder and
  sender. The master tells it where the aggregator is and which run it is
  (an :class:`Announcement`); until then, intervals wait in a backlog.
- ``MasterHub`` (``--master``, and the ``--processes`` parent): binds the
  aggregator (or mirrors a standalone one), announces it, and at the end of
  a run waits, bounded, for every worker's final interval.

``loadgen.locust_plugin`` connects these to Locust's events and messages;
readers (the SLA evaluator, reports) use :class:`ResultsHub`'s methods and
listener lists.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent

from loadgen.aggregator import wire
from loadgen.aggregator.mirror import RemoteMirror
from loadgen.aggregator.results import RunSnapshot, TimedEvent
from loadgen.aggregator.security import (
    KEYS_ENV,
    ClientKeys,
    Endpoint,
    check_bind_policy,
    load_client_keys,
    load_server_keys,
    parse_endpoint,
)
from loadgen.aggregator.sender import ReportSender
from loadgen.aggregator.server import AggregatorServer, ServerConfig
from loadgen.aggregator.sockets import green_context
from loadgen.aggregator.state import Aggregator
from loadgen.recording.adapter import RequestEventListener
from loadgen.recording.recorder import EventValue, IntervalRecord, Recorder
from loadgen.recording.schedule import Clock, ReportSchedule

logger = logging.getLogger(__name__)

# Locust's own wait for the workers' last report is half a second; ours is
# bounded too, but long enough for a loaded worker to stop its users.
DEFAULT_FINAL_FLUSH_TIMEOUT_S = 10.0

# How often greenlets that wait wake up to look again.
POLL_S = 0.05


@dataclass(frozen=True)
class ResultsOptions:
    """The results options of one process (see locust_plugin for the flags)."""

    report_interval_s: float = 1.0
    final_flush_timeout_s: float = DEFAULT_FINAL_FLUSH_TIMEOUT_S
    bind: str = "127.0.0.1:0"
    address: str = ""
    keys_dir: str = ""
    insecure: bool = False

    def client_keys(self) -> ClientKeys | None:
        return load_client_keys(Path(self.keys_dir)) if self.keys_dir else None


@dataclass(frozen=True)
class Announcement:
    """Master -> worker: where to send results and for which run."""

    run_id: str
    host: str
    port: int
    curve: bool
    report_interval_s: float

    def to_message(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_message(cls, data: Any) -> Announcement:
        try:
            announcement = cls(
                str(data["run_id"]),
                str(data["host"]),
                int(data["port"]),
                bool(data["curve"]),
                float(data["report_interval_s"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed results announcement: {data!r:.200}") from exc
        return announcement


def new_run_id(clock: Clock = time.time) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


class Listeners:
    """Callbacks for one kind of moment; a failing one is logged, not raised."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._callbacks: list[Callable[[RunSnapshot], None]] = []

    def add(self, callback: Callable[[RunSnapshot], None]) -> None:
        self._callbacks.append(callback)

    def __bool__(self) -> bool:
        return bool(self._callbacks)

    def fire(self, snapshot: RunSnapshot) -> None:
        for callback in list(self._callbacks):
            try:
                callback(snapshot)
            except Exception:
                logger.exception("Results: a %s listener failed", self.what)


class ResultsHub:
    """What readers use, in every kind of process."""

    role = "base"

    def __init__(self, options: ResultsOptions, clock: Clock = time.time) -> None:
        self.options = options
        # Whether the end-of-run table goes to stdout (not on workers).
        self.print_table = self.role != "worker"
        # Every socket of a hub is a green one: hubs live in greenlets.
        self._context = green_context()
        # Stops a running test (Locust's runner.quit); finalize() calls it so
        # that a reader asking for the final results early still gets them all.
        self.stop_test: Callable[[], None] = lambda: None
        self.clock = clock
        self.aggregator: Aggregator | None = None
        # Fired with a fresh snapshot after each report interval (not on workers).
        self.on_interval = Listeners("interval")
        # Fired once per run, after the final wait, before any summary prints.
        self.on_complete = Listeners("complete")
        self._completed: RunSnapshot | None = None

    def snapshot(self) -> RunSnapshot | None:
        """The current run so far; None before the first run starts."""
        return self.aggregator.snapshot() if self.aggregator is not None else None

    @property
    def completed(self) -> RunSnapshot | None:
        """The final snapshot of the last finished run."""
        return self._completed

    def finalize(self) -> RunSnapshot | None:
        """Finish the run (once), fire ``on_complete``, return the final snapshot.

        Safe to call at any time and more than once: a running test is
        stopped first, and later calls return the same snapshot.
        """
        if self.aggregator is None:
            return None
        if not self._is_completed():
            self.aggregator.finish()
            self._completed = self.aggregator.snapshot()
            self.on_complete.fire(self._completed)
        return self._completed

    def _is_completed(self) -> bool:
        return (
            self.aggregator is not None
            and self._completed is not None
            and self._completed.run_id == self.aggregator.run_id
        )

    def record_event(
        self,
        kind: str,
        attrs: dict[str, EventValue] | None = None,
        time_s: float | None = None,
    ) -> None:
        """Put a mark on the run's time line (breaker transition, chaos mark)."""
        raise NotImplementedError

    def count(self, kind: str, n: int = 1) -> None:
        """Add to a counter of the current interval (open-model late requests).

        Only processes that send requests count; the master has none.
        """

    def close(self) -> None:
        """Release sockets and greenlets."""


class _RecordingHub(ResultsHub):
    """Shared by local and worker processes: recorder, listener, schedule."""

    def __init__(self, options: ResultsOptions, clock: Clock = time.time) -> None:
        super().__init__(options, clock)
        self.recorder = Recorder()
        self.listener = RequestEventListener(self.recorder)
        self.schedule: ReportSchedule | None = None

    def record_event(
        self,
        kind: str,
        attrs: dict[str, EventValue] | None = None,
        time_s: float | None = None,
    ) -> None:
        self.recorder.add_event(kind, self.clock() if time_s is None else time_s, attrs)

    def count(self, kind: str, n: int = 1) -> None:
        self.recorder.count(kind, n)

    def _start_schedule(self, report_interval_s: float) -> None:
        # Samples from before the start (a previous run's stragglers) go.
        self.recorder.take(0.0, 0.0)
        self.schedule = ReportSchedule.start(report_interval_s, self.clock)

    def _due_record(self) -> IntervalRecord | None:
        if self.schedule is None or not self.schedule.is_due():
            return None
        return self.recorder.take(*self.schedule.advance())

    def _final_record(self) -> IntervalRecord | None:
        if self.schedule is None:
            return None
        record = self.recorder.take(*self.schedule.advance())
        self.schedule = None
        return record

    def _sleep_s(self) -> float:
        if self.schedule is None:
            return 0.2
        return min(max(self.schedule.seconds_until_due(), 0.001), 0.2)


class LocalHub(_RecordingHub):
    """One process: intervals go straight into the in-process aggregator."""

    role = "local"

    def __init__(
        self, options: ResultsOptions, worker_id: str, clock: Clock = time.time
    ):
        super().__init__(options, clock)
        self.worker_id = worker_id
        self._seq = 0
        self._interval_s = options.report_interval_s
        self._loop = gevent.spawn(self._run_loop)

    def begin_run(self, report_interval_s: float) -> None:
        if self.aggregator is not None:
            self.finalize()
        run_id = new_run_id(self.clock)
        self.aggregator = Aggregator(run_id, clock=self.clock)
        self._seq = 0
        self._interval_s = report_interval_s
        self._start_schedule(report_interval_s)
        logger.info("Results: run %s, intervals of %s s", run_id, report_interval_s)

    def end_run(self) -> None:
        record = self._final_record()
        if record is not None:
            self._ingest(record, final=True)

    def finalize(self) -> RunSnapshot | None:
        if self.schedule is not None and not self._is_completed():
            self.stop_test()
            self.end_run()
        return super().finalize()

    def _run_loop(self) -> None:
        while True:
            gevent.sleep(self._sleep_s())
            record = self._due_record()
            if record is not None:
                self._ingest(record, final=False)
                if self.on_interval and self.aggregator is not None:
                    self.on_interval.fire(self.aggregator.snapshot())

    def _ingest(self, record: IntervalRecord, final: bool) -> None:
        assert self.aggregator is not None and self.aggregator.run_id is not None
        frame = wire.IntervalFrame.from_record(
            record,
            run_id=self.aggregator.run_id,
            worker_id=self.worker_id,
            seq=self._seq,
            report_interval_s=self._interval_s,
            final=final,
        )
        self._seq += 1
        self.aggregator.ingest_frame(frame)

    def close(self) -> None:
        self._loop.kill(block=False)


class WorkerHub(_RecordingHub):
    """A worker process: intervals go to the announced aggregator."""

    role = "worker"

    def __init__(
        self,
        options: ResultsOptions,
        worker_id: str,
        master_host: str,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(options, clock)
        self.worker_id = worker_id
        self.master_host = master_host
        # An address given to this worker itself wins over the announced one.
        self.own_address = options.address
        self.announcement: Announcement | None = None
        self.sender: ReportSender | None = None
        self._interval_s = options.report_interval_s
        self._backlog: list[tuple[IntervalRecord, bool]] = []
        self._loop = gevent.spawn(self._run_loop)

    # Where to send -----------------------------------------------------------

    def on_announcement(self, data: Any) -> None:
        announcement = Announcement.from_message(data)
        if (
            self.announcement is not None
            and announcement.run_id == self.announcement.run_id
        ):
            return
        self.announcement = announcement
        self._close_sender()
        endpoint = self._endpoint(announcement)
        if announcement.curve and not self.options.keys_dir:
            logger.error(
                "Results: the aggregator at %s requires CURVE keys; give this "
                "worker --aggregator-keys DIR (or $%s) with the master's keys",
                endpoint.url,
                KEYS_ENV,
            )
            return
        keys = self.options.client_keys() if announcement.curve else None
        self.sender = ReportSender(
            endpoint,
            run_id=announcement.run_id,
            worker_id=self.worker_id,
            report_interval_s=announcement.report_interval_s,
            keys=keys,
            context=self._context,
        )
        logger.info("Results: run %s, sending to %s", announcement.run_id, endpoint.url)
        backlog, self._backlog = self._backlog, []
        for record, final in backlog:
            self.sender.submit(record, final)

    def _endpoint(self, announcement: Announcement) -> Endpoint:
        if self.own_address:
            return parse_endpoint(self.own_address, field="--aggregator-address")
        endpoint = Endpoint(announcement.host, announcement.port)
        if endpoint.is_wildcard:
            return Endpoint(self.master_host, announcement.port)
        master = Endpoint(self.master_host, 0)
        if endpoint.is_loopback and not master.is_loopback:
            logger.warning(
                "Results: the master's aggregator listens on loopback (%s) but "
                "this worker reaches the master at %s; start the master with "
                "--aggregator-bind 0.0.0.0:PORT and --aggregator-keys DIR",
                endpoint.url,
                self.master_host,
            )
        return endpoint

    # Run ---------------------------------------------------------------------

    def begin_run(self, report_interval_s: float) -> None:
        if self.announcement is not None:
            report_interval_s = self.announcement.report_interval_s
        self._interval_s = report_interval_s
        self._start_schedule(report_interval_s)

    def end_run(self) -> None:
        record = self._final_record()
        if record is not None:
            self._submit(record, final=True)

    def progress(self) -> dict[str, Any]:
        """What the worker tells the master with Locust's own reports."""
        if self.sender is None:
            return {}
        return {"run_id": self.sender.run_id, "next_seq": self.sender.next_seq}

    def drain(self, timeout_s: float) -> bool:
        """Wait, bounded, until the aggregator acknowledged every interval."""
        if self.sender is None:
            if self._backlog:
                logger.warning(
                    "Results: %s intervals never sent: no aggregator was announced",
                    len(self._backlog),
                )
            return not self._backlog
        done = self.sender.wait_acked(timeout_s)
        if not done:
            logger.warning(
                "Results: %s intervals unacknowledged after %s s; the aggregator "
                "will report them missing",
                self.sender.unacked,
                timeout_s,
            )
        return done

    def _submit(self, record: IntervalRecord, final: bool) -> None:
        if self.sender is None:
            self._backlog.append((record, final))
            return
        self.sender.submit(record, final)

    def _run_loop(self) -> None:
        while True:
            if self.sender is not None:
                self.sender.pump(self._sleep_s())
            else:
                gevent.sleep(self._sleep_s())
            record = self._due_record()
            if record is not None:
                self._submit(record, final=False)

    def _close_sender(self) -> None:
        if self.sender is not None:
            if self.sender.unacked:
                logger.info(
                    "Results: dropping %s unacknowledged intervals of run %s",
                    self.sender.unacked,
                    self.sender.run_id,
                )
            self.sender.close()
            self.sender = None

    def close(self) -> None:
        self._loop.kill(block=False)
        self._close_sender()


class MasterHub(ResultsHub):
    """The master: hosts (or mirrors) the aggregator and waits for finals."""

    role = "master"

    def __init__(
        self,
        options: ResultsOptions,
        announce: Callable[[dict[str, Any], str | None], None],
        worker_states: Callable[[], dict[str, str]],
        clock: Clock = time.time,
    ) -> None:
        super().__init__(options, clock)
        self._announce_to = announce
        self._worker_states = worker_states
        self.server: AggregatorServer | None = None
        self.mirror: RemoteMirror | None = None
        self.announcement: Announcement | None = None
        self._run_workers: set[str] = set()
        self._missing_workers: set[str] = set()
        self._serve_loop: Any = None
        self._tick_loop: Any = None
        self._finalizer: Any = None

    # Start -------------------------------------------------------------------

    def start(self) -> None:
        """Bind the in-master aggregator (unless a standalone one is named)."""
        if self.options.address:
            parse_endpoint(self.options.address, field="--aggregator-address")
            return
        endpoint = parse_endpoint(self.options.bind, field="--aggregator-bind")
        check_bind_policy(endpoint, self.options.keys_dir, self.options.insecure)
        keys = (
            load_server_keys(Path(self.options.keys_dir))
            if self.options.keys_dir
            else None
        )
        self.server = AggregatorServer(
            ServerConfig(endpoint, keys), clock=self.clock, context=self._context
        )
        self.server.start()
        self._serve_loop = gevent.spawn(self.server.serve_until, lambda: False)

    # Run ---------------------------------------------------------------------

    def begin_run(self, report_interval_s: float) -> None:
        if self.aggregator is not None:
            self.finalize()
        run_id = new_run_id(self.clock)
        self._run_workers = set()
        self._missing_workers = set()
        self._finalizer = None
        if self.server is not None:
            self.aggregator = self.server.begin_run(run_id)
            assert self.server.address is not None
            host, port = self.server.address.host, self.server.address.port
        else:
            endpoint = parse_endpoint(
                self.options.address, field="--aggregator-address"
            )
            self._open_mirror(run_id, endpoint)
            host, port = endpoint.host, endpoint.port
        self.announcement = Announcement(
            run_id, host, port, bool(self.options.keys_dir), report_interval_s
        )
        self._announce_to(self.announcement.to_message(), None)
        self._restart_tick(report_interval_s)
        logger.info("Results: run %s, intervals of %s s", run_id, report_interval_s)

    def _open_mirror(self, run_id: str, endpoint: Endpoint) -> None:
        if self.mirror is not None:
            self.mirror.close()
        self.aggregator = Aggregator(run_id, clock=self.clock)
        self.mirror = RemoteMirror(
            endpoint, self.aggregator, keys=self.options.client_keys()
        )

    def on_hello(self, worker_id: str) -> None:
        """A worker (re)joined: tell it about the current run, if any."""
        if self.announcement is not None:
            self._announce_to(self.announcement.to_message(), worker_id)

    def on_worker_report(self, worker_id: str, data: Any) -> None:
        if self.aggregator is None or not isinstance(data, dict):
            return
        if data.get("run_id") == self.aggregator.run_id and isinstance(
            data.get("next_seq"), int
        ):
            self.aggregator.note_worker_progress(worker_id, data["next_seq"])

    def record_event(
        self,
        kind: str,
        attrs: dict[str, EventValue] | None = None,
        time_s: float | None = None,
    ) -> None:
        if self.aggregator is not None:
            when = self.clock() if time_s is None else time_s
            self.aggregator.add_event(
                TimedEvent("master", kind, when, dict(attrs or {}))
            )

    # Interval tick -----------------------------------------------------------

    def _restart_tick(self, report_interval_s: float) -> None:
        if self._tick_loop is not None:
            self._tick_loop.kill(block=False)
        self._tick_loop = gevent.spawn(self._run_tick, report_interval_s)

    def _run_tick(self, report_interval_s: float) -> None:
        while True:
            gevent.sleep(report_interval_s)
            self._sample_workers()
            if self.mirror is not None:
                self.mirror.pull_all(min(report_interval_s / 2, 1.0))
            if self.aggregator is None:
                continue
            if self.on_interval:
                self.on_interval.fire(self.aggregator.snapshot())
            else:
                self.aggregator.compact()

    def _sample_workers(self) -> None:
        for worker_id, state in self._worker_states().items():
            self._run_workers.add(worker_id)
            if state == "missing":
                self._missing_workers.add(worker_id)

    # End ---------------------------------------------------------------------

    def end_run(self) -> None:
        """Start the bounded wait for final intervals (once per run)."""
        if self.aggregator is None or self._finalizer is not None:
            return
        self._sample_workers()
        deadline = self.clock() + self.options.final_flush_timeout_s
        self._finalizer = gevent.spawn(self._await_finals, deadline)

    def finalize(self) -> RunSnapshot | None:
        """Stop the test if it runs, wait (bounded) for finals, finish the run."""
        if self._is_completed():
            return self.completed
        self.stop_test()
        if self._finalizer is None:
            self.end_run()
        if self._finalizer is not None:
            self._finalizer.join(timeout=self.options.final_flush_timeout_s + 5)
        if self._tick_loop is not None:
            self._tick_loop.kill(block=False)
            self._tick_loop = None
        return super().finalize()

    def pending_workers(self) -> set[str]:
        """Workers of this run still alive whose final interval has not come."""
        assert self.aggregator is not None
        expected = self._run_workers | self.aggregator.workers_seen()
        gone = self._missing_workers | self.aggregator.silent_workers()
        return {w for w in expected - gone if not self.aggregator.has_final(w)}

    def _await_finals(self, deadline_s: float) -> None:
        while True:
            self._sample_workers()
            if self.mirror is not None:
                self.mirror.pull(0.2)
            pending = self.pending_workers()
            if not pending:
                return
            if self.clock() >= deadline_s:
                logger.warning(
                    "Results: no final interval from %s within %s s",
                    ", ".join(sorted(pending)),
                    self.options.final_flush_timeout_s,
                )
                return
            gevent.sleep(POLL_S)

    def close(self) -> None:
        for loop in (self._tick_loop, self._serve_loop):
            if loop is not None:
                loop.kill(block=False)
        if self.mirror is not None:
            self.mirror.close()
        if self.server is not None:
            self.server.close()
