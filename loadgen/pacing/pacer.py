"""The pacer: one worker's share of the schedule, handed out to its users.

Theory of operation. The users of a worker process form a pool. A user
that is free asks the pacer for a turn: the next request of the schedule
that nobody has taken. If that request's intended start still lies ahead,
the user sleeps until then and sends; it was free in time. If the intended
start has passed, every user was busy at that moment (the server is slow
or stalled, or the pool is too small): the request is *late*. It is sent
at once and its latency counts from its intended start, so the time it
waited for a free user is measured, not omitted. A request that would go
out more than ``drop_after_s`` after its intended start is *dropped*
instead: not sent, only counted, like k6's dropped iterations.

Taking a turn does not yield to other greenlets, so two users never get
the same request. The pacer holds no socket and no Locust object: the
clock, the wall clock, the sleep and the counter are injected, and tests
jump time instead of sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from loadgen.aggregator.results import DROPPED_COUNTER, LATE_COUNTER, SENT_COUNTER
from loadgen.pacing.arrivals import Arrivals
from loadgen.pacing.profile import RateProfile

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Count = Callable[[str, int], None]

# A client that has waited this long has given up: the same as the default
# --mcp-timeout, the longest a request of ours may take anyway.
DEFAULT_DROP_AFTER_S = 30.0

# The first late request is logged once it is this late. Every run starts
# a few milliseconds late (the first users are still opening sessions when
# the schedule begins); a wait of 50 ms means the pool ran out of users.
LATE_WARNING_S = 0.05


@dataclass(frozen=True, slots=True)
class Turn:
    """One request's place in the schedule, as a user took it."""

    # Seconds since the schedule's start, on the pacer's clock.
    intended_s: float
    # The same moment as an epoch second, comparable with the event's
    # start_time (both from the wall clock, a moment apart).
    intended_epoch_s: float
    # How long after its intended start the turn was taken (0: on time).
    late_s: float


class Pacer:
    """Hands out one worker's share of the arrival schedule to its users."""

    def __init__(
        self,
        profile: RateProfile,
        arrivals: Arrivals,
        *,
        start_s: float,
        clock: Clock,
        wall_clock: Clock,
        sleep: Sleep,
        count: Count,
        drop_after_s: float = DEFAULT_DROP_AFTER_S,
    ) -> None:
        if not drop_after_s > 0:
            raise ValueError(f"drop_after_s must be positive, got {drop_after_s!r}")
        self.profile = profile
        self._arrivals = arrivals
        self._start_s = start_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._count = count
        self._drop_after_s = drop_after_s
        self._next_s: float | None = None
        self._peeked = False
        self._warned_late = False
        self._warned_drop = False

    def elapsed_s(self) -> float:
        """Seconds since the schedule's start."""
        return self._clock() - self._start_s

    def take(self) -> Turn | None:
        """The next request nobody has taken; None when the schedule ended.

        Does not wait and does not yield: the caller sleeps until the
        turn's intended start (see :meth:`wait_turn`).
        """
        now_s = self.elapsed_s()
        intended_s = self._peek()
        if intended_s is not None and now_s - intended_s > self._drop_after_s:
            self._drop_before(now_s - self._drop_after_s)
            intended_s = self._peek()
        if intended_s is None:
            return None
        self._arrivals.advance()
        self._peeked = False
        late_s = max(now_s - intended_s, 0.0)
        epoch_s = self._wall_clock() + (intended_s - now_s)
        return Turn(intended_s, epoch_s, late_s)

    def wait_turn(self) -> Turn | None:
        """Take a turn, sleep until its intended start, and count it sent.

        A user killed while it sleeps (the test stops) sends nothing, and
        nothing is counted for it.
        """
        turn = self.take()
        if turn is None:
            return None
        wait_s = turn.intended_s - self.elapsed_s()
        if wait_s > 0:
            self._sleep(wait_s)
        self._count(SENT_COUNTER, 1)
        if turn.late_s > 0:
            self._count(LATE_COUNTER, 1)
            self._note_late(turn)
        return turn

    def _peek(self) -> float | None:
        """Intended start of the next request (cached until it is taken)."""
        if not self._peeked:
            self._next_s = self.profile.time_at(self._arrivals.peek())
            self._peeked = True
        return self._next_s

    def _drop_before(self, cutoff_s: float) -> None:
        """Give up every request meant to start before ``cutoff_s``."""
        dropped = self._arrivals.skip_below(self.profile.count_at(cutoff_s))
        self._peeked = False
        if dropped <= 0:
            return
        self._count(DROPPED_COUNTER, dropped)
        if not self._warned_drop:
            self._warned_drop = True
            logger.warning(
                "Open model: dropping requests more than %s s past their "
                "intended start (%s so far); they are counted, not sent",
                self._drop_after_s,
                dropped,
            )

    def _note_late(self, turn: Turn) -> None:
        if self._warned_late or turn.late_s < LATE_WARNING_S:
            return
        self._warned_late = True
        logger.warning(
            "Open model: a request went out %.0f ms after its intended start, "
            "because every user was busy; late requests are sent at once, "
            "measured from their intended start and counted (-u sets the pool)",
            turn.late_s * 1000,
        )
