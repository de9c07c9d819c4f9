"""Load generators side by side: requests per generator CPU-second (issue 6).

What it measures. For each generator, sending tools/call echo to the demo
target (JSON responses) with 10 concurrent users or connections and no
think time: requests per CPU-second of the generator process, and the rate
it achieved. The generators:

- ``mcp``: McpUser, Locust's closed model (``bench/locustfiles/mcp_tools.py``)
- ``mcp-open``: the same McpUser under the open model, ``--arrival-rate``
  above what one core can send, so that it runs saturated like the others
- ``fasthttp``: a plain Locust FastHttpUser posting the same body
- ``httpuser``: a plain Locust HttpUser posting the same body
- ``seed``: the reference tester in ../shared/baselines (aiohttp, one HTTP
  session per request), as it comes
- ``mcp-stress``: the npm package @mcp-stress/linux-x64, profile
  ``tool-flood`` with ``--tool echo`` (never its share or live options)
- ``wrk``: wrk with a Lua script posting the same body on one session, the
  physical reference: what one core can push through this target

Goals: McpUser >= 1.0x FastHttpUser, >= 1.2x mcp-stress, >= 5x the seed.

How. The demo target runs on one core (``--target-core``, default 1) for
the whole benchmark; each run is one generator process pinned to the other
(``taskset``, ``--generator-core``, default 0); this script stays on the
target's core. Rounds alternate the order of the generators (forward, then
backward), so a drift of the machine hits all alike, and the medians over
the rounds are reported. Locust runs are measured as bench_user_cost.py
measures them, whose code this reuses: a window from Locust's stats reset
(all users spawned) to its run-time limit, CPU from /proc/PID/stat at both
ends. The other tools have no such marks: their CPU is the whole process,
start-up included (getrusage of reaped children), and their requests are
what they report for their whole run; their start-up (0.03 s of CPU for
mcp-stress, 0.2 s for the seed's imports, measured) is under 1 % and 4 %
of a 15 s run. Before each run the script waits, bounded,
until both cores are quiet, and it records what other processes used on
them.

Usage (from the repository root; needs taskset, wrk, aiohttp, and
mcp-stress installed with npm under --mcp-stress-dir):

    python bench/bench_peers.py --rounds 3 --duration-s 15 --json out.json

It prints every run and the medians as Markdown, and exits 0 when every
goal is met and no run stayed crowded, else 1. A generator that cannot run
is reported with the reason and left out of the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import bench_user_cost as cost

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR / "locustfiles"))
import echo_call  # noqa: E402  (the body every generator sends)

SEED_TESTER = cost.REPO_ROOT.parent / "shared" / "baselines" / "seed_load_tester.py"
MCP_STRESS_BIN = Path("node_modules/@mcp-stress/linux-x64/bin/mcp-stress")

LOCUST_VARIANTS = ("mcp", "mcp-open", "fasthttp", "httpuser")
EXTERNAL_VARIANTS = ("seed", "mcp-stress", "wrk")
VARIANTS = LOCUST_VARIANTS + EXTERNAL_VARIANTS

# Ratio goals of issue 6: McpUser's requests per CPU-second over each peer's.
GOALS = {"fasthttp": 1.0, "mcp-stress": 1.2, "seed": 5.0}

# The seed tester paces itself with a busy loop; a rate far above what one
# core can send makes it send as fast as it can, like the others.
SEED_RATE_PER_S = 100_000

# Twice what McpUser sends on one core in the closed model (about 10,000/s
# in this benchmark's first runs), so the open model runs saturated and its
# figures compare with the closed model's; its late count then says it fell
# behind. At a rate it can keep, its cost per request includes idle wake-ups.
DEFAULT_OPEN_RATE_PER_S = 20_000

CONCURRENCY = 10


@dataclass(frozen=True)
class Skipped:
    """A generator that did not run, and why (shown in the results)."""

    variant: str
    reason: str


# Locust variants: measured by bench_user_cost's code -------------------------


def register_locust_variants(open_rate_per_s: int) -> None:
    """Add our Locust variants to bench_user_cost's tables, so its
    run_variant (window, CPU marks, stats) measures them unchanged."""
    locustfiles = BENCH_DIR / "locustfiles"
    cost.LOCUSTFILES["mcp-open"] = locustfiles / "mcp_tools.py"
    cost.LOCUSTFILES["httpuser"] = locustfiles / "plain_httpuser.py"
    revision = ["--mcp-protocol", echo_call.PROTOCOL_REVISION]
    cost.VARIANT_OPTIONS["mcp-open"] = [
        *revision,
        "--arrival-rate",
        str(open_rate_per_s),
    ]
    cost.VARIANT_OPTIONS["httpuser"] = []


# External tools: whole-process CPU ---------------------------------------------


def seed_command(url: str, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        str(SEED_TESTER),
        url,
        str(SEED_RATE_PER_S),
        str(args.duration_s),
        str(CONCURRENCY),
    ]


def mcp_stress_command(url: str, args: argparse.Namespace) -> list[str]:
    # run, a profile, a duration, a concurrency, a tool and --json: nothing
    # that uploads (share) or serves a dashboard (--live).
    return [
        str(args.mcp_stress_dir / MCP_STRESS_BIN),
        "run",
        "--profile",
        "tool-flood",
        "--tool",
        "echo",
        "--duration",
        str(args.duration_s),
        "--concurrency",
        str(CONCURRENCY),
        "--json",
        "--url",
        url,
    ]


def wrk_command(url: str, script: Path, args: argparse.Namespace) -> list[str]:
    return [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(CONCURRENCY),
        "--duration",
        f"{args.duration_s}s",
        "--script",
        str(script),
        url,
    ]


def parse_seed(stdout: str) -> tuple[int, int]:
    """(requests, failures) from the seed tester's one JSON line."""
    summary = json.loads(stdout.strip().splitlines()[-1])
    return int(summary["requests"]), int(summary["failed"] + summary["timeouts"])


