"""McpUser: an abstract Locust user that speaks MCP to the host under test.

On start it opens an MCP session (timed as ``initialize`` or
``server/discover``), lists the tools, resources and prompts the server
announced, and builds its workload plan once. Each task then sends one call
from the plan. Every HTTP exchange fires Locust's request event, so Locust's
console stats, web UI, CSV and HTML reports work unchanged; the context of
each event carries what the recorder needs (outcome class, microseconds).

Each call of the workload goes through the user's ``CallHooks`` when it has
them: by default resilience_probe's circuit breaker, one per user (options
``--breaker``, ``--mcp-call-timeout``, ``--chaos``; docs/resilience.md).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import gevent
from locust import User, task
from locust.env import Environment

from loadgen import options
from loadgen.client import CallRecord, McpClient
from loadgen.errors import EXIT_CONFIG_ERROR, ConfigError
from loadgen.locust_plugin import record_event
from loadgen.mcp.errors import NegotiationError
from loadgen.mcp.outcomes import McpFailure, Outcome
from loadgen.pacing.locust_glue import take_turn
from loadgen.transport.factory import http_transport
from loadgen.transport.messages import Transport
from loadgen.workload import Call, Catalog, WorkloadPlan, WorkloadSpec

# Registers the --breaker, --mcp-call-timeout and --chaos options and their
# Locust events, so every locustfile with McpUser has them.
from resilience_probe.locust_glue import hooks_for_user
from sla.locust_hooks import REVISION_EVENT

logger = logging.getLogger(__name__)

REQUEST_TYPE = "MCP"

# List methods drawn from the plan walk every page, each page one request.
LIST_KEYS = {
    "tools/list": "tools",
    "resources/list": "resources",
    "prompts/list": "prompts",
}


class CallHooks(Protocol):
    """What another module adds around one user's calls.

    resilience_probe implements it with a circuit breaker, a per-call
    timeout and chaos hooks (``resilience_probe.guard.ResilienceHooks``).
    """

    def wrap_transport(self, transport: Transport) -> Transport:
        """The transport the user's client will use (may wrap the real one)."""
        ...

    def around_call(self, send: Callable[[Call], None], call: Call) -> None:
        """Run one workload call: ``send(call)``, or not (a refused call)."""
        ...

    def observe(self, record: CallRecord, context: dict[str, Any]) -> str:
        """See a record before it is reported; may add to the context.
        Returns the request name to report."""
        ...

    def ends_session(self) -> bool:
        """Whether the user ends its session with DELETE when it stops."""
        ...


