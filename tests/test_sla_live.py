"""Live evaluation at each interval: breaches, grace, abort, logging."""

from __future__ import annotations

import logging

import pytest

from sla.live import LiveEvaluator
from sla.spec import parse_sla
from sla.testing import RunBuilder

FAST_US = 1_000
SLOW_US = 500_000


def evaluator(threshold: dict[str, object], run: RunBuilder) -> LiveEvaluator:
    spec = parse_sla({"thresholds": [threshold]}, "live.yaml")
    return LiveEvaluator(spec, clock=run.clock, started_at_s=run.now_s)


def second(run: RunBuilder, latency_us: int, outcome: str = "ok") -> RunBuilder:
    """One interval of 100 requests, all with the same latency and outcome."""
    return run.record("tools/call echo", latency_us, outcome, count=100).end_interval()


ERRORS_ABORT = {
    "metric": "error_rate",
    "max": "1%",
    "abort_on_fail": True,
    "abort_grace": "3s",
}


def test_no_abort_before_the_grace_period() -> None:
    """A breach in the first seconds is logged but does not stop the run."""
    run = RunBuilder()
    live = evaluator(ERRORS_ABORT, run)
    for _ in range(2):
        assert live.observe(second(run, FAST_US, "transport").snapshot()) is None
    assert live.first_breach_s(0) == pytest.approx(1.0)


def test_the_first_breach_after_the_grace_aborts() -> None:
    """Once the run is older than the grace, a breach decides the abort."""
    run = RunBuilder()
    live = evaluator(ERRORS_ABORT, run)
    for _ in range(3):
        live.observe(second(run, FAST_US).snapshot())
    abort = live.observe(second(run, FAST_US, "transport").snapshot())
    assert abort is not None
    assert (abort.index, abort.elapsed_s) == (0, pytest.approx(4.0))
    assert abort.observed == pytest.approx(0.25)


def test_the_abort_decision_keeps_the_first_breach() -> None:
    """Later breaches do not replace the abort that was decided."""
    run = RunBuilder()
    live = evaluator(ERRORS_ABORT, run)
    for _ in range(4):
        live.observe(second(run, FAST_US, "transport").snapshot())
    first = live.abort
    live.observe(second(run, FAST_US, "transport").snapshot())
    assert live.abort is first
    assert first is not None and first.elapsed_s == pytest.approx(3.0)


def test_a_threshold_without_abort_on_fail_never_aborts() -> None:
    """A breach without abort_on_fail is noted, and the run goes on."""
    run = RunBuilder()
    live = evaluator({"metric": "error_rate", "max": "1%"}, run)
    for _ in range(5):
        assert live.observe(second(run, FAST_US, "transport").snapshot()) is None
    assert live.first_breach_s(0) == pytest.approx(1.0)


def test_a_window_is_judged_only_once_it_is_full() -> None:
    """A 3 s window is not judged on the first two intervals."""
    run = RunBuilder()
    live = evaluator(
        {"metric": "latency.p99", "max": "10ms", "window": "3s", "abort_on_fail": True},
        run,
    )
    assert live.observe(second(run, SLOW_US).snapshot()) is None
    assert live.observe(second(run, SLOW_US).snapshot()) is None
    abort = live.observe(second(run, SLOW_US).snapshot())
    assert abort is not None and abort.elapsed_s == pytest.approx(3.0)


def test_a_window_judges_the_newest_intervals_only() -> None:
    """After a slow window has rolled past, the threshold holds again."""
    run = RunBuilder()
    live = evaluator({"metric": "latency.p99", "max": "10ms", "window": "2s"}, run)
    for latency_us in (SLOW_US, SLOW_US, FAST_US, FAST_US):
        live.observe(second(run, latency_us).snapshot())
    assert live.first_breach_s(0) == pytest.approx(2.0)
    assert live.abort is None


def test_breach_and_recovery_log_one_line_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log says when a threshold starts breaching and when it holds again,
    not once per interval."""
    run = RunBuilder()
    live = evaluator({"metric": "latency.p99", "max": "10ms", "window": "1s"}, run)
    with caplog.at_level(logging.INFO, logger="sla.live"):
        for latency_us in (SLOW_US, SLOW_US, SLOW_US, FAST_US, FAST_US):
            live.observe(second(run, latency_us).snapshot())
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "breached after 1s" in messages[0]
    assert "holds again after 4s" in messages[1]


def test_the_abort_is_logged_with_observed_and_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Aborting names the threshold, the observed value and the limit."""
    run = RunBuilder()
    live = evaluator({**ERRORS_ABORT, "abort_grace": "0s"}, run)
    with caplog.at_level(logging.ERROR, logger="sla.live"):
        live.observe(second(run, FAST_US, "transport").snapshot())
    (record,) = caplog.records
    assert "error_rate <= 1% failed with 100% (limit 1%)" in record.getMessage()


def test_an_empty_snapshot_is_not_judged() -> None:
    """Before any interval arrives there is nothing to breach."""
    run = RunBuilder()
    live = evaluator(ERRORS_ABORT, run)
    assert live.observe(run.snapshot()) is None
    assert live.first_breach_s(0) is None


def test_a_minimum_count_is_not_judged_live() -> None:
    """count >= N is not a breach while the run is still counting up."""
    run = RunBuilder()
    live = evaluator({"metric": "count", "min": 10_000, "abort_on_fail": True}, run)
    for _ in range(3):
        assert live.observe(second(run, FAST_US).snapshot()) is None
    assert live.first_breach_s(0) is None
