"""The SLA inside Locust: options, live evaluation and abort, reports, exit code.

Importing this module registers four Locust custom arguments (they appear on
the command line, in config files and in the web UI): ``--sla FILE``,
``--sla-report PATH``, ``--junit PATH`` and ``--html-report PATH``. In the
master (or a local run) it then

1. checks the SLA file and the report paths at ``init`` and exits 2 on a
   problem, before any load is sent;
2. judges the thresholds live after every report interval and stops the test
   on the first breach of an ``abort_on_fail`` threshold past its grace;
3. at ``quitting`` (the end of every run, also an aborted or interrupted
   one), judges the finished run, writes the reports atomically, prints the
   verdict and sets ``environment.process_exit_code`` (docs/sla.md).

The results come from the aggregator through a
:class:`~sla.source.SnapshotSource` that ``loadgen/locust_plugin.py`` hands
over with :func:`~sla.source.connect_snapshots` at ``init``. Without that
plugin loaded, a local run with an SLA option records its own requests
in-process (:mod:`sla.local_source`); a master cannot, and exits 3.

The listeners are registered at import, before Locust creates its runner, so
on ``quitting`` (fired in reverse order) ours runs after the runner's own: a
master has told its workers to stop before the final results are awaited.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import gevent
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.runners import MasterRunner, WorkerRunner

from loadgen.aggregator.results import Completeness, ResultSet, RunSnapshot
from loadgen.errors import EXIT_CONFIG_ERROR, ConfigError
from sla.files import check_writable
from sla.html import write_html
from sla.junit import write_junit
from sla.live import Abort, LiveEvaluator
from sla.report_json import RunInfo, build_report, write_report
from sla.source import SnapshotSource, connect_snapshots, connected_source
from sla.spec import SlaSpec, load_sla_file
from sla.summary import format_verdict
from sla.verdict import EXIT_INCOMPLETE, Verdict, judge

logger = logging.getLogger(__name__)

__all__ = ["SlaSession", "SnapshotSource", "add_sla_arguments", "connect_snapshots"]

# The worker event that names the MCP revision a session negotiated.
REVISION_EVENT = "mcp.negotiated"

_SESSIONS: weakref.WeakKeyDictionary[Any, SlaSession] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class SlaOptions:
    sla_path: str = ""
    report_path: str = ""
    junit_path: str = ""
    html_path: str = ""

    @classmethod
    def of(cls, environment: Any) -> SlaOptions:
        parsed = getattr(environment, "parsed_options", None)

        def value(name: str) -> str:
            return str(getattr(parsed, name, "") or "")

        return cls(
            value("sla"), value("sla_report"), value("junit"), value("html_report")
        )

    @property
    def any(self) -> bool:
        return any((self.sla_path, self.report_path, self.junit_path, self.html_path))

    def check(self) -> SlaSpec | None:
        """Read the SLA file and check every output path (ConfigError)."""
        for path, option in (
            (self.report_path, "--sla-report"),
            (self.junit_path, "--junit"),
            (self.html_path, "--html-report"),
        ):
            if path:
                check_writable(path, option)
        return load_sla_file(self.sla_path) if self.sla_path else None


# Locust events --------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def add_sla_arguments(parser: LocustArgumentParser) -> None:
    # Added to the parser itself, not to a group: Locust's web UI shows only
    # the custom options added directly.
    group = parser
    group.add_argument(
        "--sla",
        default="",
        help="SLA file (YAML): thresholds that decide the exit code",
    )
    group.add_argument(
        "--sla-report", default="", help="write the SLA JSON report to this path"
    )
    group.add_argument("--junit", default="", help="write JUnit XML to this path")
    group.add_argument(
        "--html-report", default="", help="write the self-contained HTML report here"
    )


@events.init.add_listener
def start_sla(environment: Any, **_kwargs: Any) -> None:
    """Check the options and follow the run, in the master or a local run."""
    if isinstance(environment.runner, WorkerRunner):
        return
    options = SlaOptions.of(environment)
    try:
        spec = options.check()
    except ConfigError as exc:
        logger.error("%s", exc)
        sys.exit(EXIT_CONFIG_ERROR)
    _SESSIONS[environment] = SlaSession(environment, options, spec)


# Registered at import (see the module's docstring for why that matters).
@events.test_start.add_listener
def _on_test_start(environment: Any, **_kwargs: Any) -> None:
    session = _SESSIONS.get(environment)
    if session is not None:
        session.on_test_start()


@events.quitting.add_listener
def _on_quitting(environment: Any, **_kwargs: Any) -> None:
    session = _SESSIONS.get(environment)
    if session is not None:
        session.on_quitting()


# The session ------------------------------------------------------------------------


class SlaSession:
    """Follows one Locust process's runs: live checks, then the verdict."""

    def __init__(
        self,
        environment: Any,
        options: SlaOptions,
        spec: SlaSpec | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.environment = environment
        self.options = options
        self.spec = spec
        self._clock = clock
        self.started_at_s = clock()
        self.live: LiveEvaluator | None = None
        self.verdict: Verdict | None = None
        self._source: SnapshotSource | None = None
        self._ticker: gevent.Greenlet | None = None
        self._stopping = False
        self._ever_started = False

    @property
    def source(self) -> SnapshotSource | None:
        return connected_source(self.environment) or self._source

    def on_test_start(self, **_kwargs: Any) -> None:
        self._ever_started = True
        self.started_at_s = self._clock()
        self._stopping = False
        if self.spec is not None:
            self.live = LiveEvaluator(
                self.spec, clock=self._clock, started_at_s=self.started_at_s
            )
        if self.source is None and self.options.any:
            self._source = _local_source(self.environment, self._clock)
        if self.source is not None and self._ticker is None:
            self._ticker = gevent.spawn(self._tick_forever)

    def _tick_forever(self) -> None:
        source = self.source
        interval_s = source.report_interval_s if source else 1.0
        while True:
            gevent.sleep(interval_s)
            try:
                self.tick()
            except Exception:
                # A broken live check must not take the run down with it;
                # the verdict at the end is computed independently.
                logger.exception("SLA: live evaluation failed and is now off")
                return

    def tick(self) -> Abort | None:
        """Judge the run so far; stop the test on an abort decision."""
        source = self.source
        if self.live is None or source is None:
            return None
        snapshot = source.live()
        if snapshot is None:
            return None
        abort = self.live.observe(snapshot)
        if abort is not None and not self._stopping:
            self._stopping = True
            self._stop_test()
        return abort

    def _stop_test(self) -> None:
        runner = self.environment.runner
        parsed = getattr(self.environment, "parsed_options", None)
        if parsed is None or getattr(parsed, "headless", True):
            # Quit in a greenlet of its own: quit() kills runner greenlets
            # and fires events that must not run inside this tick.
            gevent.spawn(runner.quit)
        else:
            runner.stop()

    def on_quitting(self, **_kwargs: Any) -> None:
        if self._ticker is not None:
            self._ticker.kill(block=False)
            self._ticker = None
        if self.source is None and not self.options.any:
            return
        if not self._ever_started and not self.options.any:
            # A web UI session closed before any test: nothing to judge, and
            # Locust's own exit code stands.
            return
        if self.environment.process_exit_code == EXIT_CONFIG_ERROR:
            # Another module refused its configuration: nothing ran to judge.
            return
        try:
            code = self.finish()
        except Exception:
            logger.exception("SLA: judging the run failed; no verdict")
            code = EXIT_INCOMPLETE
        if _locust_crashed():
            logger.error("SLA: Locust itself failed; keeping its exit code")
            return
        self.environment.process_exit_code = code

    def finish(self) -> int:
        """Judge the finished run, write every report asked for, say the code."""
        source = self.source
        snapshot = source.final() if source is not None else None
        if snapshot is None:
            logger.error("SLA: no results reached the evaluator; no verdict")
        aborted = self.live.abort if self.live is not None else None
        verdict = _verdict(self.spec, snapshot, aborted, self._clock())
        report = build_report(
            snapshot or _empty_snapshot(self._clock()),
            verdict,
            self._run_info(snapshot),
        )
        self._write(report)
        sys.stdout.write(format_verdict(report))
        self.verdict = verdict
        return verdict.exit_code

    def _write(self, report: dict[str, Any]) -> None:
        writers = (
            (self.options.report_path, write_report, "SLA report"),
            (self.options.junit_path, write_junit, "JUnit XML"),
            (self.options.html_path, write_html, "HTML report"),
        )
        for path, write, what in writers:
            if not path:
                continue
            try:
                write(path, report)
            except OSError as exc:
                logger.error("SLA: cannot write the %s to %s: %s", what, path, exc)
            else:
                logger.info("SLA: %s written to %s", what, path)

    def _run_info(self, snapshot: RunSnapshot | None) -> RunInfo:
        parsed = getattr(self.environment, "parsed_options", None)
        users = getattr(parsed, "num_users", None)
        return RunInfo(
            started_at_s=self.started_at_s,
            target_url=self.environment.host or None,
            mcp_revision=_mcp_revision(parsed, snapshot),
            users=users,
            locustfile=getattr(parsed, "locustfile", None),
            load_model=_load_model(self.environment, parsed),
            sla_file=self.options.sla_path or None,
            tool_version=tool_version(),
        )


# Helpers --------------------------------------------------------------------------


def _local_source(
    environment: Any, clock: Callable[[], float]
) -> SnapshotSource | None:
    """In-process recording for a local run when no aggregator is connected."""
    if isinstance(environment.runner, MasterRunner):
        logger.error(
            "SLA: no aggregator is connected in this master, so the workers' "
            "results cannot be judged"
        )
        return None
    from sla.local_source import LocalRecording

    logger.info("SLA: no aggregator connected; recording this process's requests")
    recording = LocalRecording(environment, clock=clock)
    recording.start()
    return recording.source()


def _verdict(
    spec: SlaSpec | None,
    snapshot: RunSnapshot | None,
    aborted: Abort | None,
    now_s: float,
) -> Verdict:
    if snapshot is not None:
        return judge(spec, snapshot, aborted)
    # Nothing arrived at all: every result is unknown, so the data is
    # incomplete by definition, whatever the (empty) completeness says.
    return replace(judge(spec, _empty_snapshot(now_s), aborted), complete=False)


def _empty_snapshot(now_s: float) -> RunSnapshot:
    return RunSnapshot(
        run_id="",
        report_interval_s=1.0,
        taken_at_s=now_s,
        finished=True,
        cumulative=ResultSet(now_s, now_s, MappingProxyType({})),
        intervals=(),
        completeness=Completeness(),
    )


def _mcp_revision(parsed: Any, snapshot: RunSnapshot | None) -> str | None:
    """What the sessions negotiated (a worker event), else what was forced."""
    if snapshot is not None:
        for event in reversed(snapshot.events_of([REVISION_EVENT])):
            revision = event.attrs.get("revision")
            if isinstance(revision, str):
                return revision
    forced = getattr(parsed, "mcp_protocol", None)
    return forced if isinstance(forced, str) and forced != "auto" else None


def _load_model(environment: Any, parsed: Any) -> str | None:
    from loadgen.pacing.locust_glue import describe_load_model

    open_model = describe_load_model(environment)
    if open_model is not None:
        return open_model
    shape = getattr(environment, "shape_class", None)
    if shape is not None:
        return f"shape {type(shape).__name__}"
    users = getattr(parsed, "num_users", None)
    if users is None:
        return None
    rate = getattr(parsed, "spawn_rate", None)
    return (
        f"closed: {users} users, spawned at {rate:g}/s"
        if rate
        else f"closed: {users} users"
    )


def tool_version() -> str:
    try:
        return importlib.metadata.version("mcp-loadgen")
    except importlib.metadata.PackageNotFoundError:
        from loadgen import __version__

        return __version__


def _locust_crashed() -> bool:
    """Whether Locust saw an unhandled greenlet exception (its exit code 2)."""
    from locust import log

    return bool(getattr(log, "unhandled_greenlet_exception", False))
