"""One process's breakers and chaos state: modes, blast radius, events."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from loadgen.mcp.outcomes import Outcome, OutcomeClass
from resilience_probe.breaker import REFUSED, BreakerConfig, BreakerState
from resilience_probe.chaos import Hook, HookKind
from resilience_probe.guard import ResilienceHooks
from resilience_probe.runtime import (
    TRANSITION_EVENT,
    BreakerMode,
    ResilienceRuntime,
    ResilienceSettings,
)

FAIL = Outcome(OutcomeClass.TRANSPORT, "reset")
RESET = (Hook(HookKind.RESET),)


def user() -> Any:
    return SimpleNamespace(host="http://127.0.0.1:9")


def users(runtime: ResilienceRuntime, n: int) -> list[ResilienceHooks]:
    made = [runtime.hooks_for(user(), lambda record: None) for _ in range(n)]
    assert all(h is not None for h in made)
    return [h for h in made if h is not None]


def chaos_runtime(radius: float = 0.2) -> ResilienceRuntime:
    return ResilienceRuntime(ResilienceSettings(chaos=True, affected_radius=radius))


def test_each_user_gets_a_breaker_of_its_own_by_default() -> None:
    """Two users, two breakers."""
    first, second = users(ResilienceRuntime(), 2)
    assert first.breaker is not None and first.breaker is not second.breaker


def test_worker_mode_shares_one_breaker_among_the_users() -> None:
    """--breaker worker: every user of the process asks the same breaker."""
    runtime = ResilienceRuntime(ResilienceSettings(breaker_mode=BreakerMode.WORKER))
    first, second = users(runtime, 2)
    assert first.breaker is second.breaker


def test_breaker_off_without_chaos_leaves_the_user_without_hooks() -> None:
    """--breaker off and no chaos file: calls go out as they are."""
    runtime = ResilienceRuntime(ResilienceSettings(breaker_mode=BreakerMode.OFF))
    assert runtime.hooks_for(user(), lambda record: None) is None


def test_metrics_only_breakers_never_refuse() -> None:
    """Failures are counted but every call is permitted."""
    settings = ResilienceSettings(breaker_mode=BreakerMode.METRICS_ONLY)
    (hooks,) = users(ResilienceRuntime(settings), 1)
    breaker = hooks.breaker
    assert breaker is not None and breaker.state is BreakerState.METRICS_ONLY
    for _ in range(50):
        breaker.record(breaker.acquire(), FAIL, 1_000)
    assert breaker.acquire() != REFUSED


def test_a_user_classs_breaker_config_is_used_without_a_chaos_file() -> None:
    """A locustfile may set breaker_config on its user class."""
    config = BreakerConfig(window_calls=5, minimum_calls=5)
    custom = SimpleNamespace(host="http://127.0.0.1:9", breaker_config=config)
    hooks = ResilienceRuntime().hooks_for(custom, lambda record: None)
    assert hooks is not None and hooks.breaker is not None
    assert hooks.breaker.config is config


def test_transitions_become_time_line_events() -> None:
    """An opening is emitted as breaker.transition with its user and reason."""
    events: list[tuple[str, dict[str, Any]]] = []
    runtime = ResilienceRuntime(emit_event=lambda kind, a: events.append((kind, a)))
    (hooks,) = users(runtime, 1)
    breaker = hooks.breaker
    assert breaker is not None
    for _ in range(10):
        breaker.record(breaker.acquire(), FAIL, 1_000)
    kind, attrs = events[-1]
    assert kind == TRANSITION_EVENT
    assert attrs["breaker"] == "user-0"
    assert (attrs["from"], attrs["to"], attrs["reason"]) == (
        "closed",
        "open",
        "failure_rate",
    )


def test_an_experiment_reaches_only_the_users_in_its_blast_radius() -> None:
    """About 20 % of 50 users get the hooks; the others stay untouched."""
    runtime = chaos_runtime()
    made = users(runtime, 50)
    reached = runtime.activate("clients", 0.2, RESET)
    hooked = [h for h in made if h.chaos is not None and h.chaos.transport_hooks]
    assert reached == len(hooked) in (10, 11)


def test_the_users_with_hooks_are_the_ones_named_as_affected() -> None:
    """Every user that gets hooks reports under the affected prefix."""
    runtime = chaos_runtime()
    made = users(runtime, 50)
    runtime.activate("clients", 0.2, RESET)
    for hooks in made:
        assert hooks.chaos is not None
        assert hooks.chaos.affected == bool(hooks.chaos.transport_hooks)


def test_deactivating_an_experiment_takes_its_hooks_away() -> None:
    """After the experiment no user has hooks."""
    runtime = chaos_runtime()
    made = users(runtime, 20)
    runtime.activate("clients", 0.2, RESET)
    runtime.deactivate("clients")
    assert not any(h.chaos and h.chaos.transport_hooks for h in made)


def test_a_user_started_during_an_experiment_gets_its_hooks() -> None:
    """User 0 is always inside the radius; starting it late still hooks it."""
    runtime = chaos_runtime(radius=1.0)
    runtime.activate("clients", 1.0, RESET)
    (hooks,) = users(runtime, 1)
    assert hooks.chaos is not None and hooks.chaos.transport_hooks == RESET


def test_learning_the_blast_radius_late_renames_users_already_running() -> None:
    """A worker without the chaos file names users apart once told the radius."""
    runtime = chaos_runtime(radius=0.0)
    made = users(runtime, 10)
    runtime.set_affected_radius(0.2)
    affected = [h.chaos.index for h in made if h.chaos is not None and h.chaos.affected]
    assert affected == [0, 5]
