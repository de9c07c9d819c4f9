"""Wires the results path into Locust: options, events and custom messages.

Importing this module (``loadgen.users`` does, so every locustfile with
McpUser gets it) registers listeners on Locust's global events:

- ``init``: creates the process's hub by runner type (local, worker,
  master); the master binds its aggregator, a worker says hello.
- ``test_start`` / ``test_stop``: begin and end a run (new run id on the
  master, announced to the workers with a custom message).
- ``report_to_master`` / ``worker_report``: each worker's sequence counter
  rides on Locust's own reports, so the master knows what was sent.
- ``quitting``: a worker waits until its intervals are acknowledged; the
  master waits, bounded, for each live worker's final interval, then fires
  the hub's ``on_complete`` listeners (reports are written there).
- ``quit``: prints the percentile table after Locust's own summary.

The listeners are registered at import, before Locust creates its runner,
so on ``quitting`` (fired in reverse order) they run after the runner's own
listener: the master has told its workers to quit before it waits for them.

Readers use :func:`results_hub` (see docs/results.md); other modules put
marks on the time line with :func:`record_event`.
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from collections.abc import Callable
from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import (
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    LocalRunner,
    MasterRunner,
    WorkerRunner,
)

from loadgen.aggregator.hubs import (
    DEFAULT_FINAL_FLUSH_TIMEOUT_S,
    LocalHub,
    MasterHub,
    ResultsHub,
    ResultsOptions,
    WorkerHub,
)
from loadgen.aggregator.security import KEYS_ENV
from loadgen.aggregator.table import format_percentile_table
from loadgen.errors import ConfigError
from loadgen.recording.recorder import EventValue
from loadgen.recording.schedule import DEFAULT_REPORT_INTERVAL_S

logger = logging.getLogger(__name__)

ANNOUNCE_MESSAGE = "mcp_loadgen_results"
HELLO_MESSAGE = "mcp_loadgen_results_hello"
REPORT_KEY = "mcp_results"

_hubs: weakref.WeakKeyDictionary[Environment, ResultsHub] = weakref.WeakKeyDictionary()
# The hubs of this process in creation order: report_to_master, worker_report
# and quit carry no environment, and a Locust process has one.
_process_hubs: list[ResultsHub] = []


# Options ---------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def add_results_arguments(parser: LocustArgumentParser, **_kwargs: Any) -> None:
    group = parser.add_argument_group(
        "Results", "mcp-loadgen's HDR recorder and result aggregator"
    )
    group.add_argument(
        "--aggregator-bind",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="Where the master's aggregator listens (default: a free loopback "
        "port); a non-loopback host needs --aggregator-keys or --aggregator-insecure",
    )
    group.add_argument(
        "--aggregator-address",
        default="",
        metavar="HOST:PORT",
        help="Send results to a standalone `mcp-loadgen aggregator` instead "
        "(give it to the master; workers get it from the master)",
    )
    group.add_argument(
        "--aggregator-keys",
        default="",
        metavar="DIR",
        help=f"CURVE keys from `mcp-loadgen keys DIR` (or ${KEYS_ENV})",
    )
    group.add_argument(
        "--aggregator-insecure",
        action="store_true",
        default=False,
        help="Allow a non-loopback aggregator without encryption",
    )
    group.add_argument(
        "--report-interval",
        type=float,
        default=DEFAULT_REPORT_INTERVAL_S,
        metavar="SECONDS",
        help="Length of a results interval (default 1)",
    )
    group.add_argument(
        "--final-flush-timeout",
        type=float,
        default=DEFAULT_FINAL_FLUSH_TIMEOUT_S,
        metavar="SECONDS",
        help="How long the master waits for the workers' last interval (default 10)",
    )


def results_options(environment: Environment) -> ResultsOptions:
    """This process's results options (defaults when Locust parsed none)."""
    parsed = environment.parsed_options
    get = (
        (lambda name, default: getattr(parsed, name, default))
        if parsed
        else (lambda name, default: default)
    )
    options = ResultsOptions(
        report_interval_s=float(get("report_interval", DEFAULT_REPORT_INTERVAL_S)),
        final_flush_timeout_s=float(
            get("final_flush_timeout", DEFAULT_FINAL_FLUSH_TIMEOUT_S)
        ),
        bind=str(get("aggregator_bind", "127.0.0.1:0")),
        address=str(get("aggregator_address", "") or ""),
        keys_dir=str(get("aggregator_keys", "") or os.environ.get(KEYS_ENV, "")),
        insecure=bool(get("aggregator_insecure", False)),
    )
    if not 0.05 <= options.report_interval_s <= 3600:
        raise ConfigError(
            "must be between 0.05 and 3600 seconds",
            field="--report-interval",
            value=options.report_interval_s,
        )
    return options


# Public API ------------------------------------------------------------------


def results_hub(environment: Environment) -> ResultsHub | None:
    """The results of this process's runs (None if Locust has no runner yet)."""
    return _hubs.get(environment)