def parse_mcp_stress(stdout: str) -> tuple[int, int]:
    """(requests, failures) from mcp-stress's --json summary."""
    summary = json.loads(stdout)
    return int(summary["totalRequests"]), int(summary["totalErrors"])


def parse_wrk(stdout: str) -> tuple[int, int]:
    """(requests, failures) from wrk's report (non-2xx answers fail)."""
    found = re.search(r"(\d+) requests in", stdout)
    if found is None:
        raise cost.BenchError(f"wrk printed no request count: {stdout[-500:]!r}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    return int(found.group(1)), int(bad.group(1)) if bad else 0


@dataclass(frozen=True)
class CoreMark:
    """Clock, target CPU and the busy time of both cores at one moment."""

    at_s: float
    target_cpu_s: float
    generator_core_task_s: float
    target_core_task_s: float

    @classmethod
    def take(cls, target_pid: int, args: argparse.Namespace) -> CoreMark:
        return cls(
            time.monotonic(),
            cost.cpu_seconds(target_pid),
            cost.core_task_seconds(args.generator_core),
            cost.core_task_seconds(args.target_core),
        )


def run_external(
    variant: str,
    round_index: int,
    command: list[str],
    parse: Callable[[str], tuple[int, int]],
    target_pid: int,
    args: argparse.Namespace,
    log_path: Path,
) -> cost.RunResult:
    """Run a tool pinned to the generator core; its whole-process CPU."""
    # mcp-stress saves every run under $HOME: keep that in the workdir.
    env = {**os.environ, "HOME": str(log_path.parent)}
    with log_path.open("w") as log:
        cpu_before_s = children_cpu_s()
        start = CoreMark.take(target_pid, args)
        tool = subprocess.Popen(
            [*cost.pin(args.generator_core), *command],
            cwd=args.mcp_stress_dir if variant == "mcp-stress" else cost.REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
        stdout = wait_bounded(tool, args.duration_s + cost.RUN_GRACE_S)
        end = CoreMark.take(target_pid, args)
        cpu_s = children_cpu_s() - cpu_before_s
        log.write(stdout)
    if tool.returncode != 0:
        raise cost.BenchError(
            f"{variant}: exited with {tool.returncode}; see {log_path}"
        )
    requests, failures = parse(stdout)
    return cost.RunResult(
        variant=variant,
        round_index=round_index,
        requests=requests,
        failures=failures,
        window_s=end.at_s - start.at_s,
        generator_cpu_s=cpu_s,
        target_cpu_s=end.target_cpu_s - start.target_cpu_s,
        others_cpu_s=max(
            0.0, end.generator_core_task_s - start.generator_core_task_s - cpu_s
        ),
        target_core_others_cpu_s=max(
            0.0,
            end.target_core_task_s
            - start.target_core_task_s
            - (end.target_cpu_s - start.target_cpu_s),
        ),
    )


def wait_bounded(process: subprocess.Popen[str], limit_s: float) -> str:
    """The tool's output once it exits; killed (and an error) past ``limit_s``."""
    try:
        stdout, _ = process.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise cost.BenchError(f"pid {process.pid} ran past {limit_s} s") from None
    return stdout


def children_cpu_s() -> float:
    """User and system CPU of every child this process has reaped so far.

    taskset execs the tool, so the tool is our child; the target is not
    reaped until the end, so the difference around one run is the tool's.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# wrk's session ---------------------------------------------------------------


def open_session(host: str) -> str:
    """Open one MCP session (initialize, initialized) for wrk; its id."""
    url = host + echo_call.ENDPOINT
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": echo_call.PROTOCOL_REVISION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-loadgen", "version": "0.1.0"},
        },
    }
    session_id = post(url, initialize, dict(echo_call.BASE_HEADERS))
    headers = {**echo_call.BASE_HEADERS, **session_headers(session_id)}
    post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers)
    return session_id


def session_headers(session_id: str) -> dict[str, str]:
    return {
        "Mcp-Session-Id": session_id,
        "MCP-Protocol-Version": echo_call.PROTOCOL_REVISION,
    }


def post(url: str, message: dict[str, object], headers: dict[str, str]) -> str:
    """POST one JSON-RPC message to the loopback target; the session id."""
    data = json.dumps(message, separators=(",", ":")).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return str(response.headers.get("Mcp-Session-Id", ""))


def wrk_script(session_id: str, workdir: Path) -> Path:
    """A Lua script that posts the echo call with the session's headers."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": echo_call.ECHO_ARGUMENTS},
        },
        separators=(",", ":"),
    )
    headers = {**echo_call.BASE_HEADERS, **session_headers(session_id)}
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()
    ]
    path = workdir / "echo.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


