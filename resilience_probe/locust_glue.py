"""Breakers and chaos inside Locust: options, experiments, events, reports.

Importing this module (``loadgen.users`` does) registers on Locust's events:

- options ``--breaker user|worker|metrics-only|off``, ``--mcp-call-timeout
  SECONDS`` and ``--chaos FILE`` (custom arguments: also in the web UI, and
  passed on to workers);
- ``init``: reads the chaos file (exit code 2 on a mistake), creates this
  process's :class:`ResilienceRuntime`, and in workers and local runs
  listens for the master's chaos messages;
- ``test_start`` (master or local run): starts the :class:`Conductor`,
  which switches experiments on schedule: server-side faults through the
  target's admin endpoint, client-side hooks by a message to every worker;
- ``test_stopping`` and ``quitting``: ends running experiments, so no fault
  outlives the test.

At import it also registers the resilience SLA metrics and the report's
``resilience`` section, when the ``sla`` package is there.
"""

from __future__ import annotations

import logging
import sys
import time
import weakref
from typing import Any, Final

import gevent
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadgen.errors import EXIT_CONFIG_ERROR, ConfigError
from resilience_probe.admin import AdminClient, AdminError, admin_url_for
from resilience_probe.chaos import hook_from_json, hook_to_json
from resilience_probe.conductor import APPLIED_EVENT, ActionError, Conductor
from resilience_probe.experiments import ChaosPlan, Experiment, load_chaos_file
from resilience_probe.guard import Emit, ResilienceHooks
from resilience_probe.runtime import BreakerMode, ResilienceRuntime, ResilienceSettings

logger = logging.getLogger(__name__)

CHAOS_MESSAGE: Final = "mcp_loadgen_chaos"
# How often a running experiment's guardrails are judged: the report
# interval's default, so each check sees one more interval.
GUARDRAIL_POLL_S: Final = 1.0

_runtimes: weakref.WeakKeyDictionary[Environment, ResilienceRuntime] = (
    weakref.WeakKeyDictionary()
)
_plans: weakref.WeakKeyDictionary[Environment, ChaosPlan] = weakref.WeakKeyDictionary()
_drivers: weakref.WeakKeyDictionary[Environment, _Driver] = weakref.WeakKeyDictionary()
# The chaos plan the report's resilience section reads (one Locust process
# runs one locustfile with one set of options).
_report_plan: list[ChaosPlan | None] = [None]


def _register_with_sla() -> None:
    """Resilience metrics for SLA files, and the report's resilience section."""
    try:
        from resilience_probe.metrics import build_section, register
        from sla.report_json import register_report_section
    except ImportError:
        return
    register()
    register_report_section(
        "resilience", lambda snapshot: build_section(snapshot, _report_plan[0])
    )


# At import: SLA files are read at Locust's init, and must know the names.
_register_with_sla()


# Options --------------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def add_resilience_arguments(parser: LocustArgumentParser, **_kwargs: Any) -> None:
    # Added to the parser itself, not to a group: Locust's web UI shows only
    # the custom options added directly.
    parser.add_argument(
        "--breaker",
        choices=[mode.value for mode in BreakerMode],
        default=BreakerMode.USER.value,
        help="Circuit breaker around MCP calls: one per user (default), one "
        "shared per worker, metrics-only (never refuses) or off",
    )
    parser.add_argument(
        "--mcp-call-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="End one MCP call after this long, apart from the breaker (0: off)",
    )
    parser.add_argument(
        "--chaos",
        default="",
        metavar="FILE",
        help="Chaos file (YAML): experiments with client-side hooks and "
        "server-side faults",
    )


def _option(environment: Environment, name: str, default: Any) -> Any:
    parsed = getattr(environment, "parsed_options", None)
    return getattr(parsed, name, default) if parsed is not None else default


# The users' side ------------------------------------------------------------------


def hooks_for_user(user: Any, emit: Emit) -> ResilienceHooks | None:
    """McpUser's default hooks: its breaker, timeout and chaos state."""
    return runtime_of(user.environment).hooks_for(user, emit)


