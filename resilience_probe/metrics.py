"""Resilience metrics as SLA metrics and as the report's ``resilience`` section.

:func:`register` (called once, at import of the Locust glue) adds run
metrics to the SLA's registry, each judged once at the end of the run:

    resilience.time_to_open            time   fault start to the first breaker open
    resilience.time_to_open_spread     time   last minus first breaker's first opening
    resilience.time_to_recover         time   fault end to breakers closed, errors back
    resilience.flaps                   count  re-openings after a close
    resilience.not_permitted_ratio     ratio  refused calls, fault start to horizon
    resilience.control_p99_increase    ratio  control group p99 during / before - 1
    resilience.control_error_rate      ratio  control group error rate during
    resilience.affected_error_rate     ratio  affected users' error rate during

A threshold's ``target`` names an experiment (a glob); without one, the
worst value over the experiments that have one is judged. A named
experiment without a value (its breakers never opened, say) is "no data",
which fails, like a target glob that matches nothing.

It also fills the report's ``resilience`` section (schema: sla/schema).
"""

from __future__ import annotations

import fnmatch
import weakref
from collections.abc import Callable
from typing import Any, Final

from loadgen.aggregator.results import NameResult, RunSnapshot
from resilience_probe.analysis import ExperimentResult, Phase, analyse, group_of, spread
from resilience_probe.conductor import CHAOS_EVENTS
from resilience_probe.experiments import ChaosPlan
from resilience_probe.hypothesis import judge
from resilience_probe.runtime import TRANSITION_EVENT
from sla.metrics import METRICS, Metric, MetricRegistry
from sla.units import Quantity

Json = dict[str, Any]
Value = Callable[[ExperimentResult], float | None]

PERCENTILES: Final = (50.0, 95.0, 99.0)
TARGET_HELP: Final = "an experiment name from the chaos file (a glob)"

_cache: weakref.WeakKeyDictionary[RunSnapshot, list[ExperimentResult]] = (
    weakref.WeakKeyDictionary()
)


def results_of(snapshot: RunSnapshot) -> list[ExperimentResult]:
    """The analysis of a snapshot, computed once however many metrics read it."""
    results = _cache.get(snapshot)
    if results is None:
        results = _cache[snapshot] = analyse(snapshot)
    return results


# SLA metrics ----------------------------------------------------------------------


def _worst(value: Value) -> Callable[[RunSnapshot, str | None], float | None]:
    """The highest value over the chosen experiments (higher is worse for all)."""

    def compute(snapshot: RunSnapshot, target: str | None) -> float | None:
        chosen = [
            r
            for r in results_of(snapshot)
            if target is None or fnmatch.fnmatchcase(r.name, target)
        ]
        values = [v for r in chosen if (v := value(r)) is not None]
        if not values or (target is not None and len(values) < len(chosen)):
            return None
        return max(values)

    return compute


def _time(name: str, text: str, value: Value) -> Metric:
    return _metric(name, Quantity.TIME, "s", text, value)


def _ratio(name: str, text: str, value: Value) -> Metric:
    return _metric(name, Quantity.RATIO, "ratio", text, value)


def _metric(
    name: str, quantity: Quantity, unit: str, text: str, value: Value
) -> Metric:
    return Metric(
        name=f"resilience.{name}",
        quantity=quantity,
        report_unit=unit,
        description=text,
        of_run=_worst(value),
        run_target_help=TARGET_HELP,
    )


def resilience_metrics() -> list[Metric]:
    """The run metrics this module offers to SLA files."""
    return [
        _time("time_to_open", "fault start to the first breaker opening",
              lambda r: r.time_to_open_s),
        _time("time_to_open_spread", "spread of the breakers' first openings",
              lambda r: r.time_to_open_spread_s),
        _time("time_to_recover", "fault end to breakers closed, errors back",
              lambda r: r.time_to_recover_s),
        _metric("flaps", Quantity.COUNT, "count", "breakers that reopened",
                lambda r: float(r.flaps)),
        _ratio("not_permitted_ratio", "share of calls refused by breakers",
               lambda r: r.not_permitted_ratio),
        _ratio("control_p99_increase", "control p99 during over before, minus 1",
               lambda r: r.control_p99_increase),
        _ratio("control_error_rate", "control group error rate during",
               lambda r: r.error_rate("during", affected=False)),
        _ratio("affected_error_rate", "affected users' error rate during",
               lambda r: r.error_rate("during", affected=True)),
    ]  # fmt: skip


