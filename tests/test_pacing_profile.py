"""Rate profiles, arrival positions, and the parsing of stages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loadgen.errors import ConfigError
from loadgen.pacing.arrivals import EvenArrivals, PoissonArrivals
from loadgen.pacing.profile import (
    RAMP,
    STEP,
    RateProfile,
    Stage,
    parse_duration_s,
    parse_stages,
)


def test_a_constant_rate_makes_request_n_due_at_n_over_the_rate() -> None:
    """At 200/s the n-th request is due at n / 200 s."""
    profile = RateProfile.constant(200.0)
    for n in (0, 1, 7, 1_000, 123_457):
        assert profile.time_at(n) == pytest.approx(n / 200.0, abs=1e-12)


def test_a_constant_rate_never_ends() -> None:
    """A constant profile has no end and no total."""
    profile = RateProfile.constant(5.0)
    assert profile.end_s == math.inf
    assert profile.time_at(1e9) == pytest.approx(2e8)


def test_a_ramp_counts_the_area_under_its_rate() -> None:
    """A ramp from 0 to 100/s over 10 s makes 500 requests due."""
    profile = RateProfile.from_stages([Stage(10.0, 100.0, RAMP)])
    assert profile.count_at(10.0) == pytest.approx(500.0)
    assert profile.count_at(5.0) == pytest.approx(125.0)
    assert profile.rate_at(2.5) == pytest.approx(25.0)


def test_time_at_inverts_count_at_across_stages() -> None:
    """time_at(count_at(t)) == t inside ramps up, holds and ramps down."""
    stages = [Stage(10.0, 100.0), Stage(5.0, 100.0), Stage(10.0, 20.0)]
    profile = RateProfile.from_stages(stages, initial_rate_per_s=10.0)
    for t in np.linspace(0.01, 24.99, 97):
        found = profile.time_at(profile.count_at(float(t)))
        assert found == pytest.approx(float(t), abs=1e-9)


def test_steps_hold_their_rate_for_their_whole_stage() -> None:
    """A step stage keeps its rate from its first moment to its last."""
    profile = RateProfile.from_stages([Stage(2.0, 10.0, STEP), Stage(2.0, 50.0, STEP)])
    assert profile.rate_at(0.0) == 10.0
    assert profile.rate_at(1.99) == 10.0
    assert profile.rate_at(2.0) == 50.0
    assert profile.count_at(4.0) == pytest.approx(120.0)


def test_the_schedule_ends_after_the_last_stage() -> None:
    """No request is due once the stages have run out."""
    profile = RateProfile.from_stages([Stage(1.0, 10.0, STEP)])
    assert profile.end_s == 1.0
    assert profile.time_at(9.5) == pytest.approx(0.95)
    assert profile.time_at(10.0) is None
    assert profile.rate_at(1.5) == 0.0


def test_a_zero_rate_stage_is_skipped_over() -> None:
    """A pause in the stages delays the next request past the pause."""
    stages = [Stage(1.0, 10.0, STEP), Stage(3.0, 0.0, STEP), Stage(1.0, 10.0, STEP)]
    profile = RateProfile.from_stages(stages)
    assert profile.time_at(10.0) == pytest.approx(4.0)


def test_scaling_divides_the_count_and_keeps_the_shape() -> None:
    """Half the rate makes half the requests due at every moment."""
    profile = RateProfile.from_stages([Stage(10.0, 100.0)], 20.0)
    half = profile.scaled(0.5)
    for t in (0.5, 3.0, 9.9, 12.0):
        assert half.count_at(t) == pytest.approx(profile.count_at(t) / 2)
    assert half.end_s == profile.end_s


def test_even_arrivals_of_two_workers_interleave_into_one_schedule() -> None:
    """Shares with phases 0 and 1/2 at half the rate fill the whole schedule."""
    whole = RateProfile.constant(100.0)
    half = whole.scaled(0.5)
    times: list[float] = []
    for phase in (0.0, 0.5):
        arrivals = EvenArrivals(phase)
        for _ in range(50):
            found = half.time_at(arrivals.peek())
            assert found is not None
            times.append(found)
            arrivals.advance()
    expected = [n / 100.0 for n in range(100)]
    assert sorted(times) == pytest.approx(expected, abs=1e-9)


def test_even_arrivals_skip_exactly_those_before_a_position() -> None:
    """skip_below passes over the arrivals before it and says how many."""
    arrivals = EvenArrivals(0.25)
    assert arrivals.skip_below(10.0) == 10
    assert arrivals.peek() == 10.25
    assert arrivals.skip_below(3.0) == 0


def test_poisson_arrivals_average_the_rate() -> None:
    """20,000 Poisson arrivals at 200/s span about 100 s."""
    profile = RateProfile.constant(200.0)
    arrivals = PoissonArrivals(np.random.default_rng(7))
    for _ in range(20_000):
        arrivals.advance()
    span_s = profile.time_at(arrivals.peek())
    assert span_s == pytest.approx(100.0, rel=0.02)


def test_poisson_skip_lands_past_the_position() -> None:
    """After a skip the next Poisson arrival lies beyond the skip position."""
    arrivals = PoissonArrivals(np.random.default_rng(3))
    skipped = arrivals.skip_below(1_000.0)
    assert arrivals.peek() > 1_000.0
    # A Poisson count of mean about 1,000: well within five deviations.
    assert 850 < skipped < 1_150


def test_a_duration_needs_a_unit() -> None:
    """A bare number could be seconds or milliseconds, so it is refused."""
    assert parse_duration_s("1m", field="x") == 60.0
    assert parse_duration_s("250ms", field="x") == 0.25
    with pytest.raises(ConfigError, match="with a unit"):
        parse_duration_s("30", field="x")


def test_stages_parse_in_order_with_their_shape() -> None:
    """DURATION:RATE items, comma-separated, become stages."""
    stages = parse_stages("30s:100,1m:100/s,10s:0", STEP, field="--arrival-stages")
    assert stages == (
        Stage(30.0, 100.0, STEP),
        Stage(60.0, 100.0, STEP),
        Stage(10.0, 0.0, STEP),
    )


def test_a_broken_stage_is_named_by_its_index() -> None:
    """The error names the stage that does not read DURATION:RATE."""
    with pytest.raises(ConfigError, match=r"--arrival-stages\[1\]"):
        parse_stages("30s:100,1m", RAMP, field="--arrival-stages")
