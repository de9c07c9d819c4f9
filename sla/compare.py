"""Compare two saved reports: is this build slower than the last one?

A regression limit says how far one metric may move against the baseline
in its bad direction: ``latency.p99=+10%`` (may grow by 10 % of the
baseline), ``error_rate=+0.5pt`` (by half a percentage point),
``rps=-10%`` (may fall by 10 %), ``latency.p50=+2ms`` (by two
milliseconds). Movement in the good direction is never a regression.

The totals are always judged; with ``per_endpoint`` so is every request name
present in both reports with at least ``min_count`` requests in each, since
a p99 over a handful of requests moves by chance alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loadgen.errors import ConfigError
from loadgen.recording.histogram import Histogram
from sla.units import UnitError, format_time, parse_time_s

Json = dict[str, Any]

DEFAULT_LIMITS = ("latency.p99=+10%", "error_rate=+0.5pt", "rps=-10%")
SHOWN_METRICS = ("latency.p50", "latency.p95", "latency.p99", "error_rate", "rps")
DEFAULT_MIN_COUNT = 100

_LIMIT = re.compile(r"^(?P<metric>[a-z_][a-z0-9_.]*)=(?P<sign>[+-])(?P<amount>\S+)$")
_LATENCY = re.compile(r"^latency\.(?P<stat>p[0-9]+(?:\.[0-9]+)?|mean|min|max)$")
_ERROR_RATE = re.compile(r"^error_rate(?:\.(?P<outcome>[a-z][a-z0-9_]*))?$")

REGRESSION = "REGRESSION"
OK = "ok"
NOT_JUDGED = ""


@dataclass(frozen=True)
class RegressionLimit:
    """How far ``metric`` may move in its bad direction."""

    metric: str
    # +1: growing is bad (latency, errors); -1: falling is bad (rps, count).
    direction: int
    amount: float
    relative: bool
    text: str

    def allowed(self, baseline: float) -> float:
        """The worst current value that is not a regression."""
        step = baseline * self.amount if self.relative else self.amount
        return baseline + self.direction * step

    def regressed(self, baseline: float, current: float) -> bool:
        allowed = self.allowed(baseline)
        return current > allowed if self.direction > 0 else current < allowed


@dataclass(frozen=True)
class Row:
    """One metric of one scope (the totals or a request name)."""

    scope: str
    metric: str
    baseline: float | None
    current: float | None
    limit: RegressionLimit | None
    result: str

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


@dataclass(frozen=True)
class Comparison:
    rows: tuple[Row, ...]
    only_in_baseline: tuple[str, ...]
    only_in_current: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def regressions(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.result == REGRESSION)


# Limits ------------------------------------------------------------------------


def parse_limit(text: str) -> RegressionLimit:
    """``METRIC=+AMOUNT`` or ``METRIC=-AMOUNT``; a ConfigError says why not."""
    match = _LIMIT.match(text.strip())
    if match is None:
        raise ConfigError(
            "a limit reads METRIC=+AMOUNT or METRIC=-AMOUNT, e.g. latency.p99=+10%",
            field="--limit",
            value=text,
        )
    metric, amount = match.group("metric"), match.group("amount")
    _check_metric(metric, text)
    direction = 1 if match.group("sign") == "+" else -1
    if amount.endswith("%"):
        return RegressionLimit(
            metric, direction, _number(amount[:-1], text) / 100, True, text
        )
    return RegressionLimit(
        metric, direction, _absolute(metric, amount, text), False, text
    )


def _check_metric(metric: str, text: str) -> None:
    if _LATENCY.match(metric) or _ERROR_RATE.match(metric):
        return
    if metric in ("rps", "count"):
        return
    raise ConfigError(
        "unknown metric; use latency.pNN, latency.mean, latency.min, latency.max, "
        "error_rate, error_rate.<outcome>, rps or count",
        field="--limit",
        value=text,
    )


def _number(text: str, whole: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            "the amount must be a number", field="--limit", value=whole
        ) from None
    if not value >= 0:
        raise ConfigError(
            "the amount must be zero or more", field="--limit", value=whole
        )
    return value


def _absolute(metric: str, amount: str, text: str) -> float:
    """An absolute amount in the report's unit: ms, a fraction, 1/s, count."""
    if _LATENCY.match(metric):
        try:
            return parse_time_s(amount) * 1000
        except UnitError as exc:
            raise ConfigError(str(exc), field="--limit", value=text) from exc
    if _ERROR_RATE.match(metric):
        if not amount.endswith("pt"):
            raise ConfigError(
                "an error rate moves in points (e.g. +0.5pt) or %",
                field="--limit",
                value=text,
            )
        return _number(amount[:-2], text) / 100
    return _number(amount, text)