def register(registry: MetricRegistry = METRICS) -> None:
    """Make the resilience metrics and the not_permitted outcome nameable."""
    for metric in resilience_metrics():
        registry.register(metric)
    registry.register_outcome("not_permitted")


# The report section ---------------------------------------------------------------


def build_section(snapshot: RunSnapshot, plan: ChaosPlan | None = None) -> Json:
    """The report's ``resilience`` section for one run."""
    results = results_of(snapshot)
    return {
        "experiments": [_experiment(r, snapshot, plan) for r in results],
        "breakers": _breakers(snapshot),
        "journal": journal(snapshot),
    }


def _experiment(
    result: ExperimentResult, snapshot: RunSnapshot, plan: ChaosPlan | None
) -> Json:
    start = snapshot.start_s
    span = result.span
    entry: Json = {
        "name": result.name,
        "kind": span.attrs.get("kind"),
        "start_s": _round(span.start_s - start),
        "end_s": _round(span.end_s - start),
        "end_reason": span.end_reason,
        "blast_radius": span.attrs.get("blast_radius"),
        "time_to_open_s": _round(result.time_to_open_s),
        "time_to_open_spread_s": spread(result.open_offsets_s),
        "breakers_opened": len(result.open_offsets_s),
        "time_to_recover_s": _round(result.time_to_recover_s),
        "breakers_closed_after_s": _round(result.breakers_closed_s),
        "errors_back_after_s": _round(result.errors_back_s),
        "flaps": result.flaps,
        "not_permitted_ratio": _round(result.not_permitted_ratio, 4),
        "error_budget_burn_rate": _round(result.burn_rate, 3),
        "control_p99_increase": _round(result.control_p99_increase, 4),
        "phases": {p.name: _phase(p, start) for p in result.phases},
        "groups": _groups(result),
    }
    experiment = plan.experiment(result.name) if plan is not None else None
    if experiment is not None and experiment.steady_state is not None:
        entry["hypothesis"] = {
            p.name: _hypothesis(experiment.steady_state, p) for p in result.phases
        }
    return entry


def _phase(phase: Phase, run_start_s: float) -> Json:
    total = phase.total
    summary = _summary(total)
    refused = total.outcome_counts.get("not_permitted", 0)
    summary.update(
        start_s=_round(phase.start_s - run_start_s),
        end_s=_round(phase.end_s - run_start_s),
        rps=_round(total.rps, 3),
        not_permitted_ratio=_round(refused / total.count, 4) if total.count else None,
    )
    return summary


def _summary(result: NameResult) -> Json:
    latency = None
    if result.count:
        values = result.percentiles_us(PERCENTILES)
        latency = {f"p{p:g}": round(values[p] / 1000, 3) for p in PERCENTILES}
    return {
        "count": result.count,
        "error_rate": _round(result.error_rate(), 4) if result.count else None,
        "latency_ms": latency,
    }


def _groups(result: ExperimentResult) -> Json:
    return {
        label: {p.name: _summary(group_of(p.results, affected)) for p in result.phases}
        for label, affected in (("control", False), ("affected", True))
    }


def _hypothesis(spec: Any, phase: Phase) -> Json:
    if not phase.total.count:
        return {
            "passed": None,
            "note": "no complete interval in this phase",
            "thresholds": [],
        }
    judgements = judge(spec, phase.results)
    return {
        "passed": all(j.passed for j in judgements),
        "thresholds": [j.as_json() for j in judgements],
    }


def _breakers(snapshot: RunSnapshot) -> Json:
    transitions = snapshot.events_of([TRANSITION_EVENT])
    total = snapshot.cumulative.total
    refused = total.outcome_counts.get("not_permitted", 0)
    return {
        "transitions": len(transitions),
        "breakers_with_transitions": len(
            {(e.worker_id, e.attrs.get("breaker")) for e in transitions}
        ),
        "openings": sum(1 for e in transitions if e.attrs.get("to") == "open"),
        "not_permitted": refused,
        "not_permitted_ratio": _round(refused / total.count, 4)
        if total.count
        else None,
    }


def journal(snapshot: RunSnapshot) -> list[Json]:
    """What was injected when: the chaos marks, in time order."""
    start = snapshot.start_s
    return [
        {
            "at_s": _round(e.time_s - start),
            "event": e.kind,
            "worker": e.worker_id,
            **dict(e.attrs),
        }
        for e in snapshot.events_of(CHAOS_EVENTS)
    ]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
