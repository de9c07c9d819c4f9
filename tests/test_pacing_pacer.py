"""The pacer on a clock the test moves: turns, late and dropped requests.

The stall tests run a pool of users against a simulated server, event by
event, on the same jumping clock: the pacer decides when each request goes
out, the simulation when it is answered.
"""

from __future__ import annotations

import heapq
from collections import Counter

import numpy as np
import pytest

from loadgen.aggregator.results import DROPPED_COUNTER, LATE_COUNTER, SENT_COUNTER
from loadgen.pacing.arrivals import EvenArrivals, PoissonArrivals
from loadgen.pacing.pacer import Pacer
from loadgen.pacing.profile import RateProfile, Stage

# Epoch second of the test's clock zero (any value; it only shifts epochs).
EPOCH_S = 1_800_000_000.0


class Stopped(Exception):
    """The test ended while a user slept (Locust kills the greenlet)."""


class JumpingClock:
    """Monotonic seconds that move only when told to (or when slept on)."""

    def __init__(self, stop_s: float = float("inf")) -> None:
        self.now_s = 0.0
        self.stop_s = stop_s
        self.slept_s: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    def wall(self) -> float:
        return EPOCH_S + self.now_s

    def sleep(self, seconds: float) -> None:
        if self.now_s + seconds >= self.stop_s:
            raise Stopped
        self.slept_s.append(seconds)
        self.now_s += seconds


def make_pacer(
    clock: JumpingClock,
    counts: Counter[str],
    profile: RateProfile | None = None,
    drop_after_s: float = 30.0,
) -> Pacer:
    def count(kind: str, n: int) -> None:
        counts[kind] += n

    return Pacer(
        profile or RateProfile.constant(200.0),
        EvenArrivals(),
        start_s=0.0,
        clock=clock,
        wall_clock=clock.wall,
        sleep=clock.sleep,
        count=count,
        drop_after_s=drop_after_s,
    )


def test_turns_follow_the_rate_exactly() -> None:
    """At 200/s successive turns are 5 ms apart from the start."""
    clock, counts = JumpingClock(), Counter[str]()
    pacer = make_pacer(clock, counts)
    starts = [pacer.take() for _ in range(5)]
    assert [t.intended_s for t in starts if t] == pytest.approx(
        [0.0, 0.005, 0.010, 0.015, 0.020]
    )


def test_a_free_user_sleeps_until_the_intended_start() -> None:
    """A user early for its turn sleeps exactly the time left, and is on time."""
    clock, counts = JumpingClock(), Counter[str]()
    pacer = make_pacer(clock, counts)
    pacer.wait_turn()
    clock.now_s = 0.001
    turn = pacer.wait_turn()
    assert turn is not None and turn.late_s == 0.0
    assert clock.slept_s == [pytest.approx(0.004)]
    assert clock.now_s == pytest.approx(0.005)
    assert counts == {SENT_COUNTER: 2}


def test_a_turn_taken_after_its_start_is_late_and_counted() -> None:
    """No user was free at the intended start: the request is late."""
    clock, counts = JumpingClock(), Counter[str]()
    pacer = make_pacer(clock, counts)
    clock.now_s = 0.3
    turn = pacer.wait_turn()
    assert turn is not None
    assert turn.late_s == pytest.approx(0.3)
    assert clock.slept_s == []
    assert counts == {SENT_COUNTER: 1, LATE_COUNTER: 1}


def test_a_late_turn_keeps_its_intended_start_as_an_epoch() -> None:
    """The epoch of a late turn is its intended moment, not the send."""
    clock, counts = JumpingClock(), Counter[str]()
    pacer = make_pacer(clock, counts)
    pacer.take()
    clock.now_s = 2.0
    turn = pacer.take()
    assert turn is not None
    assert turn.intended_epoch_s == pytest.approx(EPOCH_S + 0.005)


def test_requests_past_the_bound_are_dropped_not_sent() -> None:
    """After a 10 s gap with a 1 s bound, 9 s worth of requests are dropped."""
    clock, counts = JumpingClock(), Counter[str]()
    pacer = make_pacer(clock, counts, drop_after_s=1.0)
    clock.now_s = 10.0
    turn = pacer.wait_turn()
    assert turn is not None
    assert turn.intended_s == pytest.approx(9.0)
    # Requests due in [0, 9) s at 200/s: 1,800.
    assert counts[DROPPED_COUNTER] == 1_800
    assert counts[SENT_COUNTER] == 1


def test_take_returns_none_when_the_stages_have_ended() -> None:
    """After the last stage there is no turn to take."""
    clock, counts = JumpingClock(), Counter[str]()
    profile = RateProfile.from_stages([Stage(1.0, 3.0, "step")])
    pacer = make_pacer(clock, counts, profile=profile)
    turns = [pacer.wait_turn() for _ in range(4)]
    assert [t.intended_s for t in turns[:3] if t] == pytest.approx([0, 1 / 3, 2 / 3])
    assert turns[3] is None


