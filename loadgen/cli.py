"""The ``mcp-loadgen`` command: the demo, the demo target and the services.

Exit codes: 0 success, 1 the run failed (failures, or a broken SLA), 2 a
configuration or usage error (the message names what to fix), 3 the run's
data is incomplete (lost intervals or workers), so no verdict is trusted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from loadgen.errors import EXIT_CONFIG_ERROR, ConfigError

logger = logging.getLogger(__name__)

Runner = Callable[[argparse.Namespace], int]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    parser = argparse.ArgumentParser(
        prog="mcp-loadgen",
        description="Load generator for MCP servers, built on Locust.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners: dict[str, Runner] = {}
    for name, help_text, module_name, add_name, run_name in _SUBCOMMANDS:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        getattr(module, add_name)(sub)
        runners[name] = getattr(module, run_name)
    return parser, runners


# name, help, module, its add-arguments function, its run(args) -> int.
_SUBCOMMANDS = [
    (
        "demo",
        "Run the main job against the embedded demo MCP server",
        "loadgen.demo",
        "add_arguments",
        "run",
    ),
    (
        "target",
        "Serve the demo MCP server",
        "loadgen.target.cli",
        "add_target_arguments",
        "run_target",
    ),
    (
        "aggregator",
        "Run a standalone result aggregator for large set-ups",
        "loadgen.aggregator.cli",
        "add_aggregator_arguments",
        "run_aggregator",
    ),
    (
        "keys",
        "Create ZeroMQ CURVE keys for a non-loopback aggregator",
        "loadgen.aggregator.cli",
        "add_keys_arguments",
        "run_keys",
    ),
    (
        "compare",
        "Compare two SLA reports and flag regressions",
        "sla.cli",
        "add_compare_arguments",
        "run_compare",
    ),
    (
        "report",
        "Render a saved SLA report as HTML and JUnit",
        "sla.cli",
        "add_report_arguments",
        "run_report",
    ),
]


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG_ERROR
    try:
        return runners[args.command](args)
    except ConfigError as exc:
        print(f"mcp-loadgen {args.command}: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
