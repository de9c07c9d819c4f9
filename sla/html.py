"""The HTML report: one self-contained file, drawn from the JSON report.

Everything is inline: the style sheet, the charts (SVG from
:mod:`sla.svg`) and the numbers behind each chart (a JSON block with the id
``chart-data``, for anyone who wants to re-plot them). The page loads
nothing, so it opens the same from a CI artifact store, an e-mail or a
machine without network access.

Sections, top to bottom: the verdict and the run; the SLA table; data
completeness; latency percentiles over time; p99 by request name over
time; the HDR percentile distribution; throughput over time; failures over
time; the per-name table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import Any

from loadgen.recording.histogram import Histogram
from sla.files import write_atomic
from sla.svg import (
    FAILURE_COLOR,
    PALETTE,
    Limit,
    Point,
    Scale,
    Series,
    line_chart,
    linear_scale,
    log_scale,
    nines_scale,
)

Json = dict[str, Any]

# More lines than this turn a chart into noise; the busiest names win.
MAX_NAMES_CHARTED = 8
# Six nines (99.9999 %) needs a million requests to mean anything; the plot
# stops where the data stops resolving (one nine per factor ten requests).
MAX_NINES = 6
NINES_STEP = 0.02
# A limit more than this many times above the highest value is named in the
# legend but not drawn: the axis would otherwise squash the data flat.
OFF_SCALE_FACTOR = 3.0

TIME_AXIS = "seconds since the start of the run"
LATENCY_AXIS = "latency (ms)"
TIMELINE_PERCENTILES = ("p50", "p95", "p99")
TABLE_PERCENTILES = ("p50", "p90", "p95", "p99", "p99.9")

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1160px;
       color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e6e6e6; text-align: right; }
th { background: #f4f4f4; }
td.text, th.text { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #bbb; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 4px;
         color: #fff; font-weight: 600; }
.passed { background: #1e8449; } .failed { background: #c0392b; }
.incomplete { background: #b9770e; }
td.pass { color: #1e8449; font-weight: 600; }
td.fail { color: #c0392b; font-weight: 600; }
.run { color: #555; font-size: 13px; }
.run span { margin-right: 18px; white-space: nowrap; }
.note { background: #fdf2e9; border-left: 4px solid #b9770e; padding: 6px 10px; }
.chart .tick { font-size: 11px; fill: #555; }
.chart .axis { font-size: 12px; fill: #333; }
.chart .legend { font-size: 12px; fill: #222; }
"""


# Charts -------------------------------------------------------------------------


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _mid_s(interval: Json) -> float:
    return round((interval["start_s"] + interval["end_s"]) / 2, 3)


def _latency_point(interval: Json, key: str) -> Point:
    latency = interval["latency_ms"]
    return (_mid_s(interval), None if latency is None else latency[key])


def _percentile_limits(report: Json, keys: Iterable[str]) -> list[Limit]:
    """Limits of latency thresholds on all requests, for the matching lines."""
    limits = []
    for t in report["sla"]["thresholds"]:
        metric = t["metric"].removeprefix("latency.")
        if t["target"] is None and metric in keys and t["unit"] == "ms":
            limits.append(Limit(f"{metric} limit {t['limit_text']}", t["limit"]))
    return limits


def latency_series(report: Json) -> list[Series]:
    """p50, p95 and p99 of all requests, per interval."""
    timeline = report["timeline"]
    return [
        Series(key, tuple(_latency_point(i, key) for i in timeline), _color(n))
        for n, key in enumerate(TIMELINE_PERCENTILES)
    ]


def busiest_names(report: Json) -> list[str]:
    ranked = sorted(report["endpoints"], key=lambda e: (-e["count"], e["name"]))
    return [e["name"] for e in ranked[:MAX_NAMES_CHARTED]]


