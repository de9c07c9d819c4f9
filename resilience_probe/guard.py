"""Around one McpUser's calls: circuit breaker, per-call timeout, chaos.

``McpUser`` asks :func:`hooks_for_user` for a :class:`ResilienceHooks`
(``loadgen.users.CallHooks``) and then, for each workload call:

1. ``around_call`` asks the breaker for a permit. A refusal is recorded as
   ``not_permitted`` with zero latency and nothing is sent. Call-level chaos
   acts here: ``session_abandon`` drops the session without DELETE first,
   ``retry_storm`` sends a failed call again at once.
2. The call runs, bounded by the per-call timeout when one is set (apart
   from the breaker: a timeout is an outcome the breaker then counts).
3. ``observe`` sees each record the call produces: it keeps the call's
   first failing outcome and its total latency for the breaker, tags
   injected requests (``context["injected"]``), and names the requests of
   users inside the blast radius with :data:`AFFECTED_PREFIX`.
4. The breaker gets the call's outcome, or its permit back when the
   outcome says nothing about the target (the user's own cancellation, a
   client-side 4xx, or an injected call when injected calls are excluded).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Final

import gevent
from gevent import GreenletExit

from loadgen.client import CallRecord
from loadgen.mcp.outcomes import OK, Outcome, OutcomeClass
from loadgen.transport.messages import Transport, TransportErrorKind
from loadgen.workload import Call
from resilience_probe.breaker import REFUSED, BreakerState, CircuitBreaker
from resilience_probe.chaos import HookKind, UserChaos, hits
from resilience_probe.chaos_transport import ChaosTransport

Clock = Callable[[], float]
Emit = Callable[[CallRecord], None]
Send = Callable[[Call], None]

# Requests of users inside an experiment's blast radius are named
# "chaos: tools/call echo", so an SLA target such as "tools/call *" judges
# the control group alone and "chaos: *" the affected users.
AFFECTED_PREFIX: Final = "chaos: "

_REFUSALS: Final = {
    state: Outcome(OutcomeClass.NOT_PERMITTED, state.value) for state in BreakerState
}
FALLBACK: Final = Outcome(OutcomeClass.NOT_PERMITTED, "fallback")
_CALL_TIMEOUT: Final = Outcome(OutcomeClass.TRANSPORT, TransportErrorKind.TIMEOUT.value)


class ResilienceHooks:
    """One user's breaker (maybe shared), timeout and chaos state."""

    def __init__(
        self,
        emit: Emit,
        *,
        breaker: CircuitBreaker | None = None,
        chaos: UserChaos | None = None,
        base_url: str = "",
        call_timeout_s: float = 0.0,
        count_injected: bool = True,
        forget_session: Callable[[], None] | None = None,
        rng: random.Random | None = None,
        wall_clock: Clock = time.time,
    ) -> None:
        self.breaker = breaker
        self.chaos = chaos
        # A user may set this: it runs instead of a refused call, and the
        # call still counts as not permitted (never as a success).
        self.fallback: Send | None = None
        self._emit = emit
        self._base_url = base_url
        self._timeout_s = call_timeout_s
        self._count_injected = count_injected
        self._forget_session = forget_session
        self._rng = rng or random.Random()
        self._wall_clock = wall_clock
        self._prefix = AFFECTED_PREFIX if chaos is not None and chaos.affected else ""
        self._in_call = False
        self._storming = False
        self._outcome: Outcome = OK
        self._latency_us = 0
        self._injected = False

    # CallHooks --------------------------------------------------------------------

    def wrap_transport(self, transport: Transport) -> Transport:
        if self.chaos is None:
            return transport
        return ChaosTransport(transport, self._base_url, self.chaos, rng=self._rng)

    def around_call(self, send: Send, call: Call) -> None:
        """One workload call through the breaker, with call-level chaos."""
        chaos = self.chaos
        if chaos is not None and chaos.session_abandon is not None:
            self._maybe_abandon_session(chaos)
        outcome = self._guarded(send, call)
        if chaos is not None and chaos.retry_storm is not None and not outcome.ok:
            self._storm(send, call, chaos)

    def observe(self, record: CallRecord, context: dict[str, Any]) -> str:
        """Note a record of the call in flight; return the name to report."""
        chaos = self.chaos
        if chaos is not None:
            tag = chaos.injected
            if self._storming:
                tag = f"{tag}+retry_storm" if tag else "retry_storm"
            if tag:
                chaos.injected = ""
                context["injected"] = tag
                self._injected = True
        if self._in_call:
            # The call's first failing outcome is the one the breaker judges.
            # The client reports successes with the OK instance.
            if self._outcome is OK:
                self._outcome = record.outcome
            self._latency_us += record.latency_us
        return self._prefix + record.name if self._prefix else record.name

    def ends_session(self) -> bool:
        """False when the user should leave without DELETE (session abandonment)."""
        chaos = self.chaos
        if chaos is None or chaos.session_abandon is None:
            return True
        if hits(chaos.session_abandon, self._rng.random):
            chaos.injected = HookKind.SESSION_ABANDON.value
            return False
        return True

    def set_affected(self, affected: bool) -> None:
        """Name this user's requests apart (or not) from now on."""
        if self.chaos is not None:
            self.chaos.affected = affected
        self._prefix = AFFECTED_PREFIX if affected else ""

    # One guarded call -------------------------------------------------------------

    def _guarded(self, send: Send, call: Call) -> Outcome:
        breaker = self.breaker
        token = 0
        if breaker is not None:
            token = breaker.acquire()
            if token == REFUSED:
                return self._refuse(send, call, breaker)
        self._outcome, self._latency_us, self._injected = OK, 0, False
        self._in_call = True
        try:
            if self._timeout_s > 0:
                self._send_bounded(send, call)
            else:
                send(call)
        except GreenletExit:
            if breaker is not None:
                breaker.release(token)
            raise
        finally:
            self._in_call = False
        if breaker is None:
            return self._outcome
        if self._injected and not self._count_injected:
            breaker.release(token)
        else:
            breaker.record(token, self._outcome, self._latency_us)
        return self._outcome

    def _send_bounded(self, send: Send, call: Call) -> None:
        """Send, ending the call after the per-call timeout.

        A timeout that fires inside the transport comes back as a transport
        timeout record from the client; one that fires elsewhere (in a
        chaos delay, say) is recorded here under the call's name.
        """
        timer = gevent.Timeout(self._timeout_s)
        timer.start()
        started_s = self._wall_clock()
        try:
            send(call)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            latency_us = int((self._wall_clock() - started_s) * 1e6)
            record = CallRecord(call.name, _CALL_TIMEOUT, started_s, latency_us, 0, 0)
            self._emit(record)
        finally:
            timer.close()

    def _refuse(self, send: Send, call: Call, breaker: CircuitBreaker) -> Outcome:
        outcome = _REFUSALS[breaker.state]
        if self.fallback is not None:
            outcome = FALLBACK
            self.fallback(call)
        self._emit(CallRecord(call.name, outcome, self._wall_clock(), 0, 0, 0))
        return outcome

    # Call-level chaos -------------------------------------------------------------

    def _maybe_abandon_session(self, chaos: UserChaos) -> None:
        hook = chaos.session_abandon
        if hook is None or self._forget_session is None:
            return
        if hits(hook, self._rng.random):
            # The next call opens a new session; the old one is left on the
            # target, never deleted, as a crashed client would leave it.
            self._forget_session()
            chaos.injected = HookKind.SESSION_ABANDON.value

    def _storm(self, send: Send, call: Call, chaos: UserChaos) -> None:
        hook = chaos.retry_storm
        if hook is None or not hits(hook, self._rng.random):
            return
        self._storming = True
        try:
            for _ in range(hook.retries):
                outcome = self._guarded(send, call)
                if outcome.ok or outcome.cls is OutcomeClass.NOT_PERMITTED:
                    break
        finally:
            self._storming = False