class McpUser(User):
    """A simulated MCP client. Subclass it in a locustfile (set ``workload``)."""

    abstract = True

    # The workload when no --workload file is given; None: every discovered
    # method with default weights.
    workload: ClassVar[WorkloadSpec | None] = None

    # A user whose session could not be opened waits this long before it
    # tries again, so an unreachable target is probed, not hammered.
    reopen_backoff_s: ClassVar[float] = 1.0

    # What "auto" negotiated, shared by the users of one process.
    _negotiated: ClassVar[dict[str, str]] = {}
    _warned: ClassVar[set[str]] = set()
    _announced: ClassVar[set[str]] = set()

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        assert self.host, "McpUser needs a host: pass -H URL or set host"
        self._fire = environment.events.request.fire
        self._failures: dict[Outcome, McpFailure] = {}
        self.call_hooks = self.make_call_hooks()
        transport = http_transport(
            self.host, timeout_s=options.option(environment, "mcp_timeout", 30.0)
        )
        self.transport: Transport = (
            transport
            if self.call_hooks is None
            else self.call_hooks.wrap_transport(transport)
        )
        self.client = McpClient(
            self.transport,
            self._record,
            endpoint=options.endpoint_for(
                self.host, options.option(environment, "mcp_path", "/mcp")
            ),
            protocol=options.option(environment, "mcp_protocol", "auto"),
            tool_errors_fail=options.option(environment, "tool_errors", "fail")
            == "fail",
            memo=McpUser._negotiated,
        )
        self.plan: WorkloadPlan | None = None
        # Open model: the intended start (epoch s) of the call being sent.
        self._intended_start_s: float | None = None

    def on_start(self) -> None:
        self._start_session()

    def make_call_hooks(self) -> CallHooks | None:
        """The hooks around this user's calls (override to replace or drop).

        By default one circuit breaker per user, as ``--breaker`` says, and
        the chaos hooks of ``--chaos`` experiments.
        """
        return hooks_for_user(self, self._record)

    def on_stop(self) -> None:
        hooks = self.call_hooks
        try:
            if hooks is None or hooks.ends_session():
                self.client.close()
        finally:
            self.transport.close()

    @task
    def run_workload(self) -> None:
        """Send the next call of the plan (open the session first if needed)."""
        if self.plan is None and not self._start_session():
            gevent.sleep(self.reopen_backoff_s)
            return
        assert self.plan is not None
        self._intended_start_s = take_turn(self)
        call = self.plan.next_call()
        hooks = self.call_hooks
        if hooks is None:
            self._send(call)
        else:
            hooks.around_call(self._send, call)

    def _send(self, call: Call) -> None:
        key = LIST_KEYS.get(call.method)
        if key is None:
            self.client.call(call.method, call.params, call.name)
        else:
            self.client.list_all(call.method, key, call.name)

    # Session and discovery ------------------------------------------------

    def _start_session(self) -> bool:
        try:
            if not self.client.session.is_open and not self.client.open():
                return False
        except NegotiationError as exc:
            self._warn_once(str(exc))
            return False
        self._announce_revision()
        try:
            self.plan = WorkloadPlan.build(
                self._workload_spec(), self._discover(), random.Random()
            )
        except ConfigError as exc:
            self._stop_run_on_config_error(exc)
            return False
        for reason in self.plan.dropped:
            self._warn_once(reason, logging.WARNING)
        return True

    def _announce_revision(self) -> None:
        """Put the negotiated revision on the run's time line, once per process,
        so the SLA report can say what ``auto`` settled on."""
        revision = self.client.session.revision
        if revision is not None and revision not in McpUser._announced:
            McpUser._announced.add(revision)
            record_event(self.environment, REVISION_EVENT, {"revision": revision})

    def _discover(self) -> Catalog:
        """List every catalogue the server announced a capability for."""
        session = self.client.session
        listed = {
            key: self.client.list_all(method, key)
            for method, key in LIST_KEYS.items()
            if session.has_capability(key)
        }
        return Catalog(
            capabilities=dict(session.server_capabilities),
            revision=session.revision,
            **listed,
        )

    def _workload_spec(self) -> WorkloadSpec:
        path = options.option(self.environment, "workload", "")
        if path:
            return options.load_workload(path)
        return self.workload if self.workload is not None else WorkloadSpec()

    # Reporting ------------------------------------------------------------

    def _record(self, record: CallRecord) -> None:
        outcome = record.outcome
        exception = None if outcome.ok else self._failure(outcome)
        context: dict[str, Any] = {
            "outcome": outcome.cls.value,
            "latency_us": record.latency_us,
            "ttfb_us": record.ttfb_us,
        }
        if self._intended_start_s is not None:
            # Only the call's first request was scheduled; later ones (pages,
            # a retry) are measured from their own start.
            context["intended_start_s"] = self._intended_start_s
            self._intended_start_s = None
        hooks = self.call_hooks
        name = record.name if hooks is None else hooks.observe(record, context)
        self._fire(
            request_type=REQUEST_TYPE,
            name=name,
            response_time=record.latency_us / 1000.0,
            response_length=record.response_bytes,
            exception=exception,
            context=context,
            start_time=record.start_s,
            url=None,
            response=None,
        )

    def _failure(self, outcome: Outcome) -> McpFailure:
        failure = self._failures.get(outcome)
        if failure is None:
            failure = self._failures[outcome] = McpFailure(outcome)
        return failure

    def _warn_once(self, message: str, level: int = logging.ERROR) -> None:
        if message not in McpUser._warned:
            McpUser._warned.add(message)
            logger.log(level, "%s", message)

    def _stop_run_on_config_error(self, exc: ConfigError) -> None:
        """The workload does not fit what the server offers: the user's
        configuration to fix, so the run ends with exit code 2."""
        self._warn_once(str(exc))
        self.environment.process_exit_code = EXIT_CONFIG_ERROR
        runner = self.environment.runner
        if runner is not None:
            gevent.spawn(runner.quit)
