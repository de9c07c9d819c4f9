"""Resilience metrics computed from the aggregated run and its time line.

Everything here reads a finished :class:`RunSnapshot`: the experiments'
``chaos.start`` and ``chaos.end`` marks (put there by the conductor when the
faults were really switched), the breakers' ``breaker.transition`` events
(sent by every worker with its reports), and the per-interval results.

Per experiment, with *fault start* and *fault end* its two marks and the
*horizon* the next experiment's start (or the end of the run):

- phases: *before* (from the recovery after the previous experiment, or the
  second interval of the run, to fault start), *during* (fault start to fault end)
  and *after* (from recovery, or fault end when it never recovered, to the
  horizon). Each holds only whole report intervals.
- ``time_to_open_s``: fault start to the first breaker opening; its spread
  over the breakers that opened (min, p50, p90, max of each one's first).
- ``time_to_recover_s``: fault end to the later of (a) the moment no
  breaker is open or half-open any more and (b) the end of the first
  interval whose error rate, refused calls left out, is back within the
  tolerance of the *before* phase's.
- ``flaps``: breakers that closed and then opened again: each breaker's
  openings from closed, beyond its first, between fault start and horizon.
- ``not_permitted_ratio``: refused calls over all calls, fault start to
  horizon; ``error_budget_burn_rate``: that span's error rate (refusals
  included) over the error budget.
- control group versus affected users: requests named with the affected
  prefix are the affected users', the others the control group's; p99 and
  error rate of each per phase, and ``control_p99_increase``: the control
  group's p99 during the experiment over its p99 before, minus one.

Breakers in metrics-only mode count their ``would_open`` and ``would_close``
reports as openings and closings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loadgen.aggregator.results import (
    NameResult,
    ResultSet,
    RunSnapshot,
    TimedEvent,
)
from loadgen.mcp.outcomes import OutcomeClass
from resilience_probe.conductor import END_EVENT, START_EVENT
from resilience_probe.guard import AFFECTED_PREFIX
from resilience_probe.hypothesis import intervals_within, span
from resilience_probe.runtime import TRANSITION_EVENT

NOT_PERMITTED = OutcomeClass.NOT_PERMITTED.value
_OPEN_STATES = frozenset({"open", "half_open", "forced_open"})
_CLOSED_STATES = frozenset({"closed", "disabled", "metrics_only"})


@dataclass(frozen=True)
class ExperimentSpan:
    """When one experiment's faults were really in force (epoch seconds)."""

    name: str
    start_s: float
    end_s: float
    end_reason: str
    horizon_s: float
    attrs: dict[str, Any] = field(default_factory=dict)

    def setting(self, key: str, default: float) -> float:
        value = self.attrs.get(key, default)
        return float(value) if isinstance(value, int | float) else default


@dataclass(frozen=True)
class BreakerChange:
    breaker: tuple[str, str]
    time_s: float
    opens: bool
    from_closed: bool


@dataclass(frozen=True)
class Phase:
    """One phase of an experiment, merged over its whole intervals."""

    name: str
    start_s: float
    end_s: float
    results: ResultSet

    @property
    def total(self) -> NameResult:
        return self.results.total


@dataclass(frozen=True)
class ExperimentResult:
    """Everything the report and the SLA metrics say about one experiment."""

    span: ExperimentSpan
    phases: tuple[Phase, ...]
    time_to_open_s: float | None
    open_offsets_s: tuple[float, ...]
    breakers_seen: int
    time_to_recover_s: float | None
    breakers_closed_s: float | None
    errors_back_s: float | None
    flaps: int
    not_permitted_ratio: float | None
    burn_rate: float | None

    @property
    def name(self) -> str:
        return self.span.name

    def phase(self, name: str) -> Phase:
        return next(p for p in self.phases if p.name == name)

    @property
    def time_to_open_spread_s(self) -> float | None:
        offsets = self.open_offsets_s
        return max(offsets) - min(offsets) if offsets else None

    def group(self, phase: str, affected: bool) -> NameResult:
        return group_of(self.phase(phase).results, affected)

    @property
    def control_p99_increase(self) -> float | None:
        before = self.group("before", affected=False)
        during = self.group("during", affected=False)
        if not (before.count and during.count):
            return None
        baseline_us = max(before.percentile_us(99), 1)
        return during.percentile_us(99) / baseline_us - 1.0

    def error_rate(self, phase: str, affected: bool) -> float | None:
        result = self.group(phase, affected)
        return result.error_rate() if result.count else None


