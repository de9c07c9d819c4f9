"""McpUser's seams: its default breaker and chaos hooks, against the demo
target served in this process on 127.0.0.1 (no Locust runner, no waiting)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from locust.env import Environment

from loadgen.target.faults import FaultSettings
from loadgen.target.handler import McpTargetHandler
from loadgen.target.server import TargetServer
from loadgen.users import McpUser
from loadgen.workload import parse_workload
from resilience_probe.chaos import Hook, HookKind
from resilience_probe.guard import AFFECTED_PREFIX, ResilienceHooks
from resilience_probe.locust_glue import use_runtime
from resilience_probe.runtime import (
    BreakerMode,
    ResilienceRuntime,
    ResilienceSettings,
)

ECHO_ONLY = parse_workload({"weights": {"tools/call": 1}, "tools": {"skip": ["fail"]}})


class Agent(McpUser):
    workload = ECHO_ONLY


@pytest.fixture
def target() -> Iterator[tuple[str, McpTargetHandler]]:
    handler = McpTargetHandler(sleep=gevent.sleep)
    server = TargetServer(handler, "127.0.0.1", 0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", handler
    finally:
        server.stop()


def agent(
    url: str, runtime: ResilienceRuntime | None = None, protocol: str = "auto"
) -> tuple[Agent, list[dict[str, Any]]]:
    """A started user of a fresh environment, and the request events it fires."""
    user_class = type("LocalAgent", (Agent,), {"host": url})
    environment = Environment(user_classes=[user_class], host=url)
    if runtime is not None:
        use_runtime(environment, runtime)
    events: list[dict[str, Any]] = []
    environment.events.request.add_listener(lambda **event: events.append(event))
    user = user_class(environment)
    user.client.protocol = protocol
    user.on_start()
    events.clear()
    return user, events


def chaos_runtime() -> ResilienceRuntime:
    return ResilienceRuntime(ResilienceSettings(chaos=True, affected_radius=1.0))


def test_each_user_has_a_breaker_by_default(target: tuple[str, Any]) -> None:
    """Without options, McpUser's calls go through a breaker of its own."""
    user, _ = agent(target[0])
    assert isinstance(user.call_hooks, ResilienceHooks)
    assert user.call_hooks.breaker is not None


def test_refused_calls_reach_locust_under_their_own_outcome(
    target: tuple[str, McpTargetHandler],
) -> None:
    """During an outage the breaker opens; later calls are not_permitted."""
    url, handler = target
    user, events = agent(url)
    handler.faults.settings = FaultSettings(error_rate=1.0)
    for _ in range(12):
        user.run_workload()
    outcomes = [event["context"]["outcome"] for event in events]
    assert outcomes[:10] == ["http_status"] * 10
    assert outcomes[10:] == ["not_permitted"] * 2
    assert str(events[-1]["exception"]) == "not_permitted open"


def test_breaker_off_leaves_mcp_user_as_it_was(target: tuple[str, Any]) -> None:
    """--breaker off without chaos: no hooks, the plain transport."""
    off = ResilienceRuntime(ResilienceSettings(breaker_mode=BreakerMode.OFF))
    user, _ = agent(target[0], off)
    assert user.call_hooks is None


def test_injected_requests_are_tagged_in_the_request_event(
    target: tuple[str, McpTargetHandler],
) -> None:
    """An affected user's injected request carries injected and its prefix."""
    runtime = chaos_runtime()
    user, events = agent(target[0], runtime)
    runtime.activate("clients", 1.0, (Hook(HookKind.FAILURE),))
    user.run_workload()
    assert events[-1]["name"].startswith(AFFECTED_PREFIX)
    assert events[-1]["context"]["injected"] == "failure"


def test_an_abandoning_user_leaves_without_delete(
    target: tuple[str, McpTargetHandler],
) -> None:
    """With session_abandon active at stop, the session stays on the target."""
    url, handler = target
    runtime = chaos_runtime()
    user, _ = agent(url, runtime, protocol="2025-11-25")
    runtime.activate("leavers", 1.0, (Hook(HookKind.SESSION_ABANDON),))
    user.on_stop()
    assert "DELETE" not in handler.stats().by_method
    assert handler.stats().sessions_open == 1