# Running the rounds --------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """What every run needs: the target, the options, where logs go."""

    host: str
    target_pid: int
    args: argparse.Namespace
    workdir: Path
    wrk_script: Path


def run_one(variant: str, round_index: int, bench: Bench) -> cost.RunResult:
    """One run of one generator, measured."""
    name = f"{variant}-{round_index}"
    if variant in LOCUST_VARIANTS:
        return cost.run_variant(
            variant,
            round_index,
            name,
            bench.host,
            bench.target_pid,
            bench.args,
            bench.workdir,
        )
    url = bench.host + echo_call.ENDPOINT
    commands = {
        "seed": (seed_command(url, bench.args), parse_seed),
        "mcp-stress": (mcp_stress_command(url, bench.args), parse_mcp_stress),
        "wrk": (wrk_command(url, bench.wrk_script, bench.args), parse_wrk),
    }
    command, parse = commands[variant]
    log_path = bench.workdir / f"{name}.log"
    return run_external(
        variant, round_index, command, parse, bench.target_pid, bench.args, log_path
    )


def run_rounds(
    variants: Sequence[str], bench: Bench
) -> tuple[list[cost.RunResult], list[Skipped]]:
    """Every variant once per round, in alternating order."""
    results: list[cost.RunResult] = []
    skipped: dict[str, Skipped] = {}
    cores = (bench.args.generator_core, bench.args.target_core)
    for round_index in range(1, bench.args.rounds + 1):
        order = list(variants) if round_index % 2 else list(reversed(variants))
        for variant in order:
            if variant in skipped:
                continue
            cost.wait_until_quiet(cores)
            try:
                result = run_one(variant, round_index, bench)
            except (cost.BenchError, OSError, ValueError, KeyError) as exc:
                skipped[variant] = Skipped(variant, str(exc))
                print(f"{variant}: not measured: {exc}", file=sys.stderr)
                continue
            print(cost.describe(f"{variant}-{round_index}", result), file=sys.stderr)
            results.append(result)
    return results, list(skipped.values())


# Summary ---------------------------------------------------------------------------


def ratios(summaries: dict[str, cost.VariantSummary]) -> dict[str, float]:
    """McpUser's (closed and open) requests per CPU-second over each peer's."""
    found = {}
    for ours in ("mcp", "mcp-open"):
        if ours not in summaries:
            continue
        for peer, summary in summaries.items():
            if peer != ours and summary.requests_per_cpu_s > 0:
                mine = summaries[ours].requests_per_cpu_s
                found[f"{ours}/{peer}"] = mine / summary.requests_per_cpu_s
    return found