def runtime_of(environment: Environment) -> ResilienceRuntime:
    """This process's runtime (made from the options on first use)."""
    runtime = _runtimes.get(environment)
    if runtime is None:
        runtime = _runtimes[environment] = _new_runtime(
            environment, _plans.get(environment)
        )
    return runtime


def use_runtime(environment: Environment, runtime: ResilienceRuntime) -> None:
    """Give an environment a runtime of one's own (tests, tools without options)."""
    _runtimes[environment] = runtime


def _new_runtime(environment: Environment, plan: ChaosPlan | None) -> ResilienceRuntime:
    count_injected = plan.count_injected if plan is not None else None
    settings = ResilienceSettings(
        breaker_mode=BreakerMode(_option(environment, "breaker", BreakerMode.USER)),
        breaker=plan.breaker if plan is not None else None,
        call_timeout_s=float(_option(environment, "mcp_call_timeout", 0.0) or 0.0),
        count_injected=True if count_injected is None else count_injected,
        chaos=bool(_option(environment, "chaos", "")),
        affected_radius=plan.affected_radius if plan is not None else 0.0,
    )

    def emit_event(kind: str, attrs: dict[str, Any]) -> None:
        record_event(environment, kind, attrs)

    return ResilienceRuntime(settings, emit_event=emit_event)


def record_event(environment: Environment, kind: str, attrs: dict[str, Any]) -> None:
    """Put a mark on the run's time line, when the results plugin is loaded."""
    plugin = sys.modules.get("loadgen.locust_plugin")
    if plugin is not None:
        plugin.record_event(environment, kind, attrs)


def _on_chaos_message(environment: Environment, msg: Any, **_kwargs: Any) -> None:
    """The master told the run's blast radius, or switched an experiment."""
    data = msg.data if isinstance(msg.data, dict) else {}
    runtime = runtime_of(environment)
    runtime.set_affected_radius(float(data.get("affected_radius", 0.0)))
    name = str(data.get("experiment", ""))
    if not name:
        return
    if data.get("active"):
        hooks = tuple(hook_from_json(h) for h in data.get("hooks", []))
        reached = runtime.activate(name, float(data.get("blast_radius", 1.0)), hooks)
    else:
        runtime.deactivate(name)
        reached = 0
    attrs = {"experiment": name, "active": bool(data.get("active")), "users": reached}
    record_event(environment, APPLIED_EVENT, attrs)


# Locust events --------------------------------------------------------------------


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    runner = environment.runner
    path = str(_option(environment, "chaos", "") or "")
    try:
        plan = _load_plan(path, runner)
        _check_breaker(environment)
    except ConfigError as exc:
        logger.error("%s", exc)
        sys.exit(EXIT_CONFIG_ERROR)
    if plan is not None:
        _plans[environment] = plan
        _report_plan[0] = plan
    _runtimes.pop(environment, None)
    if runner is not None and not isinstance(runner, MasterRunner):
        runner.register_message(CHAOS_MESSAGE, _on_chaos_message)


def _load_plan(path: str, runner: Any) -> ChaosPlan | None:
    if not path:
        return None
    if isinstance(runner, WorkerRunner):
        # The master drives the experiments and sends the hooks; a worker
        # only needs the file to know the blast radius before they come.
        try:
            return load_chaos_file(path)
        except ConfigError as exc:
            logger.info("Chaos: %s; the master will send what is needed", exc)
            return None
    return load_chaos_file(path)


def _check_breaker(environment: Environment) -> None:
    timeout_s = _option(environment, "mcp_call_timeout", 0.0) or 0.0
    if timeout_s < 0:
        raise ConfigError(
            "must be zero (off) or more", field="--mcp-call-timeout", value=timeout_s
        )


def _register_report_section(plan: ChaosPlan) -> None:
    try:
        from resilience_probe.metrics import build_section
        from sla.report_json import register_report_section
    except ImportError:
        return
    register_report_section(
        "resilience", lambda snapshot: build_section(snapshot, plan)
    )


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _refresh_worker(environment)
        return
    # A new test: new user numbers, and options the web UI may have changed.
    _runtimes.pop(environment, None)
    plan = _plans.get(environment)
    if plan is None or runner is None:
        return
    old = _drivers.pop(environment, None)
    if old is not None:
        old.stop("a new test started")
    driver = _Driver(environment, plan)
    _drivers[environment] = driver
    if isinstance(runner, MasterRunner):
        runner.send_message(CHAOS_MESSAGE, {"affected_radius": plan.affected_radius})
    driver.start()


