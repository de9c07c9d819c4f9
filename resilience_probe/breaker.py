"""A circuit breaker for simulated users: a pure state machine, clock injected.

Theory of operation. Every call asks :meth:`CircuitBreaker.acquire` for a
permit and reports its outcome with :meth:`CircuitBreaker.record` (or gives
the permit back with :meth:`CircuitBreaker.release` when the outcome says
nothing about the target: the user's own cancellation, a 4xx).

    CLOSED      calls pass; outcomes fill a sliding window (count- or
                time-based). Once the window holds ``minimum_calls``, a
                failure rate or a slow-call rate at or above its threshold
                opens the breaker.
    OPEN        calls are refused ("not permitted") until the open wait has
                passed; the next call then moves to HALF_OPEN as its first
                trial. The wait grows exponentially with each consecutive
                opening (base, multiplier, cap), is spread by jitter so
                that users who opened together do not retry together, and
                starts over once the breaker closes.
    HALF_OPEN   at most ``half_open_permits`` trial calls pass. Their
                failure and slow-call rates decide, as soon as the answer is
                certain (the remaining trials could not change it): below
                both thresholds closes, otherwise the breaker opens again.
                Half-open that lasts ``max_half_open_s`` opens again too, so
                trials that hang cannot keep it half-open for ever.
    DISABLED    calls pass; nothing is recorded.
    METRICS_ONLY calls pass; outcomes are recorded and the rates kept, and
                crossing the thresholds is reported (reasons ``would_open``
                and ``would_close``) without refusing anything.
    FORCED_OPEN every call is refused until :meth:`reset`.

A permit is a token: the number of the state it was issued in. An outcome
whose token is not the current one belongs to an earlier state (a call that
started before the breaker opened) and is not counted, so late answers
cannot close a breaker that opened meanwhile.

No lock: every method runs to completion without I/O or a greenlet switch,
so under gevent nothing else can run in the middle of one, and nothing is
ever held while a call is in flight.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from loadgen.mcp.outcomes import OK, Outcome
from resilience_probe.classify import Classifier, Verdict
from resilience_probe.windows import CountWindow, OutcomeWindow, TimeWindow

Clock = Callable[[], float]

# acquire() returns this instead of a token when the call may not go out.
REFUSED = -1


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    DISABLED = "disabled"
    METRICS_ONLY = "metrics_only"
    FORCED_OPEN = "forced_open"


class WindowKind(enum.StrEnum):
    COUNT = "count"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """The knobs of one breaker; rates are fractions, 0..1.

    The defaults suit a simulated user sending 10 to 50 calls a second: a
    window of 20 calls with 10 required opens within about a second of an
    outage; three trials decide half-open in a few calls; the open wait
    doubles from 1 s to at most 30 s, with +-20 % jitter. (Service-side
    libraries default to windows of 100 calls and a 60 s wait, sized for
    one process's traffic to one dependency over minutes, not for one
    simulated user.) A call is slow from 2 s: the demo target answers in
    milliseconds, and real MCP tool calls in tens to hundreds of them.
    """

    window_kind: WindowKind = WindowKind.COUNT
    window_calls: int = 20
    window_s: float = 10.0
    minimum_calls: int = 10
    failure_rate: float = 0.5
    slow_call_rate: float = 1.0
    slow_call_s: float = 2.0
    half_open_permits: int = 3
    max_half_open_s: float = 10.0
    open_wait_s: float = 1.0
    open_wait_multiplier: float = 2.0
    max_open_wait_s: float = 30.0
    open_wait_jitter: float = 0.2
    tool_errors: Verdict = Verdict.SUCCESS

    def __post_init__(self) -> None:
        for name in ("failure_rate", "slow_call_rate"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"breaker {name} must be in (0, 1], got {value}")
        if not 0.0 <= self.open_wait_jitter <= 1.0:
            raise ValueError(
                f"breaker open_wait_jitter must be within 0..1, "
                f"got {self.open_wait_jitter}"
            )
        for name in ("window_calls", "minimum_calls", "half_open_permits"):
            if getattr(self, name) < 1:
                raise ValueError(f"breaker {name} must be at least 1")
        for name in ("window_s", "slow_call_s", "max_half_open_s", "open_wait_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"breaker {name} must be longer than zero")
        if self.open_wait_multiplier < 1.0:
            raise ValueError("breaker open_wait_multiplier must be at least 1")
        if self.max_open_wait_s < self.open_wait_s:
            raise ValueError("breaker max_open_wait_s must be >= open_wait_s")
        if (
            self.window_kind is WindowKind.COUNT
            and self.minimum_calls > self.window_calls
        ):
            raise ValueError(
                "breaker minimum_calls must not exceed window_calls: the "
                "window could never hold enough calls to judge"
            )

    def new_window(self) -> OutcomeWindow:
        if self.window_kind is WindowKind.COUNT:
            return CountWindow(self.window_calls)
        return TimeWindow(self.window_s)

    def nominal_open_wait_s(self, opened_in_a_row: int) -> float:
        """The wait before jitter after the ``opened_in_a_row``-th opening."""
        exponent = max(opened_in_a_row - 1, 0)
        # Compared in logarithms: base * multiplier**exponent overflows a
        # float long before a long outage ends.
        headroom = math.log(self.max_open_wait_s / self.open_wait_s)
        if exponent * math.log(self.open_wait_multiplier) >= headroom:
            return self.max_open_wait_s
        return float(self.open_wait_s * self.open_wait_multiplier**exponent)


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change, timed on the breaker's clock."""

    breaker: str
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    at_s: float
    failure_rate: float
    slow_call_rate: float
    calls: int
    # The wait chosen on entering OPEN; 0 otherwise.
    open_wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class BreakerMetrics:
    """What a breaker knows right now."""

    state: BreakerState
    calls: int
    failure_rate: float
    slow_call_rate: float
    not_permitted: int
    stale_outcomes: int
    opened_in_a_row: int