def name_p99_series(report: Json) -> list[Series]:
    """p99 of each of the busiest names, per interval."""
    series = []
    for n, name in enumerate(busiest_names(report)):
        points = []
        for interval in report["timeline"]:
            entry = interval["names"].get(name)
            latency = entry["latency_ms"] if entry else None
            points.append((_mid_s(interval), latency["p99"] if latency else None))
        series.append(Series(name, tuple(points), _color(n)))
    return series


def throughput_series(report: Json) -> list[Series]:
    """Requests per second: all requests, then the busiest names."""
    timeline = report["timeline"]
    series = [
        Series("all requests", tuple((_mid_s(i), i["rps"]) for i in timeline), "#222")
    ]
    for n, name in enumerate(busiest_names(report)):
        points = tuple(
            (_mid_s(i), i["names"][name]["rps"] if name in i["names"] else 0.0)
            for i in timeline
        )
        series.append(Series(name, points, _color(n), width=1.2))
    return series


def failure_series(report: Json) -> list[Series]:
    """Failures per second: all of them, then each outcome class seen."""
    timeline = report["timeline"]
    failed = tuple((_mid_s(i), _per_s(i, i["failures"])) for i in timeline)
    series = [Series("all failures", failed, FAILURE_COLOR)]
    classes = sorted({c for i in timeline for c in i["failures_by_outcome"]})
    for n, outcome in enumerate(classes):
        points = tuple(
            (_mid_s(i), _per_s(i, i["failures_by_outcome"].get(outcome, 0)))
            for i in timeline
        )
        series.append(Series(outcome, points, _color(n + 1), dashed=True))
    return series


def _per_s(interval: Json, count: int) -> float:
    length_s = interval["end_s"] - interval["start_s"]
    return round(count / length_s, 3) if length_s > 0 else 0.0


def _nines_of(count: int) -> int:
    return min(max(math.ceil(math.log10(max(count, 1))), 1), MAX_NINES)


def percentile_curve(summary: Json, top_nines: int) -> tuple[Point, ...]:
    """(percentile, latency ms) along the nines axis, from the HDR histogram."""
    data = summary["histogram"]["data"]
    if not data or not summary["count"]:
        return ()
    histogram = Histogram.decode_hdr(data)
    steps = int(top_nines / NINES_STEP)
    percentiles = [100.0 * (1 - 10 ** (-i * NINES_STEP)) for i in range(steps + 1)]
    values_us = histogram.percentiles_us(percentiles)
    return tuple(
        (round(p, 6), round(v / 1000, 3))
        for p, v in zip(percentiles, values_us, strict=True)
    )


def distribution_series(report: Json) -> tuple[list[Series], int]:
    """The HDR percentile curve of all requests and of the busiest names."""
    top = _nines_of(report["totals"]["count"])
    by_name = {e["name"]: e for e in report["endpoints"]}
    series = [Series("all requests", percentile_curve(report["totals"], top), "#222")]
    for n, name in enumerate(busiest_names(report)):
        curve = percentile_curve(by_name[name], top)
        series.append(Series(name, curve, _color(n), width=1.4))
    return series, top


def _y_values(series: Sequence[Series]) -> list[float]:
    return [y for s in series for _, y in s.points if y is not None]


