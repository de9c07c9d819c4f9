"""mcp-loadgen report: render a saved report again."""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from loadgen.errors import ConfigError
from sla.cli import add_report_arguments, run_report
from sla.demo import DEFAULT_SLA_PATH, demo_sla_options
from sla.report_json import write_report
from sla.testing import RunBuilder, report_of

IMPOSSIBLE = {"thresholds": [{"metric": "latency.p99", "max": "1us"}]}


def saved_report(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    write_report(
        path, report_of(RunBuilder().record("ping", 2_000).finish(), IMPOSSIBLE)
    )
    return path


def report_command(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_report_arguments(parser)
    return run_report(parser.parse_args(list(argv)))


def test_report_renders_html_and_junit(tmp_path: Path) -> None:
    """Both files are written from the saved JSON."""
    html, junit = tmp_path / "r.html", tmp_path / "r.xml"
    code = report_command(
        str(saved_report(tmp_path)), "--html", str(html), "--junit", str(junit)
    )
    assert code == 0
    assert "latency.p99 &lt;= 1us" in html.read_text()
    assert ET.parse(junit).getroot().find("testsuite") is not None


def test_report_prints_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The saved verdict is printed, one line per threshold."""
    report_command(str(saved_report(tmp_path)))
    out = capsys.readouterr().out
    assert "FAIL  latency.p99 <= 1us: observed 2ms (limit <= 1us)" in out
    assert out.endswith("SLA failed (exit code 1)\n")


def test_report_can_exit_with_the_saved_code(tmp_path: Path) -> None:
    """--exit-code returns the run's own exit code."""
    assert report_command(str(saved_report(tmp_path)), "--exit-code") == 1


def test_report_checks_the_output_folder_first(tmp_path: Path) -> None:
    """A missing output folder is a configuration error before any work."""
    with pytest.raises(ConfigError, match="--html: the folder does not exist"):
        report_command(
            str(saved_report(tmp_path)), "--html", str(tmp_path / "nowhere" / "r.html")
        )


def test_the_demo_options_name_the_default_sla_and_three_reports(
    tmp_path: Path,
) -> None:
    """The demo's Locust options point at sla/default.yaml and the reports."""
    options = demo_sla_options(tmp_path)
    assert options[:2] == ["--sla", str(DEFAULT_SLA_PATH)]
    assert DEFAULT_SLA_PATH.is_file()
    assert options[2:] == [
        "--sla-report", str(tmp_path / "sla-report.json"),
        "--junit", str(tmp_path / "sla-junit.xml"),
        "--html-report", str(tmp_path / "report.html"),
    ]  # fmt: skip