# Reading the time line ------------------------------------------------------------


def experiment_spans(snapshot: RunSnapshot) -> list[ExperimentSpan]:
    """Each started experiment, with its end and horizon, in start order."""
    starts = snapshot.events_of([START_EVENT])
    ends = snapshot.events_of([END_EVENT])
    spans = []
    for i, start in enumerate(starts):
        name = str(start.attrs.get("experiment", ""))
        end = next(
            (
                e
                for e in ends
                if e.attrs.get("experiment") == name and e.time_s >= start.time_s
            ),
            None,
        )
        horizon = starts[i + 1].time_s if i + 1 < len(starts) else snapshot.end_s
        end_s = end.time_s if end is not None else snapshot.end_s
        reason = str(end.attrs.get("reason", "")) if end is not None else "run ended"
        spans.append(
            ExperimentSpan(
                name,
                start.time_s,
                end_s,
                reason,
                max(horizon, end_s),
                dict(start.attrs),
            )
        )
    return spans


def breaker_changes(events: Iterable[TimedEvent]) -> list[BreakerChange]:
    """Openings and closings of every breaker, in time order."""
    changes = []
    for event in events:
        if event.kind != TRANSITION_EVENT:
            continue
        opens = _opens(event.attrs)
        if opens is None:
            continue
        key = (event.worker_id, str(event.attrs.get("breaker", "")))
        from_closed = (
            event.attrs.get("from") == "closed"
            or event.attrs.get("reason") == "would_open"
        )
        changes.append(BreakerChange(key, event.time_s, opens, from_closed))
    changes.sort(key=lambda c: c.time_s)
    return changes


def _opens(attrs: Any) -> bool | None:
    """True: the breaker stops calls from now on; False: it lets them pass."""
    reason = attrs.get("reason")
    if reason == "would_open":
        return True
    if reason == "would_close":
        return False
    to_state = attrs.get("to")
    if to_state in _OPEN_STATES:
        return True
    if to_state in _CLOSED_STATES:
        return False
    return None


# Metrics --------------------------------------------------------------------------


def analyse(snapshot: RunSnapshot) -> list[ExperimentResult]:
    """The resilience metrics of every experiment of the run."""
    changes = breaker_changes(snapshot.events)
    spans = experiment_spans(snapshot)
    run_start = _steady_start(snapshot)
    results: list[ExperimentResult] = []
    for experiment in spans:
        before_start = _settled_after(results[-1]) if results else run_start
        results.append(_analyse_one(snapshot, experiment, before_start, changes))
    return results


def _settled_after(previous: ExperimentResult) -> float:
    """Where the next baseline may start: once the previous one recovered."""
    recover_s = previous.time_to_recover_s
    return previous.span.end_s + (recover_s if recover_s is not None else 0.0)


def _steady_start(snapshot: RunSnapshot) -> float:
    """Where a baseline may start: after the first interval (users starting)."""
    intervals = snapshot.intervals
    return intervals[1].start_s if len(intervals) > 1 else snapshot.start_s


def _analyse_one(
    snapshot: RunSnapshot,
    experiment: ExperimentSpan,
    before_start_s: float,
    changes: Sequence[BreakerChange],
) -> ExperimentResult:
    before = _phase(snapshot, "before", before_start_s, experiment.start_s)
    during = _phase(snapshot, "during", experiment.start_s, experiment.end_s)
    offsets = _first_open_offsets(experiment, changes)
    closed_at = _breakers_closed_at(changes, experiment.end_s, experiment.horizon_s)
    tolerance = experiment.setting("recovery_tolerance", 0.01)
    errors_at = _errors_back_at(
        snapshot, experiment, _target_error_rate(before.total) or 0.0, tolerance
    )
    recovered = (
        None if closed_at is None or errors_at is None else max(closed_at, errors_at)
    )
    after = _phase(
        snapshot,
        "after",
        recovered if recovered is not None else experiment.end_s,
        experiment.horizon_s,
    )
    whole = span(
        intervals_within(snapshot, experiment.start_s, experiment.horizon_s)
    ).total
    budget = experiment.setting("error_budget", 0.01)
    return ExperimentResult(
        span=experiment,
        phases=(before, during, after),
        time_to_open_s=min(offsets) if offsets else None,
        open_offsets_s=tuple(sorted(offsets)),
        breakers_seen=len({c.breaker for c in changes}),
        time_to_recover_s=None if recovered is None else recovered - experiment.end_s,
        breakers_closed_s=None if closed_at is None else closed_at - experiment.end_s,
        errors_back_s=None if errors_at is None else errors_at - experiment.end_s,
        flaps=_flaps(experiment, changes),
        not_permitted_ratio=_not_permitted_ratio(whole),
        burn_rate=whole.error_rate() / budget if whole.count else None,
    )


