"""The fault plan under a clock that jumps: stalls, rates, latency, expiry."""

from __future__ import annotations

import random
import statistics

import pytest

from loadgen.errors import ConfigError
from loadgen.target.faults import (
    NO_FAULT,
    FaultPlan,
    FaultSettings,
    Latency,
    parse_duration_s,
)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start_s: float = 500.0) -> None:
        self.now_s = start_s

    def __call__(self) -> float:
        return self.now_s


def stalling_plan(clock: FakeClock) -> FaultPlan:
    settings = FaultSettings(stall_every_s=5.0, stall_for_s=1.0)
    return FaultPlan(settings, clock=clock)


# Stalls ----------------------------------------------------------------------


def test_no_stall_during_the_first_period() -> None:
    """A fresh plan answers normally for stall_every_s."""
    clock = FakeClock()
    plan = stalling_plan(clock)
    for offset in (0.0, 2.5, 4.999):
        clock.now_s = 500.0 + offset
        assert plan.stall_remaining_s() == 0.0


def test_stall_holds_requests_until_it_ends() -> None:
    """Inside a stall window, the wait is the rest of the window."""
    clock = FakeClock()
    plan = stalling_plan(clock)
    clock.now_s = 505.0
    assert plan.stall_remaining_s() == pytest.approx(1.0)
    clock.now_s = 505.75
    decision = plan.decide()
    assert decision.stalled
    assert decision.delay_s == pytest.approx(0.25)


def test_stall_ends_after_stall_for_s() -> None:
    """Once the window closes, requests flow again."""
    clock = FakeClock()
    plan = stalling_plan(clock)
    clock.now_s = 506.0
    assert plan.stall_remaining_s() == 0.0
    assert plan.decide() is NO_FAULT


def test_stall_repeats_every_period() -> None:
    """The window comes back at every multiple of stall_every_s."""
    clock = FakeClock()
    plan = stalling_plan(clock)
    clock.now_s = 500.0 + 5.0 * 7 + 0.5
    assert plan.stall_remaining_s() == pytest.approx(0.5)


def test_changing_stall_knobs_restarts_the_period() -> None:
    """New stall settings count their first period from the change."""
    clock = FakeClock()
    plan = FaultPlan(clock=clock)
    clock.now_s = 1000.0
    plan.settings = FaultSettings(stall_every_s=5.0, stall_for_s=1.0)
    clock.now_s = 1004.0
    assert plan.stall_remaining_s() == 0.0
    clock.now_s = 1005.5
    assert plan.stall_remaining_s() == pytest.approx(0.5)


def test_changing_other_knobs_keeps_the_stall_period() -> None:
    """Turning an error rate on does not move the stall windows."""
    clock = FakeClock()
    plan = stalling_plan(clock)
    clock.now_s = 504.0
    plan.settings = plan.settings.updated({"error_rate": 0.1})
    clock.now_s = 505.5
    assert plan.stall_remaining_s() == pytest.approx(0.5)


# Error rates -----------------------------------------------------------------


def share(plan: FaultPlan, draws: int, jsonrpc: bool) -> float:
    decisions = [plan.decide() for _ in range(draws)]
    if jsonrpc:
        return sum(d.jsonrpc_error for d in decisions) / draws
    return sum(d.http_status is not None for d in decisions) / draws


def test_http_error_rate_is_met_statistically() -> None:
    """10,000 draws at 10 % land within 3 sigma (0.3 points) of 10 %."""
    plan = FaultPlan(FaultSettings(error_rate=0.1), seed=7)
    assert share(plan, 10_000, jsonrpc=False) == pytest.approx(0.1, abs=0.009)


def test_jsonrpc_error_rate_is_met_statistically() -> None:
    """10,000 draws at 2 % land within 3 sigma (0.14 points) of 2 %."""
    plan = FaultPlan(FaultSettings(jsonrpc_error_rate=0.02), seed=11)
    assert share(plan, 10_000, jsonrpc=True) == pytest.approx(0.02, abs=0.0042)


def test_injected_errors_carry_the_configured_status() -> None:
    """Every injected HTTP error uses error_status."""
    plan = FaultPlan(FaultSettings(error_rate=1.0, error_status=429), seed=1)
    assert {plan.decide().http_status for _ in range(20)} == {429}


def test_same_seed_same_decisions() -> None:
    """Two plans with one seed decide the same, request by request."""
    settings = FaultSettings(
        latency=Latency.parse("exp:5ms"), error_rate=0.3, jsonrpc_error_rate=0.3
    )
    first = FaultPlan(settings, seed=42)
    second = FaultPlan(settings, seed=42)
    assert [first.decide() for _ in range(100)] == [second.decide() for _ in range(100)]


def test_no_knobs_means_no_fault() -> None:
    """A default plan returns the shared no-fault decision."""
    assert FaultPlan().decide() is NO_FAULT


# Latency -----------------------------------------------------------------------


def test_fixed_latency_is_exact() -> None:
    """fixed:5ms adds exactly 5 ms."""
    plan = FaultPlan(FaultSettings(latency=Latency.parse("fixed:5ms")))
    assert plan.decide().delay_s == pytest.approx(0.005)


