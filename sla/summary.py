"""The verdict as a few lines of text, for the console and for CI logs."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def _threshold_line(threshold: Json) -> str:
    result = "PASS" if threshold["passed"] else "FAIL"
    line = (
        f"  {result}  {threshold['label']}: observed {threshold['observed_text']}"
        f" (limit {threshold['limit_text']})"
    )
    if threshold["first_breach_s"] is not None:
        line += f", first breach {threshold['first_breach_s']:g} s into the run"
    if threshold["note"]:
        line += f"; {threshold['note']}"
    return line


def format_verdict(report: Json) -> str:
    """One line per threshold, then the verdict and its exit code."""
    sla = report["sla"]
    lines = [_threshold_line(t) for t in sla["thresholds"]]
    if not sla["thresholds"]:
        failed = report["totals"]["failure_count"]
        lines.append(f"  no SLA file; {failed} requests failed")
    aborted = sla["aborted"]
    if aborted is not None:
        lines.append(
            f"  the run was stopped after {aborted['elapsed_s']:g} s by "
            f"{aborted['label']}"
        )
    completeness = report["completeness"]
    if not completeness["complete"]:
        lines.append(
            f"  data incomplete: {completeness['intervals_missing']} intervals "
            f"missing, {len(completeness['lost_workers'])} workers lost"
        )
    lines.append(f"SLA {sla['status']} (exit code {sla['exit_code']})")
    return "\n".join(lines) + "\n"