def test_a_user_killed_while_waiting_is_not_counted() -> None:
    """Nothing counts as sent until the user has slept to its turn."""
    clock, counts = JumpingClock(stop_s=0.003), Counter[str]()
    pacer = make_pacer(clock, counts)
    pacer.wait_turn()
    with pytest.raises(Stopped):
        pacer.wait_turn()
    assert counts == {SENT_COUNTER: 1}


def test_a_poisson_pacer_sends_at_the_rate_on_average() -> None:
    """Poisson turns at 200/s: about 2,000 in 10 s."""
    clock, counts = JumpingClock(), Counter[str]()
    pacer = Pacer(
        RateProfile.constant(200.0),
        PoissonArrivals(np.random.default_rng(11)),
        start_s=0.0,
        clock=clock,
        wall_clock=clock.wall,
        sleep=clock.sleep,
        count=lambda kind, n: counts.update({kind: n}),
    )
    while clock.now_s < 10.0:
        pacer.wait_turn()
    assert counts[SENT_COUNTER] == pytest.approx(2_000, rel=0.05)
    assert LATE_COUNTER not in counts


# A pool against a simulated stalling server ------------------------------------

# The demo target's stall (--stall-every 5s --stall-for 1s) answers nothing
# for 1 s in every 5 s. Here each stall starts 2 s into its period,
# so a 20 s run holds exactly four: a fifth of the time.
STALL_EVERY_S = 5.0
STALL_FOR_S = 1.0
STALL_STARTS_AT_S = 2.0
# The demo target answers a call in about 1 ms when it is not stalled.
SERVICE_S = 0.001


def answered_at(sent_s: float) -> float:
    """When the simulated server answers a request sent at ``sent_s``."""
    into = (sent_s - STALL_STARTS_AT_S) % STALL_EVERY_S
    wait_s = STALL_FOR_S - into if into < STALL_FOR_S else 0.0
    return sent_s + wait_s + SERVICE_S


Latencies = tuple[list[float], list[float]]


def run_pool(users: int, rate_per_s: float, run_s: float) -> tuple[Latencies, Counter]:
    """Users take turns as they come free, until the run stops at ``run_s``.

    Returns (corrected, uncorrected) latencies in seconds, and the counts.
    """
    clock, counts = JumpingClock(stop_s=run_s), Counter[str]()
    pacer = make_pacer(clock, counts, profile=RateProfile.constant(rate_per_s))
    free_at = [(0.0, user) for user in range(users)]
    corrected: list[float] = []
    uncorrected: list[float] = []
    # Bounded: each pass sends one request or retires one user.
    for _ in range(int(rate_per_s * run_s) + 2 * users):
        if not free_at:
            break
        clock.now_s, user = heapq.heappop(free_at)
        if clock.now_s >= run_s:
            continue
        try:
            turn = pacer.wait_turn()
        except Stopped:
            continue
        assert turn is not None
        done_s = answered_at(clock.now_s)
        corrected.append(done_s - turn.intended_s)
        uncorrected.append(done_s - clock.now_s)
        heapq.heappush(free_at, (done_s, user))
    return (corrected, uncorrected), counts


def test_a_stall_shows_in_corrected_latency_as_its_schedule_implies() -> None:
    """1 s stalls every 5 s at 200/s: corrected p95 near 750 ms, p99 near 950 ms."""
    # A fifth of the intended starts fall into a stall and wait for its end,
    # evenly 0..1 s: the top 5 % waited more than 0.75 s, the top 1 % more
    # than 0.95 s. Measured from the send, only the few requests that were
    # in flight when a stall began waited.
    (corrected, uncorrected), counts = run_pool(users=10, rate_per_s=200, run_s=20.0)
    p95, p99 = np.percentile(corrected, [95, 99])
    assert p95 == pytest.approx(0.75, abs=0.03)
    assert p99 == pytest.approx(0.95, abs=0.02)
    assert np.percentile(uncorrected, 95) < 0.01
    assert counts[SENT_COUNTER] == 4_000


def test_the_late_count_rises_when_the_pool_is_exhausted() -> None:
    """During stalls every user is stuck, so later requests are late."""
    _, counts = run_pool(users=10, rate_per_s=200, run_s=20.0)
    # Four stalls in 20 s, each about 200 intended starts minus the ten
    # users that were free for the first ones.
    assert 700 < counts[LATE_COUNTER] < 800


def test_a_large_enough_pool_is_never_late_without_stalls() -> None:
    """Before the first stall, ten users at 1 ms per call keep up with 200/s."""
    _, counts = run_pool(users=10, rate_per_s=200, run_s=1.9)
    assert counts[LATE_COUNTER] == 0
    assert counts[SENT_COUNTER] == 380