def test_uniform_latency_stays_in_range_and_centres() -> None:
    """uniform:1ms:9ms draws within bounds with a mean near 5 ms."""
    latency = Latency.parse("uniform:1ms:9ms")
    rng = random.Random(3)
    draws = [latency.sample_s(rng) for _ in range(20_000)]
    assert min(draws) >= 0.001 and max(draws) <= 0.009
    # Standard error of the mean: (8 ms / sqrt 12) / sqrt 20,000 = 0.016 ms.
    assert statistics.fmean(draws) == pytest.approx(0.005, abs=0.00006)


def test_exponential_latency_has_the_given_mean() -> None:
    """exp:4ms draws average 4 ms, with the spread of an exponential."""
    latency = Latency.parse("exp:4ms")
    rng = random.Random(5)
    draws = [latency.sample_s(rng) for _ in range(20_000)]
    # Standard error of the mean: 4 ms / sqrt 20,000 = 0.028 ms.
    assert statistics.fmean(draws) == pytest.approx(0.004, abs=0.0001)
    assert statistics.stdev(draws) == pytest.approx(0.004, rel=0.05)


@pytest.mark.parametrize(
    ("text", "kind", "low_s", "high_s"),
    [
        ("none", "none", 0.0, 0.0),
        ("fixed:250us", "fixed", 0.00025, 0.00025),
        ("uniform:1ms:10ms", "uniform", 0.001, 0.01),
        ("exp:1.5s", "exp", 1.5, 1.5),
    ],
)
def test_latency_parses_each_form(
    text: str, kind: str, low_s: float, high_s: float
) -> None:
    """Each latency form reads into its kind and bounds."""
    latency = Latency.parse(text)
    assert (latency.kind, latency.low_s, latency.high_s) == pytest.approx(
        (kind, low_s, high_s)
    )


def test_latency_text_round_trips() -> None:
    """The text form reads back to the same latency."""
    for text in ("none", "fixed:5ms", "uniform:1ms:10ms", "exp:2s", "fixed:300us"):
        assert Latency.parse(Latency.parse(text).text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "fixed",
        "fixed:5ms:6ms",
        "uniform:5ms",
        "normal:5ms",
        "fixed:-1ms",
        "uniform:9ms:1ms",
        "fixed:5h",
    ],
)
def test_bad_latency_names_the_field(text: str) -> None:
    """A malformed latency is a ConfigError naming the field and value."""
    with pytest.raises(ConfigError) as caught:
        Latency.parse(text, field="--latency")
    assert "--latency" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250us", 0.00025), ("5ms", 0.005), ("1.5s", 1.5), ("2m", 120.0), ("0", 0.0)],
)
def test_durations_read_their_unit(text: str, seconds: float) -> None:
    """Durations take us, ms, s or m; only zero may go without one."""
    assert parse_duration_s(text, field="x") == pytest.approx(seconds)


def test_a_duration_without_unit_is_refused() -> None:
    """fixed:5 is ambiguous (5 ms or 5 s?), so a unit is required."""
    with pytest.raises(ConfigError):
        Latency.parse("fixed:5", field="--latency")


# Settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"jsonrpc_error_rate": -0.1}, "jsonrpc_error_rate"),
        ({"error_status": 200}, "error_status"),
        ({"stall_every_s": 1.0, "stall_for_s": 1.0}, "stall_for_s"),
        ({"stall_for_s": 1.0}, "stall_for_s"),
        ({"session_ttl_s": 0}, "session_ttl_s"),
        ({"latency": 5}, "latency"),
        ({"error_rate": "high"}, "error_rate"),
        ({"error_status": 503.5}, "error_status"),
        ({"loudness": 11}, "loudness"),
    ],
)
def test_bad_settings_name_the_field(changes: dict[str, object], field: str) -> None:
    """Every rule broken in an update is a ConfigError naming its field."""
    with pytest.raises(ConfigError) as caught:
        FaultSettings().updated(changes)
    assert caught.value.field == field


def test_updates_read_durations_and_null_ttl() -> None:
    """Admin updates take "5ms"-style strings, numbers, and null to clear."""
    settings = FaultSettings(session_ttl_s=10.0).updated(
        {"stall_every_s": "2s", "stall_for_s": 0.5, "session_ttl_s": None}
    )
    assert (settings.stall_every_s, settings.stall_for_s) == (2.0, 0.5)
    assert settings.session_ttl_s is None


def test_settings_as_dict_is_json_ready() -> None:
    """as_dict writes latency as text and keeps the other fields."""
    values = FaultSettings(latency=Latency.parse("exp:5ms")).as_dict()
    assert values["latency"] == "exp:5ms"
    assert values["error_status"] == 503


# Sessions ----------------------------------------------------------------------


def test_forced_expiry_kills_older_generations() -> None:
    """expire_sessions_now ends sessions opened before it, not after."""
    plan = FaultPlan()
    before = plan.generation
    plan.expire_sessions_now()
    assert not plan.session_alive(before, plan.now())
    assert plan.session_alive(plan.generation, plan.now())


def test_idle_ttl_counts_from_last_seen() -> None:
    """A session lives while its idle time is within the TTL."""
    clock = FakeClock()
    plan = FaultPlan(FaultSettings(session_ttl_s=30.0), clock=clock)
    clock.now_s = 530.0
    assert plan.session_alive(0, last_seen_s=500.0)
    clock.now_s = 530.5
    assert not plan.session_alive(0, last_seen_s=500.0)
