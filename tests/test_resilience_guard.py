"""A user's breaker, call timeout and call-level chaos, against the demo target
in memory: refused calls, fallbacks, tags, retry storms, session abandonment."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from loadgen.client import CallRecord, McpClient
from loadgen.mcp.outcomes import OutcomeClass
from loadgen.target.faults import FaultPlan, FaultSettings
from loadgen.target.handler import McpTargetHandler
from loadgen.transport.memory import InMemoryTransport
from loadgen.workload import Call
from resilience_probe.breaker import BreakerConfig, BreakerState, CircuitBreaker
from resilience_probe.chaos import ActiveHooks, Hook, HookKind, UserChaos
from resilience_probe.guard import AFFECTED_PREFIX, ResilienceHooks

ECHO = Call(
    "tools/call", {"name": "echo", "arguments": {"text": "hi"}}, "tools/call echo"
)
OUTAGE = FaultSettings(error_rate=1.0, error_status=503)
EXACT = BreakerConfig(open_wait_jitter=0.0)


class Clock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


class Harness:
    """What McpUser does with its hooks, around a client on the demo target."""

    def __init__(
        self,
        *,
        breaker: CircuitBreaker | None = None,
        chaos: UserChaos | None = None,
        protocol: str = "auto",
        **options: Any,
    ) -> None:
        self.handler = McpTargetHandler(faults=FaultPlan(seed=1))
        self.reported: list[tuple[str, CallRecord, dict[str, Any]]] = []
        self.hooks = ResilienceHooks(
            self.record,
            breaker=breaker,
            chaos=chaos,
            base_url="http://127.0.0.1:9",
            forget_session=lambda: self.client.session.forget(),
            **options,
        )
        transport = self.hooks.wrap_transport(InMemoryTransport(self.handler))
        self.client = McpClient(transport, self.record, protocol=protocol)
        assert self.client.open()
        self.reported.clear()

    def record(self, record: CallRecord) -> None:
        context: dict[str, Any] = {}
        name = self.hooks.observe(record, context)
        self.reported.append((name, record, context))

    def send(self, call: Call) -> None:
        self.client.call(call.method, call.params, call.name)

    def call(self, n: int = 1) -> None:
        for _ in range(n):
            self.hooks.around_call(self.send, ECHO)

    def outage(self, on: bool = True) -> None:
        self.handler.faults.settings = OUTAGE if on else FaultSettings()

    def labels(self) -> list[str]:
        return [record.outcome.label for _, record, _ in self.reported]


def breaker_with(clock: Clock, config: BreakerConfig = EXACT) -> CircuitBreaker:
    return CircuitBreaker(config, clock=clock)


def test_a_breaker_opened_by_503s_refuses_calls_without_sending_them() -> None:
    """After ten 503s the eleventh call is not permitted and never sent."""
    harness = Harness(breaker=breaker_with(Clock()))
    harness.outage()
    harness.call(10)
    served = harness.handler.stats().requests_total
    harness.call()
    assert harness.labels()[-1] == "not_permitted open"
    assert harness.handler.stats().requests_total == served


def test_refused_calls_are_reported_with_zero_latency_under_their_name() -> None:
    """A refusal keeps the call's name, measures nothing, and is its own class."""
    harness = Harness(breaker=breaker_with(Clock()))
    harness.outage()
    harness.call(11)
    name, record, _ = harness.reported[-1]
    assert name == "tools/call echo"
    assert record.outcome.cls is OutcomeClass.NOT_PERMITTED
    assert record.latency_us == 0


def test_the_breaker_closes_once_the_target_answers_again() -> None:
    """After the open wait, two good trials close it and calls flow."""
    clock = Clock()
    breaker = breaker_with(clock)
    harness = Harness(breaker=breaker)
    harness.outage()
    harness.call(10)
    harness.outage(False)
    clock.now_s += 1.0
    harness.call(3)
    assert breaker.state is BreakerState.CLOSED
    assert harness.labels()[-3:] == ["ok", "ok", "ok"]


def test_a_fallback_runs_for_a_refused_call_and_still_counts_as_not_permitted() -> None:
    """A fallback answer is never a success."""
    harness = Harness(breaker=breaker_with(Clock()))
    served: list[Call] = []
    harness.hooks.fallback = served.append
    harness.outage()
    harness.call(11)
    assert served == [ECHO]
    assert harness.labels()[-1] == "not_permitted fallback"