def _refresh_worker(environment: Environment) -> None:
    """A worker learns the master's options with the test: read them again."""
    path = str(_option(environment, "chaos", "") or "")
    plan = _load_plan(path, environment.runner)
    if plan is not None:
        _plans[environment] = plan
    _runtimes.pop(environment, None)


@events.test_stopping.add_listener
def _on_test_stopping(environment: Environment, **_kwargs: Any) -> None:
    driver = _drivers.pop(environment, None)
    if driver is not None:
        driver.stop("test stopped")


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    _on_test_stopping(environment)


# The conductor's driver -----------------------------------------------------------


class _Driver:
    """Runs a Conductor in a greenlet against the real target and workers."""

    def __init__(self, environment: Environment, plan: ChaosPlan) -> None:
        self.environment = environment
        self.actions = LocustActions(environment, plan)
        self.conductor = Conductor(plan, self.actions, clock=time.time)
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def stop(self, reason: str) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None
        self.conductor.stop(reason)
        # A kill in the middle of a start can leave faults the conductor
        # does not know are on: switch off whatever is left.
        self.actions.close()

    def _run(self) -> None:
        # Bounded: each pass starts or ends an experiment or waits at most
        # one poll, and the loop ends once every experiment is done.
        while not self.conductor.done:
            self.conductor.tick(self._snapshot())
            gevent.sleep(min(GUARDRAIL_POLL_S, self.conductor.seconds_until_next()))

    def _snapshot(self) -> Any:
        plugin = sys.modules.get("loadgen.locust_plugin")
        hub = plugin.results_hub(self.environment) if plugin is not None else None
        return hub.snapshot() if hub is not None else None


class LocustActions:
    """The conductor's actions in a Locust master or local run."""

    def __init__(self, environment: Environment, plan: ChaosPlan) -> None:
        self.environment = environment
        self.plan = plan
        admin_url = plan.admin_url or admin_url_for(environment.host or "")
        self._admin: AdminClient | None = None
        self._admin_url = admin_url
        self._restore: dict[str, dict[str, Any]] = {}

    def _client(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(self._admin_url)
        return self._admin

    def start_server_faults(self, experiment: Experiment) -> None:
        try:
            before = self._client().faults()
            self._restore[experiment.name] = {
                k: before.get(k) for k in experiment.server
            }
            self._client().change(experiment.server)
        except AdminError as exc:
            raise ActionError(str(exc)) from exc

    def end_server_faults(self, experiment: Experiment) -> None:
        restore = self._restore.pop(experiment.name, None)
        if restore is None:
            return
        try:
            self._client().change(restore)
        except AdminError as exc:
            raise ActionError(str(exc)) from exc

    def activate_hooks(self, experiment: Experiment) -> None:
        self._send(experiment, active=True)

    def deactivate_hooks(self, experiment: Experiment) -> None:
        self._send(experiment, active=False)

    def _send(self, experiment: Experiment, *, active: bool) -> None:
        runner = self.environment.runner
        if runner is None:
            return
        runner.send_message(
            CHAOS_MESSAGE,
            {
                "experiment": experiment.name,
                "active": active,
                "blast_radius": experiment.blast_radius,
                "affected_radius": self.plan.affected_radius,
                "hooks": [hook_to_json(h) for h in experiment.active_hooks],
            },
        )

    def mark(self, kind: str, attrs: dict[str, Any]) -> None:
        record_event(self.environment, kind, attrs)

    def close(self) -> None:
        """Restore any server faults still on, then drop the connection."""
        for name, restore in list(self._restore.items()):
            try:
                self._client().change(restore)
            except AdminError as exc:
                logger.error(
                    "Chaos: the server faults of %r may still be on: %s", name, exc
                )
        self._restore.clear()
        if self._admin is not None:
            self._admin.close()
            self._admin = None
