"""JUnit XML: one test case per threshold, parsed back as CI systems do."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from sla.junit import render_junit, write_junit
from sla.live import Abort
from sla.spec import parse_sla
from sla.testing import RunBuilder, report_of

SLA = {
    "thresholds": [
        {"metric": "latency.p99", "target": "tools/call *", "max": "1us"},
        {"metric": "error_rate", "max": "50%"},
    ]
}


def parsed(report: dict[str, object]) -> ET.Element:
    return ET.fromstring(render_junit(report))  # type: ignore[arg-type]


def run() -> RunBuilder:
    return RunBuilder().record("tools/call echo", 3_000, count=20)


def test_each_threshold_is_a_test_case_plus_completeness() -> None:
    """Two thresholds give three test cases, the last for data completeness."""
    suite = parsed(report_of(run().finish(), SLA)).find("testsuite")
    assert suite is not None
    names = [case.get("name") for case in suite.findall("testcase")]
    assert names == [
        "latency.p99{tools/call *} <= 1us",
        "error_rate <= 50%",
        "data completeness",
    ]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "3",
        "1",
        "0",
    )


def test_a_failure_carries_observed_against_limit() -> None:
    """The failed threshold's message says what was seen and what was allowed."""
    suite = parsed(report_of(run().finish(), SLA)).find("testsuite")
    assert suite is not None
    failure = suite.findall("testcase")[0].find("failure")
    assert failure is not None
    message = failure.get("message", "")
    assert message.startswith("observed 3ms, limit <= 1us")
    assert "first breach 1 s into the run" in message


def test_a_passing_threshold_has_no_failure_element() -> None:
    """A threshold that holds is a plain, passing test case."""
    suite = parsed(report_of(run().finish(), SLA)).find("testsuite")
    assert suite is not None
    assert list(suite.findall("testcase")[1]) == []


def test_the_aborting_threshold_says_it_stopped_the_run() -> None:
    """The threshold that aborted the run fails with the time it stopped it."""
    spec = parse_sla(SLA)
    abort = Abort(1, spec.thresholds[1], 0.9, 7.5)
    suite = parsed(report_of(run().finish(), SLA, aborted=abort)).find("testsuite")
    assert suite is not None
    failure = suite.findall("testcase")[1].find("failure")
    assert failure is not None
    assert "stopped the run after 7.5 s" in failure.get("message", "")


def test_incomplete_data_is_an_error_case() -> None:
    """Lost intervals make the completeness test case an error."""
    builder = run().end_interval(lose=["worker-1"]).record("ping", 10)
    suite = parsed(report_of(builder.finish(), SLA)).find("testsuite")
    assert suite is not None
    error = suite.findall("testcase")[-1].find("error")
    assert error is not None
    assert "1 intervals missing" in error.get("message", "")


def test_the_file_is_written_as_utf8_xml(tmp_path: Path) -> None:
    """write_junit leaves a parseable XML file with the suite's properties."""
    path = tmp_path / "junit.xml"
    write_junit(path, report_of(run().finish(), SLA))
    root = ET.parse(path).getroot()
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["status"] == "failed"
    assert properties["exit_code"] == "1"
