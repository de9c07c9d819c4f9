"""mcp-loadgen compare: regression limits, the table of deltas, exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from loadgen.errors import ConfigError
from sla.cli import add_compare_arguments, run_compare
from sla.compare import (
    REGRESSION,
    compare_reports,
    format_comparison,
    metric_value,
    parse_limit,
    parse_limits,
)
from sla.report_json import dump_report
from sla.testing import RunBuilder, report_of


def run_report(
    latency_us: int = 2_000,
    *,
    count: int = 200,
    failures: int = 0,
    seconds: int = 2,
    extra_name: str = "",
) -> dict[str, Any]:
    run = RunBuilder()
    for second in range(seconds):
        run.record("tools/call echo", latency_us, count=count)
        run.record("tools/call echo", latency_us, "transport", count=failures)
        if extra_name:
            run.record(extra_name, 500, count=10)
        if second < seconds - 1:
            run.end_interval()
    return report_of(run.finish())


def judged(baseline: dict[str, Any], current: dict[str, Any], *limits: str) -> set[str]:
    """The metrics of the totals that regressed."""
    comparison = compare_reports(baseline, current, parse_limits(list(limits)))
    return {r.metric for r in comparison.regressions if r.scope == "all requests"}


@pytest.mark.parametrize(
    ("text", "direction", "amount", "relative"),
    [
        ("latency.p99=+10%", 1, 0.10, True),
        ("rps=-10%", -1, 0.10, True),
        ("error_rate=+0.5pt", 1, 0.005, False),
        ("latency.p50=+2ms", 1, 2.0, False),
        ("error_rate.transport=+1pt", 1, 0.01, False),
        ("count=-100", -1, 100.0, False),
    ],
)
def test_limits_parse_in_every_form(
    text: str, direction: int, amount: float, relative: bool
) -> None:
    """Relative, point and absolute amounts read in the report's units."""
    limit = parse_limit(text)
    assert (limit.direction, limit.relative) == (direction, relative)
    assert limit.amount == pytest.approx(amount)


@pytest.mark.parametrize(
    "text",
    [
        "latency.p99",
        "latency.p99=10%",
        "speed=+1%",
        "latency.p99=+1pt",
        "error_rate=+1",
        "rps=+fast",
        "latency.p99=+10ms%",
    ],
)
def test_bad_limits_are_config_errors(text: str) -> None:
    """A limit that does not read is refused and named."""
    with pytest.raises(ConfigError) as caught:
        parse_limit(text)
    assert caught.value.field == "--limit"


def test_a_report_compared_with_itself_has_no_regression() -> None:
    """Identical runs never regress."""
    report = run_report()
    assert judged(report, report) == set()


def test_p99_beyond_ten_percent_is_a_regression() -> None:
    """2 ms to 2.3 ms is +15 %: a p99 regression under the default limit."""
    assert judged(run_report(2_000), run_report(2_300)) == {"latency.p99"}


def test_p99_within_ten_percent_is_not() -> None:
    """2 ms to 2.15 ms is +7.5 %: within the default limit."""
    assert judged(run_report(2_000), run_report(2_150)) == set()


def test_getting_faster_is_never_a_regression() -> None:
    """Lower latency and more throughput pass any limit."""
    assert judged(run_report(2_000), run_report(1_000, count=400)) == set()


def test_a_throughput_drop_beyond_ten_percent_is_a_regression() -> None:
    """200 to 170 requests a second is -15 %."""
    assert judged(run_report(count=200), run_report(count=170)) == {"rps"}


def test_error_rate_moves_in_points() -> None:
    """0 % to 1 % errors is +1 point: beyond the default half point."""
    assert judged(run_report(), run_report(count=198, failures=2)) == {"error_rate"}


def test_a_given_limit_replaces_the_default_for_its_metric() -> None:
    """--limit latency.p99=+20% lets a 15 % slowdown through."""
    assert judged(run_report(2_000), run_report(2_300), "latency.p99=+20%") == set()


