"""Resilience metrics from aggregated runs built through the real recorder and
aggregator (sla.testing.RunBuilder), with marks and breaker events placed at
known times."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from loadgen.aggregator.results import RunSnapshot
from resilience_probe import metrics as resilience
from resilience_probe.analysis import analyse
from resilience_probe.conductor import END_EVENT, START_EVENT
from resilience_probe.experiments import parse_chaos
from resilience_probe.runtime import TRANSITION_EVENT
from sla.metrics import default_registry
from sla.report_json import report_schema
from sla.spec import parse_sla
from sla.testing import RunBuilder, report_of
from sla.verdict import judge

CONTROL = "tools/call echo"
AFFECTED = "chaos: tools/call echo"
FAST_US = 1_000


def transition(
    run: RunBuilder, at_s: float, breaker: str, to: str, frm: str, reason: str = ""
) -> None:
    attrs = {"breaker": breaker, "from": frm, "to": to, "reason": reason}
    run.event(TRANSITION_EVENT, at_s, attrs)


def open_then_close(
    run: RunBuilder, breaker: str, open_s: float, close_s: float
) -> None:
    transition(run, open_s, breaker, "open", "closed", "failure_rate")
    transition(run, close_s - 0.1, breaker, "half_open", "open")
    transition(run, close_s, breaker, "closed", "half_open", "trial_calls_passed")


def outage_run(
    *,
    error_until_s: int = 10,
    extra_events: Any = None,
    affected_slow_during: bool = False,
) -> RunSnapshot:
    """20 s; outage 5-10 s (503s); breakers user-0 and user-1 open and close."""
    run = RunBuilder()
    run.event(START_EVENT, 5.0, {"experiment": "outage", "kind": "server"})
    run.event(END_EVENT, 10.0, {"experiment": "outage", "reason": "completed"})
    open_then_close(run, "user-0", 5.4, 11.2)
    open_then_close(run, "user-1", 5.9, 12.0)
    if extra_events is not None:
        extra_events(run)
    for second in range(20):
        failing = 5 <= second < error_until_s
        run.record(CONTROL, FAST_US, "http_status" if failing else "ok", count=80)
        run.record(CONTROL, 0, "not_permitted", count=20 if failing else 0)
        slow = affected_slow_during and 5 <= second < 10
        run.record(AFFECTED, FAST_US * (50 if slow else 1), count=20)
        run.end_interval()
    return run.finish(length_s=0.0)


def only(snapshot: RunSnapshot) -> Any:
    (result,) = analyse(snapshot)
    return result


def test_time_to_open_runs_from_fault_start_to_the_first_opening() -> None:
    """The first breaker opened 0.4 s after the outage began."""
    assert only(outage_run()).time_to_open_s == pytest.approx(0.4)


def test_the_spread_of_openings_covers_every_breaker_that_opened() -> None:
    """user-0 at 0.4 s and user-1 at 0.9 s: a spread of 0.5 s."""
    result = only(outage_run())
    assert result.open_offsets_s == pytest.approx((0.4, 0.9))
    assert result.time_to_open_spread_s == pytest.approx(0.5)


def test_time_to_recover_waits_for_the_last_breaker_to_close() -> None:
    """Errors were back after 1 s, the last breaker closed after 2 s."""
    result = only(outage_run())
    assert result.errors_back_s == pytest.approx(1.0)
    assert result.breakers_closed_s == pytest.approx(2.0)
    assert result.time_to_recover_s == pytest.approx(2.0)


def test_time_to_recover_waits_for_the_error_rate_to_come_back() -> None:
    """503s until 14 s: recovered at the end of the first clean interval."""
    result = only(outage_run(error_until_s=14))
    assert result.time_to_recover_s == pytest.approx(5.0)


def test_a_breaker_still_open_at_the_end_means_no_recovery() -> None:
    """A breaker that never closes leaves time_to_recover empty."""

    def stuck(run: RunBuilder) -> None:
        transition(run, 6.0, "user-2", "open", "closed", "failure_rate")

    assert only(outage_run(extra_events=stuck)).time_to_recover_s is None


def test_a_breaker_that_closes_and_opens_again_is_a_flap() -> None:
    """user-0 opens again after closing: one flap."""

    def flap(run: RunBuilder) -> None:
        transition(run, 13.0, "user-0", "open", "closed", "failure_rate")
        transition(run, 14.0, "user-0", "half_open", "open")
        transition(run, 14.1, "user-0", "closed", "half_open")

    assert only(outage_run(extra_events=flap)).flaps == 1


def test_metrics_only_breakers_count_would_open_as_opening() -> None:
    """A shadow breaker's would_open times the opening as well."""

    def shadow(run: RunBuilder) -> None:
        attrs = {"breaker": "user-9", "from": "metrics_only", "to": "metrics_only"}
        run.event(TRANSITION_EVENT, 5.1, {**attrs, "reason": "would_open"})
        run.event(TRANSITION_EVENT, 10.5, {**attrs, "reason": "would_close"})

    assert only(outage_run(extra_events=shadow)).time_to_open_s == pytest.approx(0.1)


