"""The HTML report: self-contained, and it carries the data of every chart."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from sla.html import render_html, write_html
from sla.svg import linear_scale, nines, nines_scale
from sla.testing import RunBuilder, report_of

SLA = {
    "thresholds": [
        {"metric": "latency.p95", "max": "30ms"},
        {"metric": "error_rate", "max": "0.5%"},
    ]
}


def report() -> dict[str, Any]:
    run = RunBuilder()
    for second in range(5):
        run.record("tools/call echo", [1_000, 2_000, 4_000], count=30)
        run.record("ping", 500, count=20)
        if second == 3:
            run.record("tools/call echo", 9_000, "transport", count=3)
        if second < 4:
            run.end_interval()
    return report_of(run.finish(), SLA)


def chart_data(page: str) -> dict[str, list[dict[str, Any]]]:
    match = re.search(
        r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    data: dict[str, list[dict[str, Any]]] = json.loads(match.group(1))
    return data


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.links.append(value)


def test_the_page_loads_nothing_from_anywhere() -> None:
    """No src or href attribute and no @import: it opens without a network."""
    page = render_html(report())
    collector = _Collector()
    collector.feed(page)
    assert collector.links == []
    assert "@import" not in page and "url(" not in page


def test_the_verdict_table_lists_every_threshold() -> None:
    """Each threshold's label, observed value and result are in the table."""
    page = render_html(report())
    assert "latency.p95 &lt;= 30ms" in page
    assert "error_rate &lt;= 0.5%" in page
    assert page.count(">PASS<") == 1 and page.count(">FAIL<") == 1


def test_latency_over_time_carries_each_interval_percentile() -> None:
    """The latency chart's p99 points are the timeline's p99 values."""
    data = report()
    charts = chart_data(render_html(data))
    (p99,) = [
        s
        for s in charts["Latency percentiles over time (all requests)"]
        if s["label"] == "p99"
    ]
    assert [y for _, y in p99["points"]] == [
        i["latency_ms"]["p99"] for i in data["timeline"]
    ]


def test_the_distribution_plot_follows_the_hdr_histogram() -> None:
    """The percentile curve starts at the minimum and ends near the maximum."""
    data = report()
    charts = chart_data(render_html(data))
    (total,) = [
        s
        for s in charts["Latency by percentile (HDR, log scales)"]
        if s["label"] == "all requests"
    ]
    percentiles = [p for p, _ in total["points"]]
    assert percentiles[0] == 0.0 and percentiles == sorted(percentiles)
    assert total["points"][0][1] == pytest.approx(data["totals"]["latency_ms"]["min"])
    assert total["points"][-1][1] == pytest.approx(
        data["totals"]["latency_ms"]["max"], rel=0.01
    )


def test_throughput_and_failures_carry_each_interval() -> None:
    """Requests per second and failures per second match the timeline."""
    data = report()
    charts = chart_data(render_html(data))
    (rps,) = [s for s in charts["Throughput over time"] if s["label"] == "all requests"]
    (failed,) = [
        s for s in charts["Failures over time"] if s["label"] == "all failures"
    ]
    assert [y for _, y in rps["points"]] == [i["rps"] for i in data["timeline"]]
    assert [y for _, y in failed["points"]] == [0.0, 0.0, 0.0, 3.0, 0.0]


def test_the_per_name_table_has_every_name_and_the_total() -> None:
    """Every request name and the Aggregated row appear with their counts."""
    page = render_html(report())
    for text in ("tools/call echo", "ping", "Aggregated", ">553<", ">100<"):
        assert text in page


def test_a_run_without_failures_says_so_instead_of_an_empty_chart() -> None:
    """No failures: a sentence replaces the failures chart."""
    page = render_html(report_of(RunBuilder().record("ping", 500).finish(), SLA))
    assert "No request failed." in page
    assert "Failures over time" not in chart_data(page)


def test_names_are_escaped() -> None:
    """A request name with markup is shown, never interpreted."""
    page = render_html(report_of(RunBuilder().record("<b>x</b>", 500).finish(), SLA))
    assert "<b>x</b>" not in page.split('id="chart-data"')[0]
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_file_is_written(tmp_path: Path) -> None:
    """write_html leaves the page on disk."""
    path = tmp_path / "report.html"
    write_html(path, report())
    assert path.read_text().startswith("<!DOCTYPE html>")


def test_the_nines_axis_spaces_each_nine_evenly() -> None:
    """90 %, 99 % and 99.9 % sit one unit apart on the nines axis."""
    assert [round(nines(p), 9) for p in (0.0, 90.0, 99.0, 99.9)] == [0, 1, 2, 3]
    scale = nines_scale("percentile", 3)
    assert [text for _, text in scale.ticks] == ["0%", "90%", "99%", "99.9%"]
    assert scale.fraction(99.0) == pytest.approx(2 / 3)


def test_linear_ticks_are_round_numbers() -> None:
    """A 0..47 axis gets ticks every 10 up to 50."""
    scale = linear_scale("ms", [3.0, 47.0])
    assert [value for value, _ in scale.ticks] == [0, 10, 20, 30, 40, 50]
