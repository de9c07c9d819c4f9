"""Whole-run evaluation: windows, first breach times, targets, no data."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from loadgen.aggregator.results import RunSnapshot
from sla.evaluate import NO_DATA, SHORT_RUN, RunViews, ThresholdResult, evaluate_run
from sla.spec import parse_sla
from sla.testing import RunBuilder

FAST_US = 2_000
SLOW_US = 900_000


def judge_one(threshold: dict[str, object], snapshot: RunSnapshot) -> ThresholdResult:
    (result,) = evaluate_run(parse_sla({"thresholds": [threshold]}, "t.yaml"), snapshot)
    return result


def steady_run(seconds: int, *, slow_at: Collection[int] = ()) -> RunSnapshot:
    """100 echo calls a second at 2 ms; in the seconds listed, 10 of them slow."""
    run = RunBuilder()
    for second in range(seconds):
        slow = 10 if second in slow_at else 0
        run.record("tools/call echo", FAST_US, count=100 - slow)
        run.record("tools/call echo", SLOW_US, count=slow)
        if second < seconds - 1:
            run.end_interval()
    return run.finish()


def test_a_whole_run_threshold_that_holds_passes() -> None:
    """p99 under the limit over the run: passed, observed, no breach time."""
    result = judge_one({"metric": "latency.p99", "max": "10ms"}, steady_run(5))
    assert result.passed
    assert result.observed == pytest.approx(0.002, rel=1e-3)
    assert result.first_breach_s is None


def test_a_whole_run_breach_dates_from_the_first_interval_that_broke_it() -> None:
    """The first breach is the end of the first interval at which the run so
    far broke the limit."""
    result = judge_one(
        {"metric": "latency.p99", "max": "10ms"}, steady_run(6, slow_at={2, 3, 4})
    )
    assert not result.passed
    assert result.first_breach_s == pytest.approx(3.0)


def test_a_window_catches_what_the_whole_run_hides() -> None:
    """One bad second fails a 2 s window although the run's p99 is fine."""
    snapshot = steady_run(20, slow_at={12})
    whole = judge_one({"metric": "latency.p99", "max": "10ms"}, snapshot)
    windowed = judge_one(
        {"metric": "latency.p99", "max": "10ms", "window": "2s"}, snapshot
    )
    assert whole.passed
    assert not windowed.passed
    assert windowed.first_breach_s == pytest.approx(13.0)
    assert windowed.windows_breached == 2


def test_only_full_windows_are_judged() -> None:
    """A 5 s window over 10 intervals is judged 6 times, from the 5th on."""
    result = judge_one(
        {"metric": "latency.p99", "max": "10ms", "window": "5s"}, steady_run(10)
    )
    assert (result.passed, result.windows_judged) == (True, 6)


def test_a_slow_first_second_outside_any_full_window_is_not_a_window_breach() -> None:
    """The partial windows at the start are skipped; the first full one counts."""
    result = judge_one(
        {"metric": "latency.p50", "max": "10ms", "window": "3s"},
        steady_run(6, slow_at={0}),
    )
    assert result.passed


def test_a_run_shorter_than_the_window_is_judged_whole() -> None:
    """With fewer intervals than one window, the whole run is one window."""
    result = judge_one(
        {"metric": "latency.p99", "max": "10ms", "window": "30s"},
        steady_run(3, slow_at={1}),
    )
    assert not result.passed
    assert (result.windows_judged, result.note) == (1, SHORT_RUN)


def test_the_worst_window_is_the_observed_value() -> None:
    """For max, observed is the highest window; for min, the lowest."""
    run = RunBuilder()
    for second, count in enumerate([50, 80, 20, 60]):
        run.record("ping", FAST_US, count=count)
        if second < 3:
            run.end_interval()
    snapshot = run.finish()
    lowest = judge_one({"metric": "rps", "min": 10, "window": "1s"}, snapshot)
    highest = judge_one({"metric": "count", "max": 1000, "window": "1s"}, snapshot)
    assert lowest.observed == pytest.approx(20.0)
    assert highest.observed == 80


def test_a_target_glob_judges_only_the_names_it_matches() -> None:
    """tools/call * merges the tool calls and leaves slow resource reads out."""
    run = RunBuilder()
    run.record("tools/call echo", FAST_US, count=50)
    run.record("tools/call add", FAST_US, count=50)
    run.record("resources/read demo://readme", SLOW_US, count=50)
    snapshot = run.finish()
    tools = judge_one(
        {"metric": "latency.max", "target": "tools/call *", "max": "10ms"}, snapshot
    )
    everything = judge_one({"metric": "latency.max", "max": "10ms"}, snapshot)
    assert tools.passed and not everything.passed


def test_a_target_that_matches_nothing_fails_with_no_data() -> None:
    """A glob with no requests is a failed threshold, never a silent pass."""
    result = judge_one(
        {"metric": "latency.p99", "target": "tools/call ech0", "max": "1s"},
        steady_run(3),
    )
    assert (result.passed, result.observed, result.note) == (False, None, NO_DATA)


