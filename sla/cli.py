"""``mcp-loadgen compare`` and ``mcp-loadgen report``: work on saved reports.

``compare BASELINE.json CURRENT.json`` prints a table of deltas and exits 1
on a regression (0 otherwise, 2 on a bad file or option). ``report
REPORT.json --html X --junit Y`` renders a saved report again, prints its
verdict and exits 0 (2 on a bad file or option; with ``--exit-code``, the
saved run's own code).

Each command is a pair of functions, ``add_*_arguments(parser)`` and
``run_*(args) -> exit code``, the shape ``loadgen.cli`` registers.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sla.compare import (
    DEFAULT_LIMITS,
    DEFAULT_MIN_COUNT,
    compare_reports,
    format_comparison,
    parse_limits,
)
from sla.files import check_writable
from sla.html import write_html
from sla.junit import write_junit
from sla.report_json import load_report
from sla.summary import format_verdict
from sla.verdict import EXIT_FAILED, EXIT_PASSED

logger = logging.getLogger(__name__)


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", help="the earlier run's SLA JSON report")
    parser.add_argument("current", help="the run to judge against it")
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="METRIC=CHANGE",
        help="how far a metric may move in its bad direction, e.g. "
        "latency.p99=+10%%, error_rate=+0.5pt, rps=-10%%, latency.p50=+2ms; "
        "replaces the default for that metric (repeatable; defaults: "
        f"{', '.join(DEFAULT_LIMITS).replace('%', '%%')})",
    )
    parser.add_argument(
        "--no-default-limits",
        action="store_true",
        help="judge only the metrics given with --limit",
    )
    parser.add_argument(
        "--per-endpoint",
        action="store_true",
        help="also judge each request name, not only the totals",
    )
    parser.add_argument(
        "--min-count",
        type=int,
        default=DEFAULT_MIN_COUNT,
        help="with --per-endpoint, judge names with at least this many requests "
        f"in both runs (default {DEFAULT_MIN_COUNT})",
    )


def run_compare(args: argparse.Namespace) -> int:
    """Print the deltas; 1 when any judged metric regressed."""
    limits = parse_limits(args.limit, defaults=not args.no_default_limits)
    baseline = load_report(args.baseline)
    current = load_report(args.current)
    comparison = compare_reports(
        baseline,
        current,
        limits,
        per_endpoint=args.per_endpoint,
        min_count=args.min_count,
    )
    sys.stdout.write(format_comparison(comparison))
    return EXIT_FAILED if comparison.regressions else EXIT_PASSED


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", help="an SLA JSON report (--sla-report of a run)")
    parser.add_argument(
        "--html", default="", metavar="PATH", help="write the HTML report"
    )
    parser.add_argument("--junit", default="", metavar="PATH", help="write JUnit XML")
    parser.add_argument(
        "--exit-code",
        action="store_true",
        help="exit with the saved run's code (0 passed, 1 failed, 3 incomplete)",
    )


def run_report(args: argparse.Namespace) -> int:
    """Render the saved report into the files asked for; print its verdict."""
    for path, option in ((args.html, "--html"), (args.junit, "--junit")):
        if path:
            check_writable(path, option)
    report = load_report(args.report)
    if args.html:
        write_html(args.html, report)
        logger.info("HTML report written to %s", args.html)
    if args.junit:
        write_junit(args.junit, report)
        logger.info("JUnit XML written to %s", args.junit)
    sys.stdout.write(format_verdict(report))
    return int(report["sla"]["exit_code"]) if args.exit_code else EXIT_PASSED