def print_summary(
    summaries: dict[str, cost.VariantSummary],
    found: dict[str, float],
    results: Sequence[cost.RunResult],
) -> None:
    print()
    print(
        "| generator | runs | requests/CPU-s | us CPU/request | requests/s "
        "| generator load | failures (median) | McpUser closed / this |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for variant, s in summaries.items():
        failures = statistics.median(
            r.failures for r in results if r.variant == variant
        )
        ratio = found.get(f"mcp/{variant}")
        shown = f"{ratio:.2f}x" if ratio is not None else "-"
        print(
            f"| {variant} | {s.runs} | {s.requests_per_cpu_s:.0f} "
            f"| {s.us_per_request:.1f} | {s.requests_per_s:.0f} "
            f"| {s.generator_load:.2f} | {failures:.0f} | {shown} |"
        )
    print()
    for peer, goal in GOALS.items():
        ratio = found.get(f"mcp/{peer}")
        text = "not measured" if ratio is None else f"{ratio:.2f}x"
        verdict = "" if ratio is None else ("met" if ratio >= goal else "NOT met")
        print(f"McpUser / {peer}: {text} (goal >= {goal}x) {verdict}")


def machine() -> dict[str, str]:
    """Where and with what the figures were taken."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu": model,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# Driver -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=cost.bounded(1, 20), default=3)
    parser.add_argument("--duration-s", type=cost.bounded(5, 300), default=15)
    parser.add_argument(
        "--open-rate",
        type=cost.bounded(1, 100_000),
        default=DEFAULT_OPEN_RATE_PER_S,
        help="--arrival-rate of the mcp-open variant (default 20000)",
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated subset of {','.join(VARIANTS)}",
    )
    parser.add_argument(
        "--mcp-stress-dir",
        type=Path,
        default=Path("/tmp/mcp-stress"),
        help="where `npm install @mcp-stress/linux-x64` ran (default /tmp/mcp-stress)",
    )
    parser.add_argument("--generator-core", type=int, default=0)
    parser.add_argument("--target-core", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    # bench_user_cost's Locust command reads these two as well.
    args.users = CONCURRENCY
    args.retries = 0
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    cost.check_cores(parser, args.generator_core, args.target_core)
    return args


def commands_used(bench: Bench) -> dict[str, str]:
    """The exact command of one run of each generator, for the docs."""
    url = bench.host + echo_call.ENDPOINT
    args = bench.args
    shown = {
        v: " ".join(cost.locust_command(v, bench.host, args, bench.workdir / f"{v}-1"))
        for v in LOCUST_VARIANTS
    }
    pin = cost.pin(args.generator_core)
    shown["seed"] = " ".join([*pin, *seed_command(url, args)])
    shown["mcp-stress"] = " ".join([*pin, *mcp_stress_command(url, args)])
    shown["wrk"] = " ".join([*pin, *wrk_command(url, bench.wrk_script, args)])
    return shown


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    register_locust_variants(args.open_rate)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-peers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.sched_setaffinity(0, {args.target_core})

    target, port = cost.start_target(args.target_core, workdir)
    host = f"http://127.0.0.1:{port}"
    try:
        script = wrk_script(open_session(host), workdir)
        bench = Bench(host, target.pid, args, workdir, script)
        commands = commands_used(bench)
        for variant, command in commands.items():
            print(f"{variant}: {command}", file=sys.stderr)
        results, skipped = run_rounds(args.variants.split(","), bench)
    finally:
        cost.stop(target)

    measured = sorted({r.variant for r in results}, key=VARIANTS.index)
    summaries = {v: cost.summarize(v, results) for v in measured}
    found = ratios(summaries)
    cost.print_runs(results)
    print_summary(summaries, found, results)
    for s in skipped:
        print(f"not measured: {s.variant}: {s.reason}")
    if args.json is not None:
        report = {
            "machine": machine(),
            "commands": commands,
            "runs": [asdict(r) for r in results],
            "medians": {v: asdict(s) for v, s in summaries.items()},
            "ratios": found,
            "skipped": [asdict(s) for s in skipped],
        }
        args.json.write_text(json.dumps(report, indent=2))
    judged = [r for r in results if r.variant in ("mcp", *GOALS)]
    problems = cost.warn_about(judged)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    met = all(found.get(f"mcp/{peer}", 0.0) >= goal for peer, goal in GOALS.items())
    return 0 if met and not problems and not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