OnTransition = Callable[[Transition], None]

# Module constants: read as globals on the hot path, not as class attributes.
_CLOSED = BreakerState.CLOSED
_SUCCESS, _FAILURE, _IGNORED = Verdict.SUCCESS, Verdict.FAILURE, Verdict.IGNORED
_PASSING = frozenset({BreakerState.DISABLED, BreakerState.METRICS_ONLY})
_STARTING_STATES = _PASSING | {BreakerState.CLOSED, BreakerState.FORCED_OPEN}


class CircuitBreaker:
    """CLOSED, OPEN, HALF_OPEN plus DISABLED, METRICS_ONLY and FORCED_OPEN."""

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        name: str = "breaker",
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        on_transition: OnTransition | None = None,
        state: BreakerState = BreakerState.CLOSED,
    ) -> None:
        if state not in _STARTING_STATES:
            raise ValueError(f"a breaker cannot start {state.value}")
        self.config = config = config or BreakerConfig()
        self.name = name
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_transition = on_transition
        self._classify = Classifier(config.tool_errors)
        self._window = config.new_window()
        self._timed = config.window_kind is WindowKind.TIME
        self._slow_us = config.slow_call_s * 1e6
        # Starting in a state is not a transition: no event.
        self._state = state
        self._epoch = 0
        self._open_until_s = 0.0
        self._opened_in_a_row = 0
        self._half_open = _Trials()
        self._exceeded = False
        self.not_permitted = 0
        self.stale_outcomes = 0

    @property
    def state(self) -> BreakerState:
        return self._state

    # The call path ----------------------------------------------------------------

    def acquire(self) -> int:
        """A permit token for one call, or ``REFUSED``."""
        if self._state is _CLOSED:
            return self._epoch
        return self._acquire_other()

    def _acquire_other(self) -> int:
        state = self._state
        if state in _PASSING:
            return self._epoch
        if state is BreakerState.OPEN:
            if self._clock() < self._open_until_s:
                return self._refuse()
            self._move(BreakerState.HALF_OPEN, "open_wait_elapsed")
            state = BreakerState.HALF_OPEN
        if state is BreakerState.HALF_OPEN:
            return self._trial_permit()
        return self._refuse()

    def _refuse(self) -> int:
        self.not_permitted += 1
        return REFUSED

    def _trial_permit(self) -> int:
        trials = self._half_open
        if self._clock() - trials.since_s >= self.config.max_half_open_s:
            self._open("half_open_timeout")
            return self._refuse()
        if trials.issued >= self.config.half_open_permits:
            return self._refuse()
        trials.issued += 1
        return self._epoch

    def record(self, token: int, outcome: Outcome, latency_us: int) -> None:
        """Count one finished call's outcome against the permit it used."""
        # Most calls succeed, and the client reports those with the OK
        # instance: skipping the classifier for it saves a dataclass hash.
        verdict = _SUCCESS if outcome is OK else self._classify(outcome)
        if verdict is _IGNORED:
            self.release(token)
            return
        if token != self._epoch:
            self.stale_outcomes += 1
            return
        failed = verdict is _FAILURE
        slow = latency_us >= self._slow_us
        state = self._state
        if state is _CLOSED:
            self._record_closed(failed, slow)
        elif state is BreakerState.HALF_OPEN:
            self._record_trial(failed, slow)
        elif state is BreakerState.METRICS_ONLY:
            self._record_shadow(failed, slow)

    def release(self, token: int) -> None:
        """Give a permit back unused (the outcome said nothing about the target)."""
        if token == self._epoch and self._state is BreakerState.HALF_OPEN:
            self._half_open.issued -= 1

    # Operator controls ------------------------------------------------------------

    def force_open(self) -> None:
        """Refuse every call until :meth:`reset`."""
        self._move(BreakerState.FORCED_OPEN, "forced")

    def disable(self) -> None:
        """Let every call through and record nothing."""
        self._move(BreakerState.DISABLED, "disabled")

    def metrics_only(self) -> None:
        """Let every call through; keep the rates and report threshold crossings."""
        self._window.clear()
        self._exceeded = False
        self._move(BreakerState.METRICS_ONLY, "metrics_only")

    def reset(self) -> None:
        """Back to CLOSED with an empty window and the shortest open wait."""
        self._close("reset")

    def metrics(self) -> BreakerMetrics:
        window = self._window
        window.refresh(self._clock())
        failure_rate, slow_rate = _rates(window.calls, window.failures, window.slow)
        return BreakerMetrics(
            self._state,
            window.calls,
            failure_rate,
            slow_rate,
            self.not_permitted,
            self.stale_outcomes,
            self._opened_in_a_row,
        )

    # Judging ----------------------------------------------------------------------

    def _record_closed(self, failed: bool, slow: bool) -> None:
        window = self._window
        # A count window needs no time; reading the clock costs a call.
        window.add(failed, slow, self._clock() if self._timed else 0.0)
        if self._breached(window):
            self._open("failure_rate" if self._failing(window) else "slow_call_rate")

    def _record_shadow(self, failed: bool, slow: bool) -> None:
        window = self._window
        window.add(failed, slow, self._clock())
        exceeded = self._breached(window)
        if exceeded != self._exceeded:
            self._exceeded = exceeded
            self._notify(
                BreakerState.METRICS_ONLY,
                "would_open" if exceeded else "would_close",
                0.0,
            )

    def _breached(self, window: OutcomeWindow) -> bool:
        calls = window.calls
        if calls < self.config.minimum_calls:
            return False
        return self._failing(window) or (
            window.slow >= self.config.slow_call_rate * calls
        )

    def _failing(self, window: OutcomeWindow) -> bool:
        return window.failures >= self.config.failure_rate * window.calls

    def _record_trial(self, failed: bool, slow: bool) -> None:
        trials = self._half_open
        trials.done += 1
        trials.failures += failed
        trials.slow += slow
        decision = trials.decide(self.config)
        if decision is not None:
            if decision:
                self._close("trial_calls_passed")
            else:
                self._open("trial_calls_failed")

    # Moving -----------------------------------------------------------------------

    def _open(self, reason: str) -> None:
        self._opened_in_a_row += 1
        wait_s = self._jittered_wait_s()
        self._open_until_s = self._clock() + wait_s
        self._move(BreakerState.OPEN, reason, wait_s)

    def _jittered_wait_s(self) -> float:
        config = self.config
        nominal = config.nominal_open_wait_s(self._opened_in_a_row)
        spread = config.open_wait_jitter * (2.0 * self._rng.random() - 1.0)
        return min(nominal * (1.0 + spread), config.max_open_wait_s)

    def _close(self, reason: str) -> None:
        self._opened_in_a_row = 0
        self._window.clear()
        self._move(BreakerState.CLOSED, reason)

    def _move(self, to_state: BreakerState, reason: str, wait_s: float = 0.0) -> None:
        if to_state is BreakerState.HALF_OPEN:
            self._half_open = _Trials(since_s=self._clock())
        self._epoch += 1
        self._notify(to_state, reason, wait_s)

    def _notify(self, to_state: BreakerState, reason: str, wait_s: float) -> None:
        """Switch state and tell the listener (the only place either happens)."""
        from_state = self._state
        self._state = to_state
        if self._on_transition is None:
            return
        calls, failures, slow = self._rates_source(from_state)
        failure_rate, slow_rate = _rates(calls, failures, slow)
        self._on_transition(
            Transition(
                self.name,
                from_state,
                to_state,
                reason,
                self._clock(),
                failure_rate,
                slow_rate,
                calls,
                wait_s,
            )
        )

    def _rates_source(self, from_state: BreakerState) -> tuple[int, int, int]:
        """The counts behind a transition: the trials' when leaving half-open."""
        if from_state is BreakerState.HALF_OPEN:
            trials = self._half_open
            return trials.done, trials.failures, trials.slow
        window = self._window
        return window.calls, window.failures, window.slow


@dataclass(slots=True)
class _Trials:
    """The trial calls of one half-open state."""

    since_s: float = 0.0
    issued: int = 0
    done: int = 0
    failures: int = 0
    slow: int = 0

    def decide(self, config: BreakerConfig) -> bool | None:
        """True: close; False: open again; None: not certain yet.

        Rates are taken over all permitted trials, so a decision is certain
        once the remaining ones could not move a rate across its threshold.
        """
        permits = config.half_open_permits
        left = permits - self.done
        failure_limit = config.failure_rate * permits
        slow_limit = config.slow_call_rate * permits
        if self.failures >= failure_limit or self.slow >= slow_limit:
            return False
        if self.failures + left < failure_limit and self.slow + left < slow_limit:
            return True
        return None


def _rates(calls: int, failures: int, slow: int) -> tuple[float, float]:
    if calls == 0:
        return 0.0, 0.0
    return failures / calls, slow / calls
