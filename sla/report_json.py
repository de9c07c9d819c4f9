"""The SLA JSON report: the run, its results and its verdict in one file.

The layout is versioned (``schema_version``) and described by the JSON
Schema shipped beside this module (``sla/schema/report-v1.json``); docs/sla.md
explains every field. Latencies are in milliseconds with microsecond
precision; each name also carries its HDR histogram in HdrHistogram's V2
compressed encoding (base64), so reports from several runs or tools can be
merged again without loss.

Open model (loadgen.pacing): ``latency_ms`` is the latency from each
request's intended start, corrected for coordinated omission, and its
histogram is that one; ``uncorrected_latency_ms`` beside it counts from the
actual send. In a closed-model run there is one measurement, so both keys
hold the same values, taken from the same histogram. The ``open_model``
section (filled by the pacer's glue) says what the schedule did; it is null
in a closed-model run.

The JUnit and HTML renderers, ``mcp-loadgen report`` and ``mcp-loadgen
compare`` all read this document, never the live objects, so a saved report
renders exactly as the run's own did.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from loadgen.aggregator.results import (
    Completeness,
    IntervalResult,
    NameResult,
    RunSnapshot,
)
from loadgen.errors import ConfigError
from sla.evaluate import ThresholdResult
from sla.files import write_atomic
from sla.live import Abort
from sla.metrics import METRICS
from sla.spec import Threshold
from sla.units import Quantity, format_value
from sla.verdict import Verdict

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "schema/report-v1.json"
HISTOGRAM_FORMAT = "hdrhistogram-v2-base64"

# The percentiles every name reports (the list, as JSON keys).
REPORT_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)
TIMELINE_PERCENTILES = (50.0, 95.0, 99.0)

Json = dict[str, Any]
SectionBuilder = Callable[[RunSnapshot], Json | None]

# Sections other modules fill; the schema names each one it allows.
_SECTIONS: dict[str, SectionBuilder] = {}
_SCHEMA_SECTIONS = ("resilience", "open_model")


def register_report_section(name: str, build: SectionBuilder) -> None:
    """Fill a top-level section of the report (e.g. ``resilience``); a
    builder returns the section, or None where the schema allows null."""
    if name not in _SCHEMA_SECTIONS:
        raise ValueError(f"report schema v{SCHEMA_VERSION} has no section {name!r}")
    _SECTIONS[name] = build


@dataclass(frozen=True)
class RunInfo:
    """What the run was, beyond what the aggregator measured."""

    started_at_s: float = 0.0
    target_url: str | None = None
    mcp_revision: str | None = None
    users: int | None = None
    locustfile: str | None = None
    load_model: str | None = None
    sla_file: str | None = None
    tool_version: str = ""


def percentile_key(percentile: float) -> str:
    """50.0 -> "p50", 99.9 -> "p99.9"."""
    return f"p{percentile:g}"


def utc(epoch_s: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2025-01-31T12:00:00.250Z."""
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(micros: float) -> float:
    return round(micros / 1000, 3)


# Building ---------------------------------------------------------------------


def build_report(snapshot: RunSnapshot, verdict: Verdict, info: RunInfo) -> Json:
    """The whole report document for one run."""
    start_s = snapshot.start_s if snapshot.intervals else info.started_at_s
    report: Json = {
        "schema_version": SCHEMA_VERSION,
        "run": _run(snapshot, info, start_s),
        "totals": name_summary(snapshot.cumulative.total),
        "endpoints": [
            name_summary(snapshot.cumulative.by_name[name])
            for name in snapshot.cumulative.names
        ],
        "timeline": [_interval(i, start_s) for i in snapshot.intervals],
        "sla": _sla(verdict, info, start_s),
        "completeness": _completeness(snapshot.completeness),
        "resilience": {"experiments": []},
        "open_model": None,
    }
    for name, build in _SECTIONS.items():
        report[name] = build(snapshot)
    return report


def _run(snapshot: RunSnapshot, info: RunInfo, start_s: float) -> Json:
    end_s = max(snapshot.end_s, start_s)
    return {
        "id": snapshot.run_id,
        "start_utc": utc(start_s),
        "end_utc": utc(end_s),
        "duration_s": round(end_s - start_s, 3),
        "tool": "mcp-loadgen",
        "tool_version": info.tool_version,
        "target_url": info.target_url,
        "mcp_revision": info.mcp_revision,
        "users": info.users,
        "workers": snapshot.completeness.workers_seen,
        "locustfile": info.locustfile,
        "load_model": info.load_model,
        "report_interval_s": snapshot.report_interval_s,
    }


def _failures(result: NameResult) -> Json:
    """Every known failure class (zero included), then any others seen."""
    by_outcome = dict.fromkeys(METRICS.outcomes, 0)
    by_outcome.update(result.failures_by_outcome())
    return by_outcome


def _latency(result: NameResult, percentiles: tuple[float, ...]) -> Json | None:
    if result.count == 0:
        return None
    values = result.percentiles_us(percentiles)
    return {percentile_key(p): _ms(values[p]) for p in percentiles}


def _latency_stats(result: NameResult) -> Json | None:
    """Mean, extremes, stdev and the report's percentiles, in milliseconds."""
    latency = _latency(result, REPORT_PERCENTILES)
    if latency is None:
        return None
    return {
        "mean": _ms(result.mean_us),
        "min": _ms(result.min_us),
        "max": _ms(result.max_us),
        "stdev": _ms(result.stdev_us),
        **latency,
    }


