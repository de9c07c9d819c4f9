"""Steady-state hypotheses and guardrails: SLA thresholds over one phase.

A hypothesis is written in the SLA file format, but instead of the whole
run (or rolling windows) each threshold is judged over one span of the run
at a time: before, during or after an experiment. The span is a list of
whole report intervals merged exactly, as the aggregator merges a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loadgen.aggregator.results import IntervalResult, ResultSet, RunSnapshot
from sla.spec import SlaSpec, Threshold
from sla.units import format_value


@dataclass(frozen=True)
class Judgement:
    """One threshold over one span."""

    threshold: Threshold
    observed: float | None
    passed: bool

    def as_json(self) -> dict[str, Any]:
        quantity = self.threshold.metric.quantity
        return {
            "label": self.threshold.label,
            "metric": self.threshold.metric.name,
            "target": self.threshold.target,
            "limit": self.threshold.limit,
            "observed": self.observed,
            "observed_text": format_value(self.observed, quantity),
            "passed": self.passed,
        }


def intervals_within(
    snapshot: RunSnapshot, start_s: float, end_s: float
) -> tuple[IntervalResult, ...]:
    """The intervals lying wholly inside [start_s, end_s]."""
    # A hundredth of a millisecond absorbs float noise in interval edges.
    slack_s = 1e-5
    return tuple(
        i
        for i in snapshot.intervals
        if i.start_s >= start_s - slack_s and i.end_s <= end_s + slack_s
    )


def span(intervals: Sequence[IntervalResult]) -> ResultSet:
    return ResultSet.merge(list(intervals))


def judge(spec: SlaSpec, results: ResultSet) -> tuple[Judgement, ...]:
    """Every threshold of ``spec`` over ``results``; no data fails."""
    judgements = []
    for threshold in spec.thresholds:
        metric = threshold.metric
        assert metric.of_requests is not None, "hypotheses hold request metrics"
        selected = results.select(threshold.target)
        value = metric.of_requests(selected) if selected.count else None
        passed = value is not None and threshold.holds(value)
        judgements.append(Judgement(threshold, value, passed))
    return tuple(judgements)


def first_breach(judgements: Sequence[Judgement]) -> Judgement | None:
    """The first threshold with data that does not hold (no data is no breach)."""
    return next(
        (j for j in judgements if j.observed is not None and not j.passed), None
    )
