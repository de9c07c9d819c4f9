"""The breakers and chaos state of one Locust process.

One :class:`ResilienceRuntime` per Locust environment: it numbers the
users as they start, gives each its :class:`~resilience_probe.guard.
ResilienceHooks` (a breaker of its own, the process's shared one, or none,
per ``--breaker``), turns experiments' client-side hooks on and off in the
users inside each blast radius, and reports breaker transitions as
time-line events (kind ``breaker.transition``) that travel to the
aggregator with the worker's reports.
"""

from __future__ import annotations

import enum
import itertools
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

from resilience_probe.breaker import (
    BreakerConfig,
    BreakerState,
    CircuitBreaker,
    Transition,
)
from resilience_probe.chaos import ActiveHooks, Hook, UserChaos, in_blast_radius
from resilience_probe.guard import Emit, ResilienceHooks

logger = logging.getLogger(__name__)

TRANSITION_EVENT: Final = "breaker.transition"
EmitEvent = Callable[[str, dict[str, Any]], None]

# A breaker in one of these states stops or limits calls.
NOT_CLOSED: Final = frozenset(
    {BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.FORCED_OPEN}
)


class BreakerMode(enum.StrEnum):
    USER = "user"
    WORKER = "worker"
    METRICS_ONLY = "metrics-only"
    OFF = "off"


@dataclass(frozen=True)
class ResilienceSettings:
    """What the options and the chaos file ask of this process."""

    breaker_mode: BreakerMode = BreakerMode.USER
    # The chaos file's breaker section; else the user class's
    # `breaker_config`, else the defaults.
    breaker: BreakerConfig | None = None
    call_timeout_s: float = 0.0
    count_injected: bool = True
    # Whether users get a chaos state at all (a chaos file was given).
    chaos: bool = False
    affected_radius: float = 0.0


@dataclass(frozen=True)
class ActiveExperiment:
    name: str
    blast_radius: float
    hooks: tuple[Hook, ...]


def _no_event(kind: str, attrs: dict[str, Any]) -> None:
    """Where events go when no results hub is connected."""


class ResilienceRuntime:
    """Numbers users, builds their hooks, switches experiments on and off."""

    def __init__(
        self,
        settings: ResilienceSettings | None = None,
        *,
        emit_event: EmitEvent = _no_event,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or ResilienceSettings()
        self._emit_event = emit_event
        self._clock = clock
        self._indices = itertools.count()
        self._users: weakref.WeakSet[ResilienceHooks] = weakref.WeakSet()
        self._active: dict[str, ActiveExperiment] = {}
        self._shared: CircuitBreaker | None = None
        self._not_closed: set[str] = set()

    # Users ------------------------------------------------------------------------

    def hooks_for(self, user: Any, emit: Emit) -> ResilienceHooks | None:
        """The hooks of a newly started user (None: breaker off, no chaos)."""
        index = next(self._indices)
        config = (
            self.settings.breaker
            or getattr(user, "breaker_config", None)
            or BreakerConfig()
        )
        breaker = self._breaker_for(index, config)
        chaos = self._chaos_for(index) if self.settings.chaos else None
        if breaker is None and chaos is None and self.settings.call_timeout_s <= 0:
            return None
        hooks = ResilienceHooks(
            emit,
            breaker=breaker,
            chaos=chaos,
            base_url=str(getattr(user, "host", "") or ""),
            call_timeout_s=self.settings.call_timeout_s,
            count_injected=self.settings.count_injected,
            forget_session=lambda: user.client.session.forget(),
        )
        self._users.add(hooks)
        return hooks

    def _breaker_for(self, index: int, config: BreakerConfig) -> CircuitBreaker | None:
        mode = self.settings.breaker_mode
        if mode is BreakerMode.OFF:
            return None
        if mode is BreakerMode.WORKER:
            if self._shared is None:
                self._shared = self._new_breaker("worker", config)
            return self._shared
        state = (
            BreakerState.METRICS_ONLY
            if mode is BreakerMode.METRICS_ONLY
            else BreakerState.CLOSED
        )
        return self._new_breaker(f"user-{index}", config, state)

    def _new_breaker(
        self,
        name: str,
        config: BreakerConfig,
        state: BreakerState = BreakerState.CLOSED,
    ) -> CircuitBreaker:
        return CircuitBreaker(
            config,
            name=name,
            clock=self._clock,
            on_transition=self._on_transition,
            state=state,
        )

    def _chaos_for(self, index: int) -> UserChaos:
        chaos = UserChaos(index, in_blast_radius(index, self.settings.affected_radius))
        chaos.apply(self._hooks_of(index))
        return chaos

    @property
    def users(self) -> int:
        return len(self._users)

    # Experiments ------------------------------------------------------------------

    def set_affected_radius(self, radius: float) -> None:
        """The run's largest blast radius: users inside it are named apart."""
        if radius == self.settings.affected_radius:
            return
        self.settings = replace(self.settings, affected_radius=radius)
        for hooks in list(self._users):
            if hooks.chaos is not None:
                hooks.set_affected(in_blast_radius(hooks.chaos.index, radius))

    def activate(self, name: str, blast_radius: float, hooks: tuple[Hook, ...]) -> int:
        """Turn an experiment's hooks on; return how many users it reaches."""
        self._active[name] = ActiveExperiment(name, blast_radius, hooks)
        return self._refresh_users()

    def deactivate(self, name: str) -> None:
        if self._active.pop(name, None) is not None:
            self._refresh_users()

    def _refresh_users(self) -> int:
        reached = 0
        for user in list(self._users):
            chaos = user.chaos
            if chaos is None:
                continue
            active = self._hooks_of(chaos.index)
            chaos.apply(active)
            reached += not active.empty
        return reached

    def _hooks_of(self, index: int) -> ActiveHooks:
        hooks = tuple(
            hook
            for experiment in self._active.values()
            if in_blast_radius(index, experiment.blast_radius)
            for hook in experiment.hooks
        )
        return ActiveHooks.of(hooks)

    # Breaker events ---------------------------------------------------------------

    def _on_transition(self, transition: Transition) -> None:
        logger.debug(
            "Breaker %s: %s -> %s (%s)",
            transition.breaker,
            transition.from_state.value,
            transition.to_state.value,
            transition.reason,
        )
        self._emit_event(TRANSITION_EVENT, transition_attrs(transition))
        self._count_not_closed(transition)

    def _count_not_closed(self, transition: Transition) -> None:
        """Log when the first breaker opens and when the last one closes."""
        before = bool(self._not_closed)
        if transition.to_state in NOT_CLOSED:
            self._not_closed.add(transition.breaker)
        else:
            self._not_closed.discard(transition.breaker)
        if before != bool(self._not_closed):
            if self._not_closed:
                logger.info(
                    "Breakers: %s opened (%s)", transition.breaker, transition.reason
                )
            else:
                logger.info("Breakers: all closed again")


def transition_attrs(transition: Transition) -> dict[str, Any]:
    """A transition as event attributes (scalars only, as the wire requires)."""
    return {
        "breaker": transition.breaker,
        "from": transition.from_state.value,
        "to": transition.to_state.value,
        "reason": transition.reason,
        "failure_rate": round(transition.failure_rate, 4),
        "slow_call_rate": round(transition.slow_call_rate, 4),
        "calls": transition.calls,
        "open_wait_s": round(transition.open_wait_s, 3),
    }