def parse_limits(
    texts: Sequence[str], *, defaults: bool = True
) -> list[RegressionLimit]:
    """The limits to apply: the defaults, replaced metric by metric by ``texts``."""
    given = [parse_limit(t) for t in texts]
    chosen = {limit.metric: limit for limit in given}
    if defaults:
        for limit in map(parse_limit, DEFAULT_LIMITS):
            chosen.setdefault(limit.metric, limit)
    return list(chosen.values())


# Values --------------------------------------------------------------------------


def metric_value(summary: Json, metric: str) -> float | None:
    """A metric of one name summary in the report's units (ms, fraction, 1/s)."""
    count = summary["count"]
    if metric == "count":
        return float(count)
    if metric == "rps":
        return float(summary["rps"])
    if not count:
        return None
    rate = _ERROR_RATE.match(metric)
    if rate is not None:
        outcome = rate.group("outcome")
        if outcome is None:
            return float(summary["error_rate"])
        return summary["failures"].get(outcome, 0) / count
    stat = metric.removeprefix("latency.")
    latency = summary["latency_ms"]
    if stat in latency:
        return float(latency[stat])
    return _histogram_percentile(summary, float(stat[1:]))


def _histogram_percentile(summary: Json, percentile: float) -> float | None:
    """A percentile the report does not list, from its HDR histogram."""
    data = summary["histogram"]["data"]
    if not data:
        return None
    return Histogram.decode_hdr(data).percentile_us(percentile) / 1000


def format_metric(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric.startswith("latency."):
        return format_time(value / 1000)
    if metric.startswith("error_rate"):
        return f"{value * 100:.3g}%"
    if metric == "count":
        return str(int(value))
    return f"{value:.4g}/s"


# Comparing -----------------------------------------------------------------------


def compare_reports(
    baseline: Json,
    current: Json,
    limits: Sequence[RegressionLimit],
    *,
    per_endpoint: bool = False,
    min_count: int = DEFAULT_MIN_COUNT,
) -> Comparison:
    """Rows for the totals and every shared name; regressions marked."""
    base = {e["name"]: e for e in baseline["endpoints"]}
    cur = {e["name"]: e for e in current["endpoints"]}
    shared = sorted(base.keys() & cur.keys())
    rows = list(
        _scope_rows(
            "all requests", baseline["totals"], current["totals"], limits, judged=True
        )
    )
    for name in shared:
        judged = (
            per_endpoint and min(base[name]["count"], cur[name]["count"]) >= min_count
        )
        rows += _scope_rows(name, base[name], cur[name], limits, judged=judged)
    return Comparison(
        rows=tuple(rows),
        only_in_baseline=tuple(sorted(base.keys() - cur.keys())),
        only_in_current=tuple(sorted(cur.keys() - base.keys())),
        warnings=tuple(_warnings(baseline, "baseline") + _warnings(current, "current")),
    )


def _scope_rows(
    scope: str,
    baseline: Json,
    current: Json,
    limits: Sequence[RegressionLimit],
    *,
    judged: bool,
) -> list[Row]:
    by_metric = {limit.metric: limit for limit in limits}
    metrics = list(SHOWN_METRICS) + [m for m in by_metric if m not in SHOWN_METRICS]
    rows = []
    for metric in metrics:
        before, after = metric_value(baseline, metric), metric_value(current, metric)
        limit = by_metric.get(metric) if judged else None
        result = NOT_JUDGED
        if limit is not None and before is not None and after is not None:
            result = REGRESSION if limit.regressed(before, after) else OK
        rows.append(Row(scope, metric, before, after, limit, result))
    return rows


def _warnings(report: Json, which: str) -> list[str]:
    completeness = report["completeness"]
    if completeness["complete"]:
        return []
    return [
        f"the {which} report is incomplete ({completeness['intervals_missing']} "
        "intervals missing): its numbers may be off"
    ]


# Text ------------------------------------------------------------------------------


def _change_text(row: Row) -> str:
    change = row.change
    if change is None or row.baseline is None:
        return ""
    if row.metric.startswith("error_rate"):
        return f"{change * 100:+.3g}pt"
    if row.baseline == 0:
        return "new" if change else "0"
    return f"{change / row.baseline * 100:+.1f}%"


def format_comparison(comparison: Comparison) -> str:
    """The table of deltas, regressions marked, as plain text."""
    header = ("scope", "metric", "baseline", "current", "change", "limit", "result")
    table = [header]
    for row in comparison.rows:
        table.append(
            (
                row.scope,
                row.metric,
                format_metric(row.metric, row.baseline),
                format_metric(row.metric, row.current),
                _change_text(row),
                row.limit.text.split("=", 1)[1] if row.limit else "",
                row.result,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in table
    ]
    lines += [f"only in baseline: {n}" for n in comparison.only_in_baseline]
    lines += [f"only in current: {n}" for n in comparison.only_in_current]
    lines += [f"warning: {w}" for w in comparison.warnings]
    count = len(comparison.regressions)
    lines.append(f"{count} regression{'s' if count != 1 else ''}")
    return "\n".join(lines) + "\n"