def test_without_defaults_only_given_limits_judge() -> None:
    """--no-default-limits leaves only the limits given."""
    limits = parse_limits(["latency.p50=+1ms"], defaults=False)
    comparison = compare_reports(run_report(2_000), run_report(2_300), limits)
    assert comparison.regressions == ()


def test_endpoints_are_judged_only_when_asked() -> None:
    """Per-name rows are shown always but judged with per_endpoint only."""
    baseline, current = run_report(2_000), run_report(2_300)
    limits = parse_limits([])
    plain = compare_reports(baseline, current, limits)
    per_name = compare_reports(baseline, current, limits, per_endpoint=True)
    assert {r.scope for r in plain.regressions} == {"all requests"}
    assert {r.scope for r in per_name.regressions} == {
        "all requests",
        "tools/call echo",
    }


def test_endpoints_below_the_minimum_count_are_not_judged() -> None:
    """A name with fewer requests than min_count is shown, not judged."""
    limits = parse_limits([])
    comparison = compare_reports(
        run_report(2_000), run_report(2_300), limits, per_endpoint=True, min_count=10**6
    )
    assert {r.scope for r in comparison.regressions} == {"all requests"}


def test_names_in_one_report_only_are_listed() -> None:
    """A name that appeared or disappeared is named under the table."""
    comparison = compare_reports(run_report(), run_report(extra_name="ping"), [])
    assert comparison.only_in_current == ("ping",)
    assert "only in current: ping" in format_comparison(comparison)


def test_the_table_shows_baseline_current_change_and_result() -> None:
    """Each row reads metric, both values, the change and the verdict."""
    text = format_comparison(
        compare_reports(run_report(2_000), run_report(2_300), parse_limits([]))
    )
    row = next(line for line in text.splitlines() if "latency.p99" in line)
    assert row.split() == [
        "all",
        "requests",
        "latency.p99",
        "2ms",
        "2.3ms",
        "+15.0%",
        "+10%",
        REGRESSION,
    ]
    assert text.endswith("1 regression\n")


def test_a_percentile_missing_from_the_report_comes_from_the_histogram() -> None:
    """latency.p99.5 is computed from the encoded HDR histogram."""
    totals = run_report(2_000)["totals"]
    assert metric_value(totals, "latency.p99.5") == pytest.approx(2.0, rel=1e-3)


def compare_files(
    tmp_path: Path, baseline: dict[str, Any], current: dict[str, Any], *extra: str
) -> int:
    paths = []
    for name, report in (("baseline.json", baseline), ("current.json", current)):
        path = tmp_path / name
        path.write_text(dump_report(report))
        paths.append(str(path))
    parser = argparse.ArgumentParser()
    add_compare_arguments(parser)
    return run_compare(parser.parse_args([*paths, *extra]))


def test_compare_exits_0_without_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command prints the table and exits 0 for a report and itself."""
    report = run_report()
    assert compare_files(tmp_path, report, report) == 0
    assert "0 regressions" in capsys.readouterr().out


def test_compare_exits_1_on_a_regression(tmp_path: Path) -> None:
    """A slower current run makes the command exit 1."""
    assert compare_files(tmp_path, run_report(2_000), run_report(3_000)) == 1


def test_compare_refuses_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    """A JSON file of another kind is a configuration error (exit 2)."""
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"stats": []}))
    parser = argparse.ArgumentParser()
    add_compare_arguments(parser)
    with pytest.raises(ConfigError, match="bogus.json"):
        run_compare(parser.parse_args([str(bogus), str(bogus)]))


def test_an_incomplete_report_is_flagged(tmp_path: Path) -> None:
    """Comparing against partial data warns under the table."""
    run = RunBuilder().record("ping", 1_000, count=100).end_interval(lose=["worker-1"])
    partial = report_of(run.record("ping", 1_000).finish())
    comparison = compare_reports(run_report(), partial, [])
    assert "the current report is incomplete" in comparison.warnings[0]