def test_injected_failures_are_left_out_of_the_breaker_when_asked() -> None:
    """count_injected=False: injected failures never open the breaker."""
    chaos = UserChaos(0, affected=False)
    breaker = breaker_with(Clock())
    harness = Harness(breaker=breaker, chaos=chaos, count_injected=False)
    chaos.apply(ActiveHooks.of((Hook(HookKind.FAILURE),)))
    harness.call(20)
    assert breaker.state is BreakerState.CLOSED
    assert harness.reported[-1][2]["injected"] == "failure"


def test_injected_failures_count_in_the_breaker_by_default() -> None:
    """By default an injected failure is a failure like any other."""
    chaos = UserChaos(0, affected=False)
    breaker = breaker_with(Clock())
    harness = Harness(breaker=breaker, chaos=chaos)
    chaos.apply(ActiveHooks.of((Hook(HookKind.FAILURE),)))
    harness.call(10)
    assert breaker.state is BreakerState.OPEN


def test_affected_users_name_their_requests_apart() -> None:
    """Users in the blast radius report "chaos: tools/call echo"."""
    harness = Harness(chaos=UserChaos(3, affected=True))
    harness.call()
    assert harness.reported[-1][0] == AFFECTED_PREFIX + "tools/call echo"


def test_a_retry_storm_sends_a_failed_call_again_at_once() -> None:
    """A 503 is retried five times, each retry tagged retry_storm."""
    chaos = UserChaos(0, affected=True)
    harness = Harness(chaos=chaos)
    chaos.apply(ActiveHooks.of((Hook(HookKind.RETRY_STORM, retries=5),)))
    harness.outage()
    served = harness.handler.stats().requests_total
    harness.call()
    assert harness.handler.stats().requests_total == served + 6
    tags = [context.get("injected") for _, _, context in harness.reported]
    assert tags == [None] + ["retry_storm"] * 5


def test_a_breaker_cuts_a_retry_storm_short() -> None:
    """Once the breaker opens, the storm's next retry is refused and it stops."""
    chaos = UserChaos(0, affected=True)
    config = BreakerConfig(open_wait_jitter=0, minimum_calls=3, window_calls=3)
    harness = Harness(breaker=breaker_with(Clock(), config), chaos=chaos)
    chaos.apply(ActiveHooks.of((Hook(HookKind.RETRY_STORM, retries=50),)))
    harness.outage()
    harness.call()
    assert harness.labels() == ["http_status 503"] * 3 + ["not_permitted open"]


def test_session_abandonment_leaves_the_old_session_on_the_target() -> None:
    """The user opens a new session without deleting the old one."""
    chaos = UserChaos(0, affected=True)
    harness = Harness(chaos=chaos, protocol="2025-11-25")
    chaos.apply(ActiveHooks.of((Hook(HookKind.SESSION_ABANDON),)))
    harness.call(3)
    assert harness.handler.stats().sessions_open == 4
    assert "DELETE" not in harness.handler.stats().by_method


def test_session_abandonment_skips_the_delete_at_the_end() -> None:
    """ends_session says no while the hook is active."""
    chaos = UserChaos(0, affected=True)
    harness = Harness(chaos=chaos, protocol="2025-11-25")
    assert harness.hooks.ends_session()
    chaos.apply(ActiveHooks.of((Hook(HookKind.SESSION_ABANDON),)))
    assert not harness.hooks.ends_session()


def test_the_call_timeout_ends_a_call_stuck_outside_the_transport() -> None:
    """A call blocked past the timeout is recorded as a transport timeout."""
    harness = Harness(call_timeout_s=0.01)

    def stuck(call: Call) -> None:
        gevent.sleep(5)

    harness.hooks.around_call(stuck, ECHO)
    assert harness.labels() == ["transport timeout"]


def test_a_cancelled_call_gives_its_half_open_permit_back() -> None:
    """GreenletExit in a trial call frees the permit for the next trial."""
    clock = Clock()
    config = BreakerConfig(open_wait_jitter=0, half_open_permits=1)
    breaker = breaker_with(clock, config)
    harness = Harness(breaker=breaker)
    harness.outage()
    harness.call(10)
    clock.now_s += 1.0

    def cancelled(call: Call) -> None:
        raise gevent.GreenletExit

    with pytest.raises(gevent.GreenletExit):
        harness.hooks.around_call(cancelled, ECHO)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() >= 0
