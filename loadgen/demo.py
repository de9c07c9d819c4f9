"""``mcp-loadgen demo``: the main job, end to end on loopback.

Starts the demo MCP target as a subprocess on a free loopback port, runs a
headless Locust test with locustfiles/mcp_mix.py against it, judges the run
by the shipped lenient SLA (sla/default.yaml), writes the SLA JSON report,
JUnit XML and the HTML report, and exits with the verdict's exit code (0:
every threshold held). ``--scenario resilience`` runs circuit breakers and
chaos experiments instead, with their own SLA (resilience_probe/demo.py).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from loadgen.errors import ConfigError
from sla.demo import demo_sla_options

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_WORKLOAD = PACKAGE_DIR / "workloads" / "demo.toml"

# The target prints its port within a second here; ten leaves room for a
# loaded CI machine without hanging forever on a broken install.
TARGET_START_TIMEOUT_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        choices=("mix", "resilience"),
        default="mix",
        help="mix: the mixed workload (default); resilience: a 5 s server "
        "outage and misbehaving clients, with circuit breakers (30 s)",
    )
    parser.add_argument(
        "--users", "-u", type=int, default=None, help="Locust users (10; 20)"
    )
    parser.add_argument(
        "--spawn-rate", "-r", type=float, default=10, help="users started per second"
    )
    parser.add_argument(
        "--run-time", "-t", default=None, help="how long to run (20s; 30s)"
    )
    parser.add_argument(
        "--response-mode",
        choices=("json", "sse"),
        default="sse",
        help="how the demo target answers",
    )
    parser.add_argument(
        "--locustfile", default="", help="locustfile (default locustfiles/mcp_mix.py)"
    )
    parser.add_argument(
        "--report-dir",
        default="mcp-loadgen-demo",
        help="folder for the reports (default ./mcp-loadgen-demo)",
    )
    parser.add_argument("--sla", default="", help="SLA file (default: the shipped one)")
    parser.add_argument("--sla-report", default="", help="SLA JSON report path")
    parser.add_argument("--junit", default="", help="JUnit XML path")
    parser.add_argument("--html-report", default="", help="HTML report path")
    parser.add_argument(
        "extra",
        nargs=argparse.REMAINDER,
        help="after --, more Locust options (e.g. -- --mcp-protocol 2025-11-25)",
    )


def run(args: argparse.Namespace) -> int:
    scenario_options = _apply_scenario(args)
    locustfile = Path(args.locustfile) if args.locustfile else find_locustfile()
    if not locustfile.is_file():
        raise ConfigError("no such file", field="--locustfile", value=str(locustfile))
    with demo_target(["--response-mode", args.response_mode]) as url:
        command = [
            sys.executable, "-m", "locust",
            "-f", str(locustfile),
            "-H", url,
            "--headless",
            "-u", str(args.users),
            "-r", str(args.spawn_rate),
            "-t", args.run_time,
            "--workload", str(DEMO_WORKLOAD),
            *report_options(args),
            *scenario_options,
            *_extra(args.extra),
        ]  # fmt: skip
        logger.info("running: %s", " ".join(command))
        code = subprocess.call(command)
    logger.info("reports in %s (exit code %s)", args.report_dir, code)
    return code


def _apply_scenario(args: argparse.Namespace) -> list[str]:
    """Fill in the scenario's defaults; return the Locust options it adds."""
    if args.scenario == "resilience":
        from resilience_probe import demo as resilience

        return resilience.apply_defaults(args)
    args.users = args.users or 10
    args.run_time = args.run_time or "20s"
    return []


def report_options(args: argparse.Namespace) -> list[str]:
    """The SLA and report options: the shipped defaults, or what was given."""
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    options = demo_sla_options(report_dir)
    given = {
        "--sla": args.sla,
        "--sla-report": args.sla_report,
        "--junit": args.junit,
        "--html-report": args.html_report,
    }
    for flag, value in given.items():
        if value:
            options[options.index(flag) + 1] = value
    return options


def find_locustfile(name: str = "mcp_mix.py") -> Path:
    """locustfiles/NAME in the current folder, else beside the package."""
    here = Path.cwd() / "locustfiles" / name
    if here.is_file():
        return here
    return PACKAGE_DIR.parent / "locustfiles" / name


def _extra(extra: list[str]) -> list[str]:
    return extra[1:] if extra[:1] == ["--"] else extra


@contextlib.contextmanager
def demo_target(flags: list[str]) -> Iterator[str]:
    """Run the demo target in a subprocess; yield its URL; stop it after."""
    with tempfile.TemporaryDirectory(prefix="mcp-loadgen-") as folder:
        ready = Path(folder) / "port"
        command = [sys.executable, "-m", "loadgen.target", "--port", "0"]
        process = subprocess.Popen([*command, "--ready-file", str(ready), *flags])
        try:
            port = _wait_for_port(process, ready)
            logger.info("demo target listening on 127.0.0.1:%s", port)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_port(process: subprocess.Popen[bytes], ready: Path) -> int:
    deadline = time.monotonic() + TARGET_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo target exited with {process.returncode}")
        text = ready.read_text().strip() if ready.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.05)
    raise RuntimeError("the demo target did not start listening in time")