def _phase(snapshot: RunSnapshot, name: str, start_s: float, end_s: float) -> Phase:
    return Phase(name, start_s, end_s, span(intervals_within(snapshot, start_s, end_s)))


def _first_open_offsets(
    experiment: ExperimentSpan, changes: Sequence[BreakerChange]
) -> list[float]:
    """Per breaker, seconds from fault start to its first opening (to horizon)."""
    first: dict[tuple[str, str], float] = {}
    for change in changes:
        if experiment.start_s <= change.time_s < experiment.horizon_s and change.opens:
            first.setdefault(change.breaker, change.time_s - experiment.start_s)
    return list(first.values())


def _breakers_closed_at(
    changes: Sequence[BreakerChange], fault_end_s: float, horizon_s: float
) -> float | None:
    """The first moment from fault end on when no breaker is open or half-open."""
    open_now: set[tuple[str, str]] = set()
    moment = fault_end_s
    for change in changes:
        if change.time_s > horizon_s:
            break
        if change.time_s > fault_end_s and not open_now:
            return moment
        if change.opens:
            open_now.add(change.breaker)
        else:
            open_now.discard(change.breaker)
        moment = max(change.time_s, fault_end_s)
    return moment if not open_now else None


def _errors_back_at(
    snapshot: RunSnapshot, experiment: ExperimentSpan, baseline: float, tolerance: float
) -> float | None:
    """End of the first interval from fault end whose error rate is back."""
    for interval in intervals_within(snapshot, experiment.end_s, experiment.horizon_s):
        rate = _target_error_rate(interval.total)
        if rate is not None and rate <= baseline + tolerance:
            return interval.end_s
    return None


def _target_error_rate(result: NameResult) -> float | None:
    """Failures over sent calls: refused calls are in neither."""
    refused = result.outcome_counts.get(NOT_PERMITTED, 0)
    sent = result.count - refused
    if sent <= 0:
        return None
    return (result.failure_count - refused) / sent


def _not_permitted_ratio(result: NameResult) -> float | None:
    if not result.count:
        return None
    return result.outcome_counts.get(NOT_PERMITTED, 0) / result.count


def _flaps(experiment: ExperimentSpan, changes: Sequence[BreakerChange]) -> int:
    openings: dict[tuple[str, str], int] = {}
    for change in changes:
        inside = experiment.start_s <= change.time_s < experiment.horizon_s
        if inside and change.opens and change.from_closed:
            openings[change.breaker] = openings.get(change.breaker, 0) + 1
    return sum(n - 1 for n in openings.values())


def group_of(results: ResultSet, affected: bool) -> NameResult:
    """The affected users' requests (named with the prefix) or the others'."""
    names = [n for n in results.names if n.startswith(AFFECTED_PREFIX) == affected]
    label = "affected" if affected else "control"
    return NameResult.merge(
        label, [results.by_name[n] for n in names], results.start_s, results.end_s
    )


def spread(offsets: Sequence[float]) -> dict[str, float] | None:
    """min, p50, p90 and max of the breakers' first openings."""
    if not offsets:
        return None
    values = np.asarray(offsets, dtype=float)
    return {
        "min": round(float(values.min()), 3),
        "p50": round(float(np.percentile(values, 50)), 3),
        "p90": round(float(np.percentile(values, 90)), 3),
        "max": round(float(values.max()), 3),
    }