def _time_scale(report: Json) -> Scale:
    ends = [i["end_s"] for i in report["timeline"]] or [report["run"]["duration_s"]]
    return linear_scale(TIME_AXIS, ends, tight=True)


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its heading, its SVG and the data drawn."""

    title: str
    svg: str
    series: list[Series]


def _on_scale(
    series: list[Series], limits: list[Limit]
) -> tuple[list[float], list[Limit]]:
    """The values the y axis must show, and the limits relabelled when a
    limit far above the data would flatten every line against the floor."""
    values = _y_values(series)
    top = max(values, default=0.0)
    shown: list[Limit] = []
    for limit in limits:
        if top and limit.value > OFF_SCALE_FACTOR * top:
            shown.append(replace(limit, label=f"{limit.label} (off chart)"))
        else:
            values.append(limit.value)
            shown.append(limit)
    return values, shown


def _over_time(
    title: str, series: list[Series], y_label: str, report: Json, limits: list[Limit]
) -> Chart:
    values, limits = _on_scale(series, limits)
    y_scale = linear_scale(y_label, values)
    svg = line_chart(series, _time_scale(report), y_scale, limits=limits, title=title)
    return Chart(title, svg, series)


def distribution_chart(report: Json) -> Chart:
    title = "Latency by percentile (HDR, log scales)"
    series, top = distribution_series(report)
    x_scale = nines_scale("percentile", top)
    y_scale = log_scale(LATENCY_AXIS, _y_values(series))
    return Chart(title, line_chart(series, x_scale, y_scale, title=title), series)


def charts(report: Json) -> list[Chart]:
    """Every chart, in page order."""
    limits = _percentile_limits(report, TIMELINE_PERCENTILES)
    return [
        _over_time(
            "Latency percentiles over time (all requests)",
            latency_series(report),
            LATENCY_AXIS,
            report,
            limits,
        ),
        _over_time(
            "p99 latency over time by request name",
            name_p99_series(report),
            LATENCY_AXIS,
            report,
            [],
        ),
        distribution_chart(report),
        _over_time(
            "Throughput over time",
            throughput_series(report),
            "requests per second",
            report,
            [],
        ),
    ] + _failure_charts(report)


def _failure_charts(report: Json) -> list[Chart]:
    """The failures chart, or nothing when no request failed."""
    if not any(i["failures"] for i in report["timeline"]):
        return []
    return [
        _over_time(
            "Failures over time",
            failure_series(report),
            "failures per second",
            report,
            [],
        )
    ]


# Tables ----------------------------------------------------------------------------


def _cell(value: object, css: str = "") -> str:
    shown = "" if value is None else str(value)
    attribute = f' class="{css}"' if css else ""
    return f"<td{attribute}>{escape(shown)}</td>"


def _row(cells: Iterable[str], css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return f"<tr{attribute}>{''.join(cells)}</tr>"


def _head(names: Iterable[str], text_columns: int = 1) -> str:
    cells = [
        f'<th class="text">{escape(n)}</th>'
        if i < text_columns
        else f"<th>{escape(n)}</th>"
        for i, n in enumerate(names)
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def sla_table(report: Json) -> str:
    thresholds = report["sla"]["thresholds"]
    if not thresholds:
        return (
            "<p>No SLA file was given: the verdict is whether any request failed.</p>"
        )
    head = _head(
        [
            "#",
            "threshold",
            "observed",
            "limit",
            "result",
            "first breach",
            "windows",
            "note",
        ],
        text_columns=2,
    )
    rows = [_threshold_row(t) for t in thresholds]
    return f"<table>{head}{''.join(rows)}</table>"


def _threshold_row(t: Json) -> str:
    result = "pass" if t["passed"] else "fail"
    breach = "" if t["first_breach_s"] is None else f"{t['first_breach_s']:g} s"
    windows = ""
    if t["window_s"] is not None:
        windows = f"{t['windows_breached']} of {t['windows_judged']} breached"
    return _row(
        [
            _cell(t["index"] + 1, "text"),
            _cell(t["label"], "text"),
            _cell(t["observed_text"]),
            _cell(t["limit_text"]),
            _cell(result.upper(), result),
            _cell(breach),
            _cell(windows),
            _cell(t["note"], "text"),
        ]
    )


def _ms(latency: Json | None, key: str) -> str:
    return "" if latency is None else f"{latency[key]:.3f}"


def _summary_row(summary: Json, css: str = "") -> str:
    latency = summary["latency_ms"]
    return _row(
        [
            _cell(summary["name"], "text"),
            _cell(summary["count"]),
            _cell(summary["failure_count"]),
            _cell(f"{summary['error_rate'] * 100:.2f}%"),
            _cell(f"{summary['rps']:.2f}"),
            _cell(_ms(latency, "mean")),
            *(_cell(_ms(latency, key)) for key in TABLE_PERCENTILES),
            _cell(_ms(latency, "max")),
        ],
        css,
    )


def names_table(report: Json) -> str:
    head = _head(
        [
            "request name",
            "count",
            "failures",
            "error rate",
            "rps",
            "mean ms",
            *(f"{k} ms" for k in TABLE_PERCENTILES),
            "max ms",
        ]
    )
    rows = [_summary_row(e) for e in report["endpoints"]]
    rows.append(_summary_row(report["totals"], "total"))
    return f"<table>{head}{''.join(rows)}</table>"


# The page --------------------------------------------------------------------------


def _run_line(report: Json) -> str:
    run = report["run"]
    facts = [
        ("run", run["id"]),
        ("target", run["target_url"]),
        ("start", run["start_utc"]),
        ("duration", f"{run['duration_s']:g} s"),
        ("users", run["users"]),
        ("workers", run["workers"]),
        ("MCP revision", run["mcp_revision"]),
        ("locustfile", run["locustfile"]),
        ("load model", run["load_model"]),
    ]
    shown = [
        f"<span>{escape(k)}: <b>{escape(str(v))}</b></span>"
        for k, v in facts
        if v not in (None, "")
    ]
    return f'<p class="run">{" ".join(shown)}</p>'


def _verdict_line(report: Json) -> str:
    sla = report["sla"]
    status = sla["status"]
    badge = f'<span class="badge {status}">{status.upper()}</span>'
    text = f"{badge} exit code {sla['exit_code']}"
    aborted = sla["aborted"]
    if aborted is not None:
        text += (
            f" &mdash; stopped after {aborted['elapsed_s']:g} s by "
            f"{escape(aborted['label'])}"
        )
    return f"<p>{text}</p>"


def _completeness_note(report: Json) -> str:
    c = report["completeness"]
    text = (
        f"{c['workers_seen']} workers, {c['intervals_received']} intervals received, "
        f"{c['intervals_missing']} missing, {len(c['lost_workers'])} workers lost"
    )
    if c["complete"]:
        return f"<p>{escape(text)}.</p>"
    warning = f"Data incomplete: {escape(text)}. No verdict can be trusted."
    return f'<p class="note">{warning}</p>'


def _no_failures_note(report: Json) -> str:
    if any(i["failures"] for i in report["timeline"]):
        return ""
    return "<h2>Failures over time</h2>\n<p>No request failed.</p>\n"


def _chart_data_block(chart_list: list[Chart]) -> str:
    data = {
        chart.title: [
            {"label": s.label, "points": list(s.points)} for s in chart.series
        ]
        for chart in chart_list
    }
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    # "</" would end the script element early; JSON allows the escape.
    text = text.replace("</", "<\\/")
    return f'<script type="application/json" id="chart-data">{text}</script>'


def render_html(report: Json) -> str:
    """The whole page for a report, as text."""
    chart_list = charts(report)
    chart_html = "".join(
        f"<h2>{escape(chart.title)}</h2>\n{chart.svg}\n" for chart in chart_list
    )
    run = report["run"]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mcp-loadgen report {escape(run["id"])}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>mcp-loadgen load test report</h1>
{_verdict_line(report)}
{_run_line(report)}
<h2>SLA</h2>
{sla_table(report)}
<h2>Data completeness</h2>
{_completeness_note(report)}
{chart_html}{_no_failures_note(report)}
<h2>Requests by name</h2>
{names_table(report)}
<p class="run">mcp-loadgen {escape(run["tool_version"])}; latencies from HDR
histograms (3 significant digits); times in seconds from the start of the run.</p>
{_chart_data_block(chart_list)}
</body>
</html>
"""


def write_html(path: str | Path, report: Json) -> None:
    write_atomic(path, render_html(report))
