"""End to end: headless Locust against the demo target, judged by an SLA."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from sla.report_json import report_schema
from tests.support import REPO, LocustRun, demo_target, run_locust

pytestmark = pytest.mark.slow

# The mixed workload, with the SLA's Locust options and hooks loaded.
LOCUSTFILE = """
from locust import between

import sla.locust_hooks  # noqa: F401
from loadgen.users import McpUser
from loadgen.workload import WorkloadSpec


class McpMix(McpUser):
    wait_time = between(0.01, 0.05)
    workload = WorkloadSpec()
"""

IMPOSSIBLE = """\
thresholds:
  - metric: latency.p99
    target: "tools/call *"
    max: 1us
"""

ABORTING = """\
thresholds:
  - metric: latency.p99
    max: 1us
    abort_on_fail: true
    abort_grace: 1s
"""

MISSPELLED = """\
thresholds:
  - metric: latency.p99
    maximum: 250ms
"""


@pytest.fixture(scope="module")
def target_url() -> Iterator[str]:
    with demo_target() as url:
        yield url


@pytest.fixture
def locustfile(tmp_path: Path) -> Path:
    path = tmp_path / "mix_with_sla.py"
    path.write_text(LOCUSTFILE)
    return path


def final_locust_count(output: str) -> int:
    """Locust's final request count: the largest of its printed "Aggregated"
    rows (its CSV is rewritten once a second, so it may lag the end)."""
    rows = [line.split() for line in output.splitlines()]
    return max(int(row[1]) for row in rows if row[:1] == ["Aggregated"])


def sla_run(
    url: str, tmp_path: Path, locustfile: Path, sla: Path, run_time: str = "3s"
) -> LocustRun:
    return run_locust(
        url,
        tmp_path,
        "--sla",
        str(sla),
        "--sla-report",
        str(tmp_path / "report.json"),
        "--junit",
        str(tmp_path / "junit.xml"),
        "--html-report",
        str(tmp_path / "report.html"),
        "--workload",
        str(REPO / "loadgen" / "workloads" / "demo.toml"),
        locustfile=locustfile,
        run_time=run_time,
    )


def test_a_lenient_sla_passes_with_a_valid_report(
    target_url: str, tmp_path: Path, locustfile: Path
) -> None:
    """The default SLA on a demo run exits 0; the report matches the schema
    and counts every request Locust counted."""
    run = sla_run(target_url, tmp_path, locustfile, REPO / "sla" / "default.yaml")
    report = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(report, report_schema(), cls=jsonschema.Draft202012Validator)
    assert run.exit_code == 0, run.output
    assert report["sla"]["passed"] is True
    assert report["totals"]["count"] == final_locust_count(run.output)
    assert "<svg" in (tmp_path / "report.html").read_text()


def test_an_impossible_sla_fails_with_a_junit_failure(
    target_url: str, tmp_path: Path, locustfile: Path
) -> None:
    """p99 under 1 us on tool calls exits 1 and JUnit shows the failure."""
    sla = tmp_path / "impossible.yaml"
    sla.write_text(IMPOSSIBLE)
    run = sla_run(target_url, tmp_path, locustfile, sla)
    report = json.loads((tmp_path / "report.json").read_text())
    assert run.exit_code == 1, run.output
    assert report["sla"]["passed"] is False
    failures = ET.parse(tmp_path / "junit.xml").getroot().iter("failure")
    assert "limit <= 1us" in next(failures).get("message", "")


def test_a_misspelled_key_exits_2_naming_it(
    target_url: str, tmp_path: Path, locustfile: Path
) -> None:
    """maximum: instead of max: stops the run at once with exit code 2."""
    sla = tmp_path / "misspelled.yaml"
    sla.write_text(MISSPELLED)
    run = sla_run(target_url, tmp_path, locustfile, sla)
    assert run.exit_code == 2, run.output
    assert "thresholds[0].maximum: unknown key; did you mean max?" in run.output
    assert not (tmp_path / "report.json").exists()


def test_an_abort_stops_the_run_early_and_still_reports(
    target_url: str, tmp_path: Path, locustfile: Path
) -> None:
    """A breach past the grace ends a 60 s run within seconds, exit code 1,
    and the report says which threshold stopped it."""
    sla = tmp_path / "aborting.yaml"
    sla.write_text(ABORTING)
    run = sla_run(target_url, tmp_path, locustfile, sla, run_time="60s")
    report = json.loads((tmp_path / "report.json").read_text())
    assert run.exit_code == 1, run.output
    assert report["sla"]["aborted"]["metric"] == "latency.p99"
    assert report["run"]["duration_s"] < 10
