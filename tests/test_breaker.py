"""The circuit breaker's state machine under a clock that jumps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.mcp.outcomes import OK, Outcome, OutcomeClass
from resilience_probe.breaker import (
    REFUSED,
    BreakerConfig,
    BreakerState,
    CircuitBreaker,
    Transition,
    WindowKind,
)
from resilience_probe.classify import Verdict

FAIL = Outcome(OutcomeClass.HTTP_STATUS, "503")
NOT_FOUND = Outcome(OutcomeClass.HTTP_STATUS, "404")
TOOL_ERROR = Outcome(OutcomeClass.TOOL_ERROR)
FAST_US = 1_000
SLOW_US = 3_000_000


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self, now_s: float = 100.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s

    def jump(self, seconds: float) -> None:
        self.now_s += seconds


class FixedRandom:
    """A random source that always draws the same number."""

    def __init__(self, value: float = 0.5) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


# No jitter unless a test asks for it: waits are then exact.
EXACT = BreakerConfig(open_wait_jitter=0.0)


def make(
    config: BreakerConfig = EXACT, rng_value: float = 0.5
) -> tuple[CircuitBreaker, FakeClock, list[Transition]]:
    clock = FakeClock()
    seen: list[Transition] = []
    breaker = CircuitBreaker(
        config,
        name="u1",
        clock=clock,
        rng=FixedRandom(rng_value),  # type: ignore[arg-type]
        on_transition=seen.append,
    )
    return breaker, clock, seen


def calls(
    breaker: CircuitBreaker, outcome: Outcome, n: int, latency_us: int = FAST_US
) -> None:
    for _ in range(n):
        breaker.record(breaker.acquire(), outcome, latency_us)


def open_it(breaker: CircuitBreaker) -> None:
    calls(breaker, FAIL, breaker.config.minimum_calls)
    assert breaker.state is BreakerState.OPEN


def half_open_it(breaker: CircuitBreaker, clock: FakeClock) -> int:
    open_it(breaker)
    clock.jump(breaker.config.max_open_wait_s)
    token = breaker.acquire()
    assert breaker.state is BreakerState.HALF_OPEN
    return token


# CLOSED ------------------------------------------------------------------------


def test_closed_opens_when_the_failure_rate_reaches_its_threshold() -> None:
    """Ten failures after ten successes (50 %) open a breaker set at 50 %."""
    breaker, _, seen = make()
    calls(breaker, OK, 10)
    calls(breaker, FAIL, 10)
    assert breaker.state is BreakerState.OPEN
    assert seen[-1].reason == "failure_rate"
    assert seen[-1].failure_rate == 0.5


def test_closed_stays_closed_just_below_the_failure_rate() -> None:
    """Nine failures in twenty calls (45 %) keep a 50 % breaker closed."""
    breaker, _, seen = make()
    calls(breaker, OK, 11)
    calls(breaker, FAIL, 9)
    assert breaker.state is BreakerState.CLOSED
    assert seen == []


def test_closed_ignores_rates_before_the_minimum_number_of_calls() -> None:
    """Nine failures out of nine calls do not open when ten are required."""
    breaker, _, _ = make()
    calls(breaker, FAIL, 9)
    assert breaker.state is BreakerState.CLOSED
    calls(breaker, FAIL, 1)
    assert breaker.state is BreakerState.OPEN


def test_count_window_forgets_outcomes_older_than_its_size() -> None:
    """Failures pushed out by twenty successes no longer count."""
    config = BreakerConfig(open_wait_jitter=0, failure_rate=0.6, minimum_calls=20)
    breaker, _, _ = make(config)
    calls(breaker, FAIL, 11)
    calls(breaker, OK, 20)
    calls(breaker, FAIL, 11)
    assert breaker.state is BreakerState.CLOSED
    calls(breaker, FAIL, 1)
    assert breaker.state is BreakerState.OPEN


def test_time_window_forgets_outcomes_older_than_its_length() -> None:
    """Failures from more than window_s ago do not count towards opening."""
    config = BreakerConfig(
        window_kind=WindowKind.TIME, window_s=10.0, open_wait_jitter=0
    )
    breaker, clock, _ = make(config)
    calls(breaker, FAIL, 9)
    clock.jump(11.0)
    calls(breaker, FAIL, 1)
    calls(breaker, OK, 8)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.metrics().calls == 9


def test_time_window_opens_on_the_rate_within_its_length() -> None:
    """Ten failures within the time window open it."""
    config = BreakerConfig(window_kind=WindowKind.TIME, window_s=10.0)
    breaker, clock, _ = make(config)
    for _ in range(10):
        calls(breaker, FAIL, 1)
        clock.jump(0.5)
    assert breaker.state is BreakerState.OPEN


def test_slow_successes_open_the_breaker_on_the_slow_call_rate() -> None:
    """Successful calls at or over slow_call_s count as slow and open it."""
    breaker, _, seen = make(BreakerConfig(open_wait_jitter=0, slow_call_rate=0.5))
    calls(breaker, OK, 10, latency_us=FAST_US)
    calls(breaker, OK, 10, latency_us=SLOW_US)
    assert breaker.state is BreakerState.OPEN
    assert seen[-1].reason == "slow_call_rate"
    assert seen[-1].slow_call_rate == 0.5


def test_client_side_errors_are_ignored_by_the_window() -> None:
    """404s and -32601 neither fail nor count as calls."""
    breaker, _, _ = make()
    calls(breaker, NOT_FOUND, 30)
    calls(breaker, Outcome(OutcomeClass.JSONRPC_ERROR, "-32601"), 30)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.metrics().calls == 0


def test_tool_errors_count_as_failures_when_configured() -> None:
    """With tool_errors=failure, isError results open the breaker."""
    config = BreakerConfig(open_wait_jitter=0, tool_errors=Verdict.FAILURE)
    breaker, _, _ = make(config)
    calls(breaker, TOOL_ERROR, 10)
    assert breaker.state is BreakerState.OPEN


def test_tool_errors_count_as_successes_by_default() -> None:
    """By default the server answered, so a tool error is a success."""
    breaker, _, _ = make()
    calls(breaker, TOOL_ERROR, 20)
    assert breaker.metrics().failure_rate == 0.0


# OPEN --------------------------------------------------------------------------


def test_open_refuses_calls_until_the_wait_has_passed() -> None:
    """Calls during the open wait are refused and counted as not permitted."""
    breaker, clock, _ = make()
    open_it(breaker)
    clock.jump(0.999)
    assert breaker.acquire() == REFUSED
    assert breaker.acquire() == REFUSED
    assert breaker.not_permitted == 2


def test_open_moves_to_half_open_on_the_first_call_after_the_wait() -> None:
    """The first call after the wait is the first trial, and is permitted."""
    breaker, clock, seen = make()
    open_it(breaker)
    clock.jump(1.0)
    assert breaker.acquire() != REFUSED
    assert breaker.state is BreakerState.HALF_OPEN
    assert seen[-1].reason == "open_wait_elapsed"


# HALF_OPEN ---------------------------------------------------------------------


def test_half_open_permits_only_its_trial_calls() -> None:
    """Three permits by default; the fourth concurrent call is refused."""
    breaker, clock, _ = make()
    first = half_open_it(breaker, clock)
    assert first != REFUSED
    assert breaker.acquire() != REFUSED
    assert breaker.acquire() != REFUSED
    assert breaker.acquire() == REFUSED


def test_half_open_closes_once_the_trials_cannot_fail_any_more() -> None:
    """Two passing trials of three at 50 % close it without the third."""
    breaker, clock, seen = make()
    token = half_open_it(breaker, clock)
    second = breaker.acquire()
    breaker.record(token, OK, FAST_US)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record(second, OK, FAST_US)
    assert breaker.state is BreakerState.CLOSED
    assert seen[-1].reason == "trial_calls_passed"


def test_half_open_opens_again_once_the_trials_cannot_pass() -> None:
    """Two failing trials of three at 50 % open it without the third."""
    breaker, clock, seen = make()
    token = half_open_it(breaker, clock)
    second = breaker.acquire()
    breaker.record(token, FAIL, FAST_US)
    breaker.record(second, FAIL, FAST_US)
    assert breaker.state is BreakerState.OPEN
    assert seen[-1].reason == "trial_calls_failed"


def test_half_open_waits_while_the_outcome_is_undecided() -> None:
    """One pass and one failure of three leave the third trial to decide."""
    breaker, clock, _ = make()
    token = half_open_it(breaker, clock)
    second, third = breaker.acquire(), breaker.acquire()
    breaker.record(token, OK, FAST_US)
    breaker.record(second, FAIL, FAST_US)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record(third, OK, FAST_US)
    assert breaker.state is BreakerState.CLOSED


def test_half_open_opens_again_on_slow_trials() -> None:
    """Three slow successful trials open it at a 100 % slow-call threshold."""
    breaker, clock, seen = make()
    tokens = [half_open_it(breaker, clock), breaker.acquire(), breaker.acquire()]
    for token in tokens:
        breaker.record(token, OK, SLOW_US)
    assert breaker.state is BreakerState.OPEN
    assert seen[-1].slow_call_rate == 1.0


def test_half_open_that_lasts_too_long_opens_again() -> None:
    """Trials that never answer: after max_half_open_s the next call reopens."""
    breaker, clock, seen = make()
    half_open_it(breaker, clock)
    breaker.acquire()
    breaker.acquire()
    clock.jump(10.0)
    assert breaker.acquire() == REFUSED
    assert breaker.state is BreakerState.OPEN
    assert seen[-1].reason == "half_open_timeout"


def test_an_ignored_trial_gives_its_permit_back() -> None:
    """A 404 during half-open frees the permit for another trial."""
    breaker, clock, _ = make()
    token = half_open_it(breaker, clock)
    breaker.acquire()
    breaker.acquire()
    breaker.record(token, NOT_FOUND, FAST_US)
    assert breaker.acquire() != REFUSED


def test_outcomes_of_calls_from_an_earlier_state_are_not_counted() -> None:
    """A call permitted while closed that ends after the breaker opened and
    half-opened cannot decide the trials."""
    breaker, clock, _ = make()
    late = breaker.acquire()
    half_open_it(breaker, clock)
    breaker.record(late, OK, FAST_US)
    breaker.record(late, OK, FAST_US)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.stale_outcomes == 2


# Open wait: backoff and jitter -------------------------------------------------


def test_open_wait_doubles_with_each_opening_in_a_row_up_to_the_cap() -> None:
    """Waits of 1, 2, 4, 8, 16, 30, 30 s without jitter."""
    breaker, clock, seen = make()
    open_it(breaker)
    for _ in range(6):
        clock.jump(30.0)
        calls(breaker, FAIL, 2)
    waits = [t.open_wait_s for t in seen if t.to_state is BreakerState.OPEN]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_open_wait_starts_over_after_the_breaker_closes() -> None:
    """After a close, the next opening waits the base time again."""
    breaker, clock, seen = make()
    open_it(breaker)
    clock.jump(1.0)
    calls(breaker, FAIL, 2)
    clock.jump(2.0)
    calls(breaker, OK, 2)
    assert breaker.state is BreakerState.CLOSED
    open_it(breaker)
    assert seen[-1].open_wait_s == 1.0


@given(
    u=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    openings=st.integers(min_value=1, max_value=40),
)
def test_jittered_open_wait_stays_within_its_bounds(u: float, openings: int) -> None:
    """Each wait lies within +-jitter of the nominal one and never past the cap."""
    config = BreakerConfig(open_wait_jitter=0.2, max_open_wait_s=30.0)
    breaker, clock, seen = make(config, rng_value=u)
    open_it(breaker)
    for _ in range(openings - 1):
        clock.jump(31.0)
        calls(breaker, FAIL, 2)
    wait_s = seen[-1].open_wait_s
    nominal = config.nominal_open_wait_s(openings)
    assert nominal * 0.8 - 1e-9 <= wait_s <= min(nominal * 1.2, 30.0) + 1e-9


def test_jitter_spreads_users_that_opened_together() -> None:
    """Two breakers with different random draws wait different times."""
    config = BreakerConfig(open_wait_jitter=0.2)
    low, _, low_seen = make(config, rng_value=0.0)
    high, _, high_seen = make(config, rng_value=0.99)
    open_it(low)
    open_it(high)
    assert low_seen[-1].open_wait_s == pytest.approx(0.8)
    assert high_seen[-1].open_wait_s == pytest.approx(1.196)


# Forced, disabled, metrics only -----------------------------------------------


def test_forced_open_refuses_every_call_until_reset() -> None:
    """No wait ends a forced opening; reset closes it."""
    breaker, clock, seen = make()
    breaker.force_open()
    clock.jump(3600.0)
    assert breaker.acquire() == REFUSED
    breaker.reset()
    assert breaker.acquire() != REFUSED
    assert [t.reason for t in seen] == ["forced", "reset"]


def test_disabled_permits_every_call_and_records_nothing() -> None:
    """A disabled breaker never opens, whatever the failures."""
    breaker, _, seen = make()
    breaker.disable()
    calls(breaker, FAIL, 100)
    assert breaker.state is BreakerState.DISABLED
    assert breaker.metrics().calls == 0
    assert len(seen) == 1


def test_metrics_only_permits_every_call_and_reports_crossings() -> None:
    """Crossing the threshold reports would_open, recovering would_close."""
    breaker, _, seen = make()
    breaker.metrics_only()
    calls(breaker, FAIL, 20)
    assert breaker.acquire() != REFUSED
    calls(breaker, OK, 20)
    reasons = [t.reason for t in seen]
    assert reasons == ["metrics_only", "would_open", "would_close"]
    assert breaker.state is BreakerState.METRICS_ONLY


# Events and configuration -------------------------------------------------------


def test_transitions_carry_the_time_of_the_breaker_clock() -> None:
    """Each transition is stamped with the clock's reading at that moment."""
    breaker, clock, seen = make()
    clock.now_s = 500.0
    open_it(breaker)
    clock.jump(1.5)
    breaker.acquire()
    assert [(t.to_state, t.at_s) for t in seen] == [
        (BreakerState.OPEN, 500.0),
        (BreakerState.HALF_OPEN, 501.5),
    ]


def test_a_minimum_larger_than_the_count_window_is_refused() -> None:
    """minimum_calls over window_calls could never be met: a config error."""
    with pytest.raises(ValueError, match="minimum_calls"):
        BreakerConfig(window_calls=5, minimum_calls=10)


def test_a_zero_failure_rate_threshold_is_refused() -> None:
    """A 0 % threshold would open on the first judged window: refused."""
    with pytest.raises(ValueError, match="failure_rate"):
        BreakerConfig(failure_rate=0.0)
