"""The target's session store: lookups, expiry, and sweeping abandoned ones."""

from __future__ import annotations

import itertools

from loadgen.target.faults import FaultPlan, FaultSettings
from loadgen.target.sessions import SessionStore


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def store_with_ttl(clock: FakeClock, ttl_s: float = 10.0) -> SessionStore:
    faults = FaultPlan(FaultSettings(session_ttl_s=ttl_s), clock=clock)
    counter = itertools.count()
    return SessionStore(faults, lambda: f"s{next(counter)}")


def test_open_then_find_returns_the_session() -> None:
    """A fresh session is found by its id."""
    store = store_with_ttl(FakeClock())
    session = store.open("2025-11-25")
    assert store.find(session.session_id) is session


def test_close_ends_a_session_once() -> None:
    """close is True for a live session and False afterwards."""
    store = store_with_ttl(FakeClock())
    session_id = store.open("2025-11-25").session_id
    assert store.close(session_id)
    assert not store.close(session_id)


def test_finding_a_session_keeps_it_alive() -> None:
    """Each lookup resets the idle time the TTL measures."""
    clock = FakeClock()
    store = store_with_ttl(clock)
    session_id = store.open("2025-11-25").session_id
    for _ in range(5):
        clock.now_s += 9.0
        assert store.find(session_id) is not None


def test_abandoned_sessions_are_swept_as_the_store_grows() -> None:
    """Sessions never ended by DELETE do not pile up once they expire."""
    clock = FakeClock()
    store = store_with_ttl(clock)
    for _ in range(3):
        for _ in range(2000):
            store.open("2025-11-25")
        clock.now_s += 11.0
    # Each round expired the last; the automatic sweeps kept the store from
    # holding all 6,000.
    assert len(store) <= 2048