def name_summary(result: NameResult) -> Json:
    """Counts, rates, latency statistics and the histogram of one name."""
    latency = _latency_stats(result)
    uncorrected = (
        latency if result.uncorrected is None else _latency_stats(result.uncorrected)
    )
    return {
        "name": result.name,
        "count": result.count,
        "failure_count": result.failure_count,
        "error_rate": round(result.error_rate(), 6),
        "failures": _failures(result),
        "rps": round(result.rps, 3),
        "latency_ms": latency,
        "uncorrected_latency_ms": uncorrected,
        "histogram": {
            "format": HISTOGRAM_FORMAT,
            "unit": "us",
            "data": result.histogram.encode_hdr() if result.count else "",
        },
    }


def _interval(interval: IntervalResult, start_s: float) -> Json:
    total = interval.total
    return {
        "start_s": round(interval.start_s - start_s, 3),
        "end_s": round(interval.end_s - start_s, 3),
        "count": total.count,
        "rps": round(total.rps, 3),
        "failures": total.failure_count,
        "failures_by_outcome": dict(total.failures_by_outcome()),
        "latency_ms": _latency(total, TIMELINE_PERCENTILES),
        "workers": interval.worker_count,
        "names": {
            name: {
                "count": result.count,
                "rps": round(result.rps, 3),
                "failures": result.failure_count,
                "latency_ms": _latency(result, TIMELINE_PERCENTILES),
            }
            for name, result in sorted(interval.by_name.items())
        },
    }


def _completeness(completeness: Completeness) -> Json:
    return {
        "complete": completeness.complete,
        "workers_seen": completeness.workers_seen,
        "workers_finished": completeness.workers_finished,
        "intervals_received": completeness.intervals_received,
        "intervals_missing": completeness.intervals_missing,
        "lost_workers": [
            {
                "worker_id": lost.worker_id,
                "last_seq": lost.last_seq,
                "last_interval_end_utc": utc(lost.last_interval_end_s)
                if lost.last_interval_end_s
                else None,
                "intervals_lost": lost.intervals_lost,
            }
            for lost in completeness.lost_workers
        ],
        "duplicate_frames": completeness.duplicate_frames,
        "rejected_frames": dict(completeness.rejected_frames),
        "clamped_low_count": completeness.clamped_low_count,
        "clamped_high_count": completeness.clamped_high_count,
        "dropped_event_count": completeness.dropped_event_count,
    }


# The sla section ----------------------------------------------------------------


def in_report_unit(threshold: Threshold, value: float | None) -> float | None:
    """A canonical value in the unit the report states for its metric."""
    if value is None or not math.isfinite(value):
        return None
    unit = threshold.metric.report_unit
    if threshold.metric.quantity is Quantity.TIME and unit == "ms":
        return round(value * 1000, 3)
    return round(value, 6)


def _sla(verdict: Verdict, info: RunInfo, start_s: float) -> Json:
    return {
        "file": info.sla_file,
        "passed": verdict.passed,
        "status": verdict.status,
        "exit_code": verdict.exit_code,
        "aborted": _abort(verdict.aborted),
        "thresholds": [_threshold(r, start_s) for r in verdict.results],
    }


def _threshold(result: ThresholdResult, start_s: float) -> Json:
    t = result.threshold
    first = result.first_breach_s
    return {
        "index": result.index,
        "origin": t.origin,
        "label": t.label,
        "metric": t.metric.name,
        "target": t.target,
        "window_s": t.window_s,
        "bound": t.bound.value,
        "inclusive": t.inclusive,
        "unit": t.metric.report_unit,
        "limit": in_report_unit(t, t.limit),
        "observed": in_report_unit(t, result.observed),
        "limit_text": f"{t.operator} {t.limit_text}",
        "observed_text": format_value(result.observed, t.metric.quantity),
        "passed": result.passed,
        "first_breach_s": None if first is None else round(first, 3),
        "first_breach_utc": None if first is None else utc(start_s + first),
        "windows_judged": result.windows_judged,
        "windows_breached": result.windows_breached,
        "abort_on_fail": t.abort_on_fail,
        "abort_grace_s": t.abort_grace_s,
        "note": result.note,
    }


def _abort(abort: Abort | None) -> Json | None:
    if abort is None:
        return None
    t = abort.threshold
    return {
        "index": abort.index,
        "label": t.label,
        "metric": t.metric.name,
        "target": t.target,
        "unit": t.metric.report_unit,
        "limit": in_report_unit(t, t.limit),
        "observed": in_report_unit(t, abort.observed),
        "elapsed_s": round(abort.elapsed_s, 3),
    }


# Files ----------------------------------------------------------------------------


def dump_report(report: Json) -> str:
    # allow_nan=False: NaN and Infinity are not JSON; fail loudly in tests.
    return json.dumps(report, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_report(path: str | Path, report: Json) -> None:
    """Write the report atomically (temporary file, then rename)."""
    write_atomic(path, dump_report(report))


def load_report(path: str | Path) -> Json:
    """Read a saved report; a ConfigError says what is wrong with the file."""
    source = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the report: {exc.strerror}", source=source
        ) from exc
    except ValueError as exc:
        raise ConfigError(f"not valid JSON: {exc}", source=source) from exc
    return check_report(data, source)


def check_report(data: object, source: str = "") -> Json:
    """The shape checks every reader relies on (the full schema is larger)."""
    if not isinstance(data, dict):
        raise ConfigError("a report must be a JSON object", source=source)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(
            f"this build reads report schema version {SCHEMA_VERSION}",
            source=source,
            field="schema_version",
            value=version,
        )
    for key in ("run", "totals", "endpoints", "timeline", "sla", "completeness"):
        if key not in data:
            raise ConfigError("missing section", source=source, field=key)
    return data


def report_schema() -> Mapping[str, Any]:
    """The JSON Schema of this report version, as shipped in the package."""
    text = resources.files("sla").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema
