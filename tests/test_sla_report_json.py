"""The SLA JSON report: schema, contents, re-aggregation, atomic writing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from loadgen.aggregator.results import RunSnapshot
from loadgen.errors import ConfigError
from loadgen.recording.histogram import Histogram
from sla import report_json
from sla.live import Abort
from sla.report_json import (
    dump_report,
    load_report,
    register_report_section,
    report_schema,
    write_report,
)
from sla.spec import parse_sla
from sla.testing import RunBuilder, report_of

SLA = {
    "thresholds": [
        {
            "metric": "latency.p99",
            "target": "tools/call *",
            "max": "10ms",
            "window": "2s",
        },
        {"metric": "error_rate", "max": "5%"},
    ]
}


def mixed_run() -> RunBuilder:
    run = RunBuilder()
    for second in range(4):
        run.record("tools/call echo", [800, 1_200, 2_500], count=20)
        run.record("resources/read demo://readme", 600, count=10)
        if second == 2:
            run.record("tools/call echo", 40_000, "transport", count=2)
        if second < 3:
            run.end_interval()
    return run


def validate(report: dict[str, Any]) -> None:
    jsonschema.validate(
        json.loads(dump_report(report)),
        report_schema(),
        cls=jsonschema.Draft202012Validator,
    )


def test_the_shipped_schema_is_a_valid_json_schema() -> None:
    """sla/schema/report-v1.json is itself valid draft 2020-12."""
    jsonschema.Draft202012Validator.check_schema(report_schema())


def test_a_failed_run_report_matches_the_schema() -> None:
    """A report with failed thresholds and failures validates."""
    validate(report_of(mixed_run().finish(), SLA))


def test_an_aborted_incomplete_run_report_matches_the_schema() -> None:
    """Abort, lost workers and gaps are all expressible in the schema."""
    run = mixed_run().record("ping", 100, worker="w2").end_interval()
    run.record("ping", 100, worker="w2").end_interval(lose=["w2"])
    snapshot = run.vanish("w2").finish()
    spec = parse_sla(SLA)
    abort = Abort(1, spec.thresholds[1], 0.5, 3.0)
    report = report_of(snapshot, SLA, aborted=abort)
    validate(report)
    assert report["sla"]["aborted"]["elapsed_s"] == 3.0
    assert report["completeness"]["lost_workers"][0]["worker_id"] == "w2"


def test_an_empty_run_report_matches_the_schema() -> None:
    """A run without a single request still writes a valid report."""
    report = report_of(RunBuilder().finish(), None)
    validate(report)
    assert report["totals"]["latency_ms"] is None


def test_totals_and_endpoints_carry_counts_failures_and_latency() -> None:
    """Each name has count, failures by class, rps and the percentile set."""
    report = report_of(mixed_run().finish(), SLA)
    echo = next(e for e in report["endpoints"] if e["name"] == "tools/call echo")
    assert echo["count"] == 242
    assert echo["failures"]["transport"] == 2
    assert echo["failures"]["tool_error"] == 0
    assert set(echo["latency_ms"]) >= {"p50", "p99", "p99.9", "p99.99", "mean"}
    assert report["totals"]["count"] == sum(e["count"] for e in report["endpoints"])


def test_the_timeline_has_one_entry_per_interval() -> None:
    """Intervals appear in order, in seconds from the start, per name."""
    report = report_of(mixed_run().finish(), SLA)
    timeline = report["timeline"]
    assert [(i["start_s"], i["end_s"]) for i in timeline] == [
        (0.0, 1.0),
        (1.0, 2.0),
        (2.0, 3.0),
        (3.0, 4.0),
    ]
    assert timeline[2]["failures"] == 2
    assert timeline[2]["names"]["tools/call echo"]["count"] == 62


def test_thresholds_report_limit_and_observed_in_milliseconds() -> None:
    """A latency threshold's limit and observed value are in ms, with text."""
    report = report_of(mixed_run().finish(), SLA)
    latency = report["sla"]["thresholds"][0]
    assert (latency["unit"], latency["limit"], latency["limit_text"]) == (
        "ms",
        10.0,
        "<= 10ms",
    )
    assert latency["observed"] == pytest.approx(40.0, rel=1e-3)
    assert latency["first_breach_s"] == 3.0
    assert latency["first_breach_utc"] == "2023-11-14T22:13:23.000Z"


def test_histograms_re_aggregate_exactly() -> None:
    """Two reports' encoded histograms merge to the histogram of both runs."""
    first = report_of(mixed_run().finish(), SLA)["totals"]
    second = report_of(RunBuilder().record("ping", 123_456).finish(), SLA)["totals"]
    merged = Histogram.merge(
        Histogram.decode_hdr(t["histogram"]["data"]) for t in (first, second)
    )
    assert merged.count == first["count"] + second["count"]
    assert merged.percentile_us(100) >= 123_456


def test_a_registered_section_fills_the_report() -> None:
    """The resilience section comes from the builder registered for it."""

    def builder(snapshot: RunSnapshot) -> dict[str, Any]:
        experiment = {"name": "outage", "time_to_open_s": 1.5, "time_to_recover_s": 4.0}
        return {"experiments": [experiment]}

    register_report_section("resilience", builder)
    try:
        report = report_of(mixed_run().finish(), SLA)
    finally:
        report_json._SECTIONS.clear()
    validate(report)
    assert report["resilience"]["experiments"][0]["time_to_open_s"] == 1.5


def test_an_unknown_section_cannot_be_registered() -> None:
    """Only sections the schema describes can be filled."""
    with pytest.raises(ValueError, match="no section"):
        register_report_section("chaos", lambda snapshot: {})


def test_writing_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    """The report replaces an older one and no temporary file remains."""
    path = tmp_path / "report.json"
    path.write_text("old")
    report = report_of(mixed_run().finish(), SLA)
    write_report(path, report)
    assert json.loads(path.read_text())["schema_version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted before the rename, the old report stays whole."""
    path = tmp_path / "report.json"
    path.write_text("old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(path, report_of(mixed_run().finish(), SLA))
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_written_report_is_readable_by_others(tmp_path: Path) -> None:
    """The atomic write does not leave the file private to its owner."""
    path = tmp_path / "report.json"
    write_report(path, report_of(mixed_run().finish(), SLA))
    assert path.stat().st_mode & 0o044 == 0o044 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_loading_a_report_round_trips(tmp_path: Path) -> None:
    """What write_report wrote, load_report reads back equal."""
    path = tmp_path / "report.json"
    report = report_of(mixed_run().finish(), SLA)
    write_report(path, report)
    assert load_report(path) == json.loads(dump_report(report))


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"schema_version": 99}', "schema version 1"),
        ('{"schema_version": 1}', "missing section"),
    ],
)
def test_loading_a_bad_report_is_a_config_error(
    tmp_path: Path, text: str, rule: str
) -> None:
    """A file that is not a v1 report is refused with the file named."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rule) as caught:
        load_report(path)
    assert caught.value.source == str(path)


def test_no_value_in_a_report_is_nan() -> None:
    """Dumping refuses NaN, so every number in the report is finite."""
    report = report_of(mixed_run().finish(), SLA)
    assert np.isfinite(report["totals"]["latency_ms"]["stdev"])
    dump_report(report)
