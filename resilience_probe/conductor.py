"""Runs the experiments of a chaos file on schedule, in the master.

Theory of operation. :class:`Conductor` is a pure state machine over the
experiments of a :class:`~resilience_probe.experiments.ChaosPlan`, each
PENDING, then RUNNING, then DONE (or FAILED when it could not start). Its
driver calls :meth:`Conductor.tick` with the run so far; a tick

1. starts each pending experiment whose start offset has come: server-side
   faults first (through the admin endpoint), then the client-side hooks
   (a message to every worker), then a ``chaos.start`` mark;
2. ends each running experiment whose time is up, or whose guardrails are
   breached over the experiment so far (``chaos.guardrail``), in the
   reverse order, with a ``chaos.end`` mark saying why.

Marks go onto the run's time line; the resilience metrics read every time
from them, so the report shows when faults were really in force, not when
they were planned. :meth:`Conductor.stop` ends whatever still runs when the
test stops: a fault is never left switched on after a test.

Everything that touches the outside is an :class:`Actions` object, and the
clock is injected, so tests drive a whole schedule in microseconds.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from loadgen.aggregator.results import RunSnapshot
from resilience_probe.experiments import ChaosPlan, Experiment
from resilience_probe.hypothesis import first_breach, intervals_within, judge, span

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

START_EVENT = "chaos.start"
END_EVENT = "chaos.end"
GUARDRAIL_EVENT = "chaos.guardrail"
FAILED_EVENT = "chaos.failed"
APPLIED_EVENT = "chaos.applied"
CHAOS_EVENTS = (START_EVENT, END_EVENT, GUARDRAIL_EVENT, FAILED_EVENT, APPLIED_EVENT)


class ActionError(Exception):
    """An experiment could not be switched (the admin endpoint failed, say)."""


class Actions(Protocol):
    """What the conductor does to the world."""

    def start_server_faults(self, experiment: Experiment) -> None: ...

    def end_server_faults(self, experiment: Experiment) -> None: ...

    def activate_hooks(self, experiment: Experiment) -> None: ...

    def deactivate_hooks(self, experiment: Experiment) -> None: ...

    def mark(self, kind: str, attrs: dict[str, Any]) -> None: ...


class Phase(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class _Slot:
    experiment: Experiment
    phase: Phase = Phase.PENDING
    started_at_s: float = 0.0


class Conductor:
    """Starts and ends experiments as the run's clock passes their times."""

    def __init__(
        self,
        plan: ChaosPlan,
        actions: Actions,
        *,
        clock: Clock,
        started_at_s: float | None = None,
    ) -> None:
        self.plan = plan
        self._actions = actions
        self._clock = clock
        self._started_at_s = clock() if started_at_s is None else started_at_s
        self._slots = sorted(
            (_Slot(e) for e in plan.experiments), key=lambda s: s.experiment.start_s
        )

    @property
    def done(self) -> bool:
        return all(s.phase in (Phase.DONE, Phase.FAILED) for s in self._slots)

    def phase_of(self, name: str) -> Phase:
        return next(s.phase for s in self._slots if s.experiment.name == name)

    def elapsed_s(self) -> float:
        return self._clock() - self._started_at_s

    def seconds_until_next(self) -> float:
        """Until the next start or end; 0 when one is due now."""
        elapsed = self.elapsed_s()
        due = [
            (s.experiment.start_s if s.phase is Phase.PENDING else s.experiment.end_s)
            - elapsed
            for s in self._slots
            if s.phase in (Phase.PENDING, Phase.RUNNING)
        ]
        return max(min(due, default=0.0), 0.0)

    def tick(self, snapshot: RunSnapshot | None = None) -> None:
        """Start what is due, end what is over or breached."""
        elapsed = self.elapsed_s()
        for slot in self._slots:
            if slot.phase is Phase.RUNNING:
                self._check_running(slot, elapsed, snapshot)
        for slot in self._slots:
            if slot.phase is Phase.PENDING and elapsed >= slot.experiment.start_s:
                self._start(slot)

    def stop(self, reason: str = "test stopped") -> None:
        """End every running experiment now; pending ones never start."""
        for slot in self._slots:
            if slot.phase is Phase.RUNNING:
                self._end(slot, reason)
            elif slot.phase is Phase.PENDING:
                slot.phase = Phase.DONE

    # Steps ------------------------------------------------------------------------

    def _check_running(
        self, slot: _Slot, elapsed: float, snapshot: RunSnapshot | None
    ) -> None:
        if elapsed >= slot.experiment.end_s:
            self._end(slot, "completed")
            return
        breach = self._guardrail_breach(slot, snapshot)
        if breach is not None:
            self._end(slot, "guardrail")

    def _guardrail_breach(
        self, slot: _Slot, snapshot: RunSnapshot | None
    ) -> str | None:
        spec = slot.experiment.guardrails
        if spec is None or snapshot is None:
            return None
        intervals = intervals_within(snapshot, slot.started_at_s, self._clock())
        if not intervals:
            return None
        breach = first_breach(judge(spec, span(intervals)))
        if breach is None:
            return None
        label = breach.threshold.label
        attrs = {
            "experiment": slot.experiment.name,
            "threshold": label,
            "observed": breach.observed,
            "limit": breach.threshold.limit,
        }
        self._actions.mark(GUARDRAIL_EVENT, attrs)
        logger.warning(
            "Chaos: guardrail %s breached (observed %s): ending experiment %r early",
            label,
            breach.observed,
            slot.experiment.name,
        )
        return label

    def _start(self, slot: _Slot) -> None:
        experiment = slot.experiment
        try:
            if experiment.server:
                self._actions.start_server_faults(experiment)
            if experiment.hooks:
                self._actions.activate_hooks(experiment)
        except ActionError as exc:
            slot.phase = Phase.FAILED
            self._undo(experiment)
            self._actions.mark(
                FAILED_EVENT, {"experiment": experiment.name, "error": str(exc)}
            )
            logger.error(
                "Chaos: experiment %r could not start: %s", experiment.name, exc
            )
            return
        slot.phase = Phase.RUNNING
        slot.started_at_s = self._clock()
        self._actions.mark(START_EVENT, start_attrs(self.plan, experiment))
        logger.info(
            "Chaos: experiment %r started (%s)", experiment.name, experiment.kind
        )

    def _end(self, slot: _Slot, reason: str) -> None:
        experiment = slot.experiment
        slot.phase = Phase.DONE
        error = self._undo(experiment)
        attrs: dict[str, Any] = {"experiment": experiment.name, "reason": reason}
        if error:
            attrs["error"] = error
        self._actions.mark(END_EVENT, attrs)
        logger.info("Chaos: experiment %r ended (%s)", experiment.name, reason)

    def _undo(self, experiment: Experiment) -> str:
        """Switch the experiment off; say what could not be switched off."""
        errors = []
        if experiment.hooks:
            try:
                self._actions.deactivate_hooks(experiment)
            except ActionError as exc:
                errors.append(str(exc))
        if experiment.server:
            try:
                self._actions.end_server_faults(experiment)
            except ActionError as exc:
                logger.error(
                    "Chaos: the server faults of %r may still be on: %s",
                    experiment.name,
                    exc,
                )
                errors.append(str(exc))
        return "; ".join(errors)


def start_attrs(plan: ChaosPlan, experiment: Experiment) -> dict[str, Any]:
    """What the start mark records: enough to compute the metrics from it."""
    server = ",".join(f"{k}={v}" for k, v in experiment.server.items())
    return {
        "experiment": experiment.name,
        "kind": experiment.kind,
        "planned_start_s": experiment.start_s,
        "planned_duration_s": experiment.duration_s,
        "blast_radius": experiment.blast_radius,
        "intensity": experiment.intensity,
        "hooks": ",".join(h.kind.value for h in experiment.hooks),
        "server": server,
        "affected_radius": plan.affected_radius,
        "recovery_tolerance": plan.recovery_tolerance,
        "error_budget": plan.error_budget,
    }