def test_the_not_permitted_ratio_counts_refusals_from_fault_start() -> None:
    """100 refusals among 1,600 calls from 5 s to the end of the run."""
    result = only(outage_run())
    assert result.not_permitted_ratio == pytest.approx(100 / 1_600)


def test_the_control_group_is_judged_apart_from_the_affected_users() -> None:
    """Slow affected users do not move the control group's p99."""
    result = only(outage_run(affected_slow_during=True))
    assert result.control_p99_increase == pytest.approx(0.0, abs=0.01)
    assert result.group("during", affected=True).percentile_us(99) >= 49_000
    assert result.error_rate("during", affected=False) == pytest.approx(1.0)
    assert result.error_rate("during", affected=True) == 0.0


def test_resilience_metrics_can_be_named_in_an_sla() -> None:
    """time_to_open within 1 s holds; time_to_recover within 1 s does not."""
    registry = default_registry()
    resilience.register(registry)
    sla = {
        "targets": {
            "outage": [
                "resilience.time_to_open < 1s",
                "resilience.time_to_recover < 1s",
            ]
        }
    }
    verdict = judge(parse_sla(sla, "sla.yaml", registry), outage_run())
    assert [r.passed for r in verdict.results] == [True, False]
    assert verdict.results[1].observed == pytest.approx(2.0)


def test_an_sla_naming_an_unknown_experiment_has_no_data() -> None:
    """A target glob that matches no experiment fails as no data."""
    registry = default_registry()
    resilience.register(registry)
    sla = {"targets": {"no such": ["resilience.time_to_open < 1s"]}}
    verdict = judge(parse_sla(sla, "sla.yaml", registry), outage_run())
    assert verdict.results[0].observed is None
    assert not verdict.results[0].passed


def test_the_report_section_carries_the_experiments_and_fits_the_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """resilience.experiments[0] has name, time_to_open_s, time_to_recover_s."""
    from sla import report_json

    monkeypatch.setitem(report_json._SECTIONS, "resilience", resilience.build_section)
    report = report_of(outage_run())
    jsonschema.validate(report, report_schema())
    experiment = report["resilience"]["experiments"][0]
    assert experiment["name"] == "outage"
    assert experiment["time_to_open_s"] == pytest.approx(0.4)
    assert experiment["time_to_recover_s"] == pytest.approx(2.0)
    assert [e["event"] for e in report["resilience"]["journal"]] == [
        START_EVENT,
        END_EVENT,
    ]


def test_the_report_judges_the_steady_state_hypothesis_in_each_phase() -> None:
    """Control error rate under 1 %: holds before, breaks during, holds after."""
    plan = parse_chaos(
        {
            "steady_state": {"targets": {"tools/call *": ["error_rate < 1%"]}},
            "experiments": [
                {
                    "name": "outage",
                    "start": "5s",
                    "duration": "5s",
                    "server": {"error_rate": 1.0},
                }
            ],
        }
    )
    section = resilience.build_section(outage_run(), plan)
    hypothesis = section["experiments"][0]["hypothesis"]
    passed = {phase: hypothesis[phase]["passed"] for phase in hypothesis}
    assert passed == {"before": True, "during": False, "after": True}