def test_a_window_without_requests_of_the_target_is_skipped() -> None:
    """An idle window has no latency: it neither passes nor breaches."""
    run = RunBuilder()
    for second in range(6):
        run.record("ping", FAST_US, count=10)
        if second in (0, 5):
            run.record("tools/call echo", FAST_US, count=10)
        if second < 5:
            run.end_interval()
    result = judge_one(
        {
            "metric": "latency.p99",
            "target": "tools/call *",
            "max": "10ms",
            "window": "2s",
        },
        run.finish(),
    )
    assert (result.passed, result.windows_judged) == (True, 2)


def test_an_idle_window_breaks_a_minimum_rate() -> None:
    """rps has a value (zero) in a window without requests, so min catches it."""
    run = RunBuilder()
    for second in range(6):
        run.record("ping", FAST_US, count=10)
        if second != 3:
            run.record("tools/call echo", FAST_US, count=10)
        if second < 5:
            run.end_interval()
    result = judge_one(
        {"metric": "rps", "target": "tools/call *", "min": 5, "window": "1s"},
        run.finish(),
    )
    assert (result.passed, result.observed, result.first_breach_s) == (False, 0.0, 4.0)


def test_an_outcome_error_rate_counts_only_its_class() -> None:
    """error_rate.transport ignores tool errors; error_rate counts both."""
    run = RunBuilder()
    run.record("tools/call echo", FAST_US, count=96)
    run.record("tools/call echo", FAST_US, "tool_error", count=3)
    run.record("tools/call echo", FAST_US, "transport", count=1)
    snapshot = run.finish()
    transport = judge_one({"metric": "error_rate.transport", "max": "1%"}, snapshot)
    overall = judge_one({"metric": "error_rate", "max": "1%"}, snapshot)
    assert (transport.passed, transport.observed) == (True, pytest.approx(0.01))
    assert (overall.passed, overall.observed) == (False, pytest.approx(0.04))


def test_workers_are_merged_before_judging() -> None:
    """The p99 of two workers' requests is the p99 of all of them, although
    one worker alone has a slow p99."""
    run = RunBuilder()
    run.record("ping", FAST_US, count=99, worker="a")
    run.record("ping", SLOW_US, count=1, worker="b")
    snapshot = run.finish()
    p99 = judge_one({"metric": "latency.p99", "max": "10ms"}, snapshot)
    worst = judge_one({"metric": "latency.max", "max": "10ms"}, snapshot)
    assert p99.passed and not worst.passed


def test_a_short_first_interval_still_counts_as_one_interval() -> None:
    """A run that starts between boundaries keeps whole-interval windows."""
    run = RunBuilder(start_s=1_700_000_000.6)
    for second in range(4):
        run.record("ping", FAST_US, count=10)
        if second < 3:
            run.end_interval(length_s=0.4 if second == 0 else 1.0)
    result = judge_one({"metric": "count", "min": 1, "window": "2s"}, run.finish())
    assert (result.passed, result.windows_judged) == (True, 3)


def test_rps_over_the_run_divides_by_its_duration() -> None:
    """100 requests a second for 4 s read back as 100 rps."""
    result = judge_one({"metric": "rps", "min": 99}, steady_run(4))
    assert result.observed == pytest.approx(100.0)


def test_results_follow_the_file_order() -> None:
    """Each result carries its threshold's index, in file order."""
    spec = parse_sla({"targets": {"*": ["p99 < 1s", "rps > 1", "count > 1"]}})
    results = evaluate_run(spec, steady_run(2))
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.threshold for r in results] == list(spec.thresholds)


def test_windows_agree_with_the_aggregators_rolling_windows() -> None:
    """Each judged window holds the same requests as RunSnapshot.rolling's."""
    run = RunBuilder(start_s=1_700_000_000.3)
    for second in range(8):
        run.record("tools/call echo", [1_000 + second, 5_000], count=second + 1)
        run.record("ping", 700)
        if second < 7:
            run.end_interval(length_s=0.7 if second == 0 else 1.0)
    snapshot = run.finish()
    ours = RunViews(snapshot).windows(3.0, "tools/call *")
    theirs = [w.select("tools/call *") for w in snapshot.rolling(3.0)][2:]
    assert [r.count for _, r in ours] == [r.count for r in theirs]
    assert [r.percentile_us(90) for _, r in ours] == [
        r.percentile_us(90) for r in theirs
    ]


def test_a_missed_minimum_count_breaches_at_the_end_of_the_run() -> None:
    """count >= N that the run never reached is dated at the run's end."""
    result = judge_one({"metric": "count", "min": 10_000}, steady_run(4))
    assert (result.passed, result.first_breach_s) == (False, 4.0)
