"""The verdict and the exit code: 0 holds, 1 failed, 3 incomplete."""

from __future__ import annotations

from sla.live import Abort
from sla.spec import parse_sla
from sla.testing import RunBuilder
from sla.verdict import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_PASSED,
    judge,
)

LENIENT = parse_sla({"thresholds": [{"metric": "error_rate", "max": "50%"}]})
STRICT = parse_sla({"thresholds": [{"metric": "latency.p99", "max": "1us"}]})


def run_with(outcome: str = "ok") -> RunBuilder:
    return RunBuilder().record("ping", 2_000, count=9).record("ping", 2_000, outcome)


def test_every_threshold_holding_exits_0() -> None:
    """A lenient SLA on a clean run passes with exit code 0."""
    verdict = judge(LENIENT, run_with().finish())
    assert (verdict.passed, verdict.status, verdict.exit_code) == (
        True,
        "passed",
        EXIT_PASSED,
    )


def test_a_failed_threshold_exits_1() -> None:
    """An impossible latency limit fails the run with exit code 1."""
    verdict = judge(STRICT, run_with().finish())
    assert (verdict.passed, verdict.exit_code) == (False, EXIT_FAILED)


def test_failures_within_the_sla_still_pass() -> None:
    """With an SLA, the thresholds decide, not the mere presence of failures."""
    verdict = judge(LENIENT, run_with("transport").finish())
    assert verdict.exit_code == EXIT_PASSED


def test_no_sla_and_no_failures_exits_0() -> None:
    """Without an SLA, a run without failed requests passes."""
    assert judge(None, run_with().finish()).exit_code == EXIT_PASSED


def test_no_sla_and_a_failure_exits_1() -> None:
    """Without an SLA, any failed request fails the run."""
    assert judge(None, run_with("http_status").finish()).exit_code == EXIT_FAILED


def test_an_abort_fails_the_run_even_if_the_end_looks_fine() -> None:
    """A run stopped by a live breach fails, whatever the final numbers say."""
    threshold = LENIENT.thresholds[0]
    abort = Abort(0, threshold, 0.9, 12.0)
    verdict = judge(LENIENT, run_with().finish(), abort)
    assert (verdict.passed, verdict.exit_code) == (False, EXIT_FAILED)


def test_a_lost_worker_makes_the_data_incomplete() -> None:
    """A worker that vanished without its final interval gives exit code 3."""
    run = run_with().record("ping", 2_000, worker="worker-2").end_interval()
    snapshot = run.vanish("worker-2").finish()
    verdict = judge(LENIENT, snapshot)
    assert (verdict.complete, verdict.status, verdict.exit_code) == (
        False,
        "incomplete",
        EXIT_INCOMPLETE,
    )


def test_a_lost_interval_makes_the_data_incomplete() -> None:
    """A gap in a worker's intervals gives exit code 3."""
    run = run_with().end_interval(lose=["worker-1"])
    snapshot = run.record("ping", 2_000).finish()
    assert judge(LENIENT, snapshot).exit_code == EXIT_INCOMPLETE


def test_incomplete_data_wins_over_a_failed_threshold() -> None:
    """A failure measured on partial data is untrustworthy too: 3, not 1."""
    snapshot = run_with().end_interval(lose=["worker-1"]).record("ping", 1).finish()
    assert judge(STRICT, snapshot).exit_code == EXIT_INCOMPLETE


def test_the_configuration_error_code_is_2() -> None:
    """Exit code 2 is the one the command line uses for ConfigError."""
    assert EXIT_CONFIG == 2
