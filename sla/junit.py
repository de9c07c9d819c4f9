"""JUnit XML from a report: one test case per threshold, so CI shows the SLA.

The layout is the one Jenkins, GitLab, GitHub test reporters and Azure
Pipelines all read: ``<testsuites>`` around one ``<testsuite>``, a
``<testcase>`` per threshold, a ``<failure>`` element carrying the observed
value against the limit. Data completeness is one more test case, in error
when intervals or workers were lost, because then no verdict holds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from sla.files import write_atomic

Json = dict[str, Any]
SUITE_NAME = "mcp-loadgen SLA"


def render_junit(report: Json) -> str:
    """The JUnit XML document for a report, as text."""
    suite = ET.Element("testsuite", _suite_attributes(report))
    suite.append(_properties(report))
    for threshold in report["sla"]["thresholds"]:
        suite.append(_threshold_case(threshold, report))
    suite.append(_completeness_case(report["completeness"]))
    _count_cases(suite)
    root = ET.Element("testsuites", {"name": SUITE_NAME})
    root.append(suite)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def write_junit(path: str | Path, report: Json) -> None:
    write_atomic(path, render_junit(report))


def _suite_attributes(report: Json) -> dict[str, str]:
    run = report["run"]
    return {
        "name": SUITE_NAME,
        "timestamp": run["start_utc"].removesuffix("Z"),
        "time": f"{run['duration_s']:.3f}",
    }


def _properties(report: Json) -> ET.Element:
    properties = ET.Element("properties")
    run, sla = report["run"], report["sla"]
    shown = {
        "run_id": run["id"],
        "target_url": run["target_url"],
        "sla_file": sla["file"],
        "status": sla["status"],
        "exit_code": sla["exit_code"],
    }
    for name, value in shown.items():
        if value is not None:
            ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    return properties


def _threshold_case(threshold: Json, report: Json) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "name": threshold["label"],
            "classname": f"sla.{threshold['metric']}",
            "time": "0",
        },
    )
    aborted = report["sla"]["aborted"]
    caused_abort = aborted is not None and aborted["index"] == threshold["index"]
    if not threshold["passed"] or caused_abort:
        message = _failure_message(threshold, aborted if caused_abort else None)
        failure = ET.SubElement(case, "failure", {"message": message, "type": "SLA"})
        failure.text = message
    return case


def _failure_message(threshold: Json, aborted: Json | None) -> str:
    observed = threshold["observed_text"]
    text = f"observed {observed}, limit {threshold['limit_text']}"
    if threshold["window_s"] is not None:
        text += f" (worst of {threshold['windows_judged']} windows"
        text += f", {threshold['windows_breached']} breached)"
    if threshold["first_breach_s"] is not None:
        text += f"; first breach {threshold['first_breach_s']:g} s into the run"
    if threshold["note"]:
        text += f"; {threshold['note']}"
    if aborted is not None:
        text += f"; stopped the run after {aborted['elapsed_s']:g} s"
    return text


def _completeness_case(completeness: Json) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"name": "data completeness", "classname": "sla.completeness", "time": "0"},
    )
    if not completeness["complete"]:
        lost = len(completeness["lost_workers"])
        message = (
            f"{completeness['intervals_missing']} intervals missing, "
            f"{lost} workers lost: no verdict can be trusted"
        )
        error = ET.SubElement(case, "error", {"message": message, "type": "incomplete"})
        error.text = message
    return case


def _count_cases(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", "0")