def record_event(
    environment: Environment,
    kind: str,
    attrs: dict[str, EventValue] | None = None,
    time_s: float | None = None,
) -> None:
    """Mark something on the run's time line (breaker transition, chaos mark)."""
    hub = _hubs.get(environment)
    if hub is not None:
        hub.record_event(kind, attrs, time_s)


# Hub creation ----------------------------------------------------------------


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    runner = environment.runner
    try:
        hub = _create_hub(environment, runner)
    except ConfigError as exc:
        logger.error("Results: %s", exc)
        sys.stderr.write(f"mcp-loadgen: {exc}\n")
        # Locust gives a quitting event a chance to clean up; exit code 2 is
        # our configuration-error code.
        environment.process_exit_code = 2
        if runner is not None:
            runner.quit()
        return
    if hub is None:
        return
    # Locust's --json prints machine-readable stats to stdout: keep it clean.
    hub.print_table = not getattr(environment.parsed_options, "json", False)
    hub.stop_test = _quitter(runner)
    _hubs[environment] = hub
    _process_hubs.append(hub)
    if not isinstance(hub, WorkerHub):
        _connect_sla(environment, hub)


def _quitter(runner: Any) -> Callable[[], None]:
    """Quit the runner if a test is running (a reader wants final results)."""

    def quit_if_running() -> None:
        if runner is not None and runner.state in (STATE_RUNNING, STATE_SPAWNING):
            logger.info("Results: stopping the test to collect final results")
            runner.quit()

    return quit_if_running


def _connect_sla(environment: Environment, hub: ResultsHub) -> None:
    """Hand the SLA evaluator (sla package) our snapshots, if it is installed."""
    try:
        from sla.source import SnapshotSource, connect_snapshots
    except ImportError:
        return
    source = SnapshotSource(hub.snapshot, hub.finalize, hub.options.report_interval_s)
    connect_snapshots(environment, source)


def _create_hub(environment: Environment, runner: Any) -> ResultsHub | None:
    options = results_options(environment)
    if isinstance(runner, WorkerRunner):
        return _create_worker(environment, runner, options)
    if isinstance(runner, MasterRunner):
        return _create_master(runner, options)
    if isinstance(runner, LocalRunner):
        hub = LocalHub(options, worker_id=runner.client_id)
        environment.events.request.add_listener(hub.listener)
        return hub
    return None


def _create_worker(
    environment: Environment, runner: WorkerRunner, options: ResultsOptions
) -> WorkerHub:
    hub = WorkerHub(options, worker_id=runner.client_id, master_host=runner.master_host)
    environment.events.request.add_listener(hub.listener)

    def on_announcement(msg: Any, **_kwargs: Any) -> None:
        try:
            hub.on_announcement(msg.data)
        except (ValueError, ConfigError) as exc:
            logger.error("Results: cannot use the master's announcement: %s", exc)

    runner.register_message(ANNOUNCE_MESSAGE, on_announcement)
    runner.send_message(HELLO_MESSAGE, {"worker_id": runner.client_id})
    return hub


def _create_master(runner: MasterRunner, options: ResultsOptions) -> MasterHub:
    def announce(data: dict[str, Any], client_id: str | None) -> None:
        runner.send_message(ANNOUNCE_MESSAGE, data, client_id)

    def worker_states() -> dict[str, str]:
        return {
            node.id: "missing" if node.state == STATE_MISSING else "live"
            for node in runner.clients.values()
        }

    hub = MasterHub(options, announce, worker_states)
    hub.start()

    def on_hello(msg: Any, **_kwargs: Any) -> None:
        hub.on_hello(msg.node_id)

    runner.register_message(HELLO_MESSAGE, on_hello)
    return hub


# Run life --------------------------------------------------------------------


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    hub = _hubs.get(environment)
    if isinstance(hub, LocalHub | WorkerHub | MasterHub):
        hub.begin_run(results_options(environment).report_interval_s)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    hub = _hubs.get(environment)
    if isinstance(hub, LocalHub | WorkerHub | MasterHub):
        hub.end_run()


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    for hub in _process_hubs:
        if isinstance(hub, WorkerHub) and hub.worker_id == client_id:
            data[REPORT_KEY] = hub.progress()


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    for hub in _process_hubs:
        if isinstance(hub, MasterHub):
            hub.on_worker_report(client_id, data.get(REPORT_KEY))


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    hub = _hubs.get(environment)
    if isinstance(hub, WorkerHub):
        hub.drain(hub.options.final_flush_timeout_s)
    elif hub is not None:
        hub.finalize()


@events.quit.add_listener
def _on_quit(**_kwargs: Any) -> None:
    for hub in _process_hubs:
        if hub.print_table and hub.completed is not None:
            sys.stdout.write("\n" + format_percentile_table(hub.completed))
            sys.stdout.flush()
        hub.close()
