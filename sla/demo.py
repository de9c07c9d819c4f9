"""What ``mcp-loadgen demo`` passes to Locust so its run ends with a verdict."""

from __future__ import annotations

from pathlib import Path

DEFAULT_SLA_PATH = Path(__file__).resolve().with_name("default.yaml")
REPORT_NAMES = {
    "--sla-report": "sla-report.json",
    "--junit": "sla-junit.xml",
    "--html-report": "report.html",
}


def demo_sla_options(report_dir: Path) -> list[str]:
    """``--sla`` with the shipped lenient SLA, and the three report paths."""
    options = ["--sla", str(DEFAULT_SLA_PATH)]
    for option, name in REPORT_NAMES.items():
        options += [option, str(report_dir / name)]
    return options
