"""Generator CPU per request: McpUser beside a plain FastHttpUser (issue 2).

What it measures. Requests per CPU-second of the load generator process for
two Locust users that send the same MCP request, tools/call echo, with no
wait: ``mcp`` is McpUser (``bench/locustfiles/mcp_tools.py``) and
``fasthttp`` a plain FastHttpUser posting the same body and headers
(``bench/locustfiles/plain_fasthttp.py``). Optional variants ``mcp-ghc`` and
``mcp-h1`` (``--variants``) pin McpUser's HTTP driver to geventhttpclient or
to ``gevent_h1``, to compare the two side by side. The goal of issue 2 is a ratio
McpUser / FastHttpUser of at least 0.9.

How. One demo target, answering in JSON, runs on its own core and serves
every run. Each run is one headless Locust process on another core, running
one variant for a fixed time; the variants alternate (mcp, fasthttp, mcp,
...) so that a drift of the machine hits both alike, and the medians over
the rounds are reported. A run's window opens when Locust resets its stats
after the last user spawned (``--reset-stats`` logs "Resetting stats") and
closes when Locust logs that the run time is up. The generator's CPU time
(utime + stime in /proc/PID/stat, all threads) is read at both marks, so
interpreter start, imports, session opening and shutdown stay outside; the
requests are the ``tools/call echo`` entry of Locust's stats, which count
from the reset on. They are read from ``--json-file``, which Locust writes
once the users are stopped: the ``--csv`` stats file is a snapshot rewritten
every second and not again at exit, so it misses up to the last second of a
run (measured: 61,566 requests in it against 71,511 in the final stats of a
6 s run).

Other processes on either core skew a run: on the generator's core they
compete with it, on the target's they slow the target, and a generator
that waits spends more CPU per request on wake-ups. Each mark also reads
the busy time of both cores (/proc/stat); a round where other processes
used more than 5 % of either core is run again, up to ``--retries``
times, and a warning names any run that stayed crowded. Before each run
the script waits (up to two minutes) until both cores are quiet.

Usage (from the repository root):

    python bench/bench_user_cost.py --rounds 3 --duration-s 15 --users 10

It prints a table per run and the medians as Markdown, and exits 0 when the
ratio of medians meets the goal and no run failed requests or stayed
crowded, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
LOCUSTFILES = {
    "mcp": BENCH_DIR / "locustfiles" / "mcp_tools.py",
    "fasthttp": BENCH_DIR / "locustfiles" / "plain_fasthttp.py",
    "mcp-ghc": BENCH_DIR / "locustfiles" / "mcp_tools_transports.py",
    "mcp-h1": BENCH_DIR / "locustfiles" / "mcp_tools_transports.py",
}
# Options only the McpUser locustfiles know; see echo_call.PROTOCOL_REVISION.
# The transport variants name their user class: their file holds three.
VARIANT_OPTIONS = {
    "mcp": ["--mcp-protocol", "2025-11-25"],
    "fasthttp": [],
    "mcp-ghc": ["--mcp-protocol", "2025-11-25", "McpGhcUser"],
    "mcp-h1": ["--mcp-protocol", "2025-11-25", "McpH1User"],
}
DEFAULT_VARIANTS = "mcp,fasthttp"

REQUEST_NAME = "tools/call echo"
GOAL_RATIO = 0.9

# Log lines of Locust 2.x that open and close the measurement window
# (runners.py: on_spawning_complete; main.py: stop_and_optionally_quit).
WINDOW_OPENS = "Resetting stats"
WINDOW_CLOSES = "--run-time limit reached"

# Spawning all users within a tenth of a second keeps the ramp short; it is
# outside the window anyway, since the window opens when spawning is done.
SPAWN_RATE = 100

TARGET_READY_TIMEOUT_S = 30.0
# Locust needs a few seconds to import and to stop; a run that is still
# alive this long after its run time is killed and reported as failed.
RUN_GRACE_S = 60.0

# Below this share of a core the generator was waiting on the target, not
# working: its cost per request then includes idle wake-ups.
SATURATED_LOAD = 0.9
# Above this share of a core used by other processes, the generator
# competed for its core (caches, run queue) or waited on a target that
# competed for its own, and the figures are less comparable with a quiet
# run. The round is run again after a pause, a bounded number of times.
OTHERS_LOAD = 0.05
# Before each run the cores are sampled for this long, again and again up
# to the limit, until other processes leave both below OTHERS_LOAD (on a
# shared machine they come and go: a test suite runs for a minute or so).
QUIET_SAMPLE_S = 2.0
QUIET_WAIT_LIMIT_S = 120.0

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A run did not produce a measurement (the message says which and why)."""


@dataclass(frozen=True)
class RunResult:
    """One run of one variant, measured inside its window."""

    variant: str
    round_index: int
    requests: int
    failures: int
    window_s: float
    generator_cpu_s: float
    target_cpu_s: float
    # User and system time of other processes on the generator's core, and
    # on the target's core (this script, which sleeps on pipes, included).
    others_cpu_s: float
    target_core_others_cpu_s: float

    @property
    def us_per_request(self) -> float:
        return self.generator_cpu_s * 1e6 / self.requests

    @property
    def requests_per_cpu_s(self) -> float:
        return self.requests / self.generator_cpu_s

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.window_s

    @property
    def generator_load(self) -> float:
        """Share of one core the generator used during the window."""
        return self.generator_cpu_s / self.window_s

    @property
    def target_load(self) -> float:
        return self.target_cpu_s / self.window_s

    @property
    def others_load(self) -> float:
        """Share of the generator's core that other processes used."""
        return self.others_cpu_s / self.window_s

    @property
    def target_core_others_load(self) -> float:
        return self.target_core_others_cpu_s / self.window_s


# Measuring ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads, in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may hold spaces, so
    # count fields from its closing parenthesis: utime and stime are fields
    # 14 and 15 of proc(5), the 12th and 13th after it.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


def core_task_seconds(core: int) -> float:
    """User and system time spent by all processes on one core, in seconds.

    Interrupt time is left out: the kernel's loopback TCP work lands there,
    and it is neither ours nor another process's alone.
    """
    prefix = f"cpu{core} "
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(prefix):
            user, nice, system = (int(value) for value in line.split()[1:4])
            return (user + nice + system) / CLOCK_TICKS_PER_S
    raise BenchError(f"/proc/stat has no line for core {core}")


@dataclass(frozen=True)
class Watched:
    """What the marks read: the two processes and their cores."""

    generator_pid: int
    target_pid: int
    generator_core: int
    target_core: int


@dataclass(frozen=True)
class Mark:
    """The clock and the CPU counters at one end of the window."""

    at_s: float
    generator_cpu_s: float
    target_cpu_s: float
    generator_core_task_s: float
    target_core_task_s: float

    @classmethod
    def take(cls, watched: Watched) -> Mark:
        return cls(
            at_s=time.monotonic(),
            generator_cpu_s=cpu_seconds(watched.generator_pid),
            target_cpu_s=cpu_seconds(watched.target_pid),
            generator_core_task_s=core_task_seconds(watched.generator_core),
            target_core_task_s=core_task_seconds(watched.target_core),
        )


def echo_entry(stats_json: Path) -> tuple[int, int]:
    """(requests, failures) of the tools/call echo entry of Locust's final
    stats (``--json-file``: a list of entries, one per method and name)."""
    entries = json.loads(stats_json.read_text())
    for entry in entries:
        if entry["name"] == REQUEST_NAME:
            return int(entry["num_requests"]), int(entry["num_failures"])
    raise BenchError(f"{stats_json}: no entry named {REQUEST_NAME!r}")


# The target ------------------------------------------------------------------


def start_target(core: int, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the demo target on ``core``; return it and its loopback port."""
    ready_file = workdir / "target.port"
    command = [
        *pin(core),
        sys.executable,
        "-m",
        "loadgen.target",
        "--port",
        "0",
        "--ready-file",
        str(ready_file),
        "--response-mode",
        "json",
    ]
    with (workdir / "target.log").open("wb") as log:
        target = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        return target, wait_for_port(target, ready_file)
    except BaseException:
        stop(target)
        raise


def wait_for_port(target: subprocess.Popen[bytes], ready_file: Path) -> int:
    """The port the target wrote into its ready file, polled with a deadline."""
    deadline = time.monotonic() + TARGET_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if target.poll() is not None:
            raise BenchError(f"the target exited with {target.returncode}")
        text = ready_file.read_text().strip() if ready_file.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.1)
    raise BenchError(f"the target wrote no port to {ready_file} in time")


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Terminate a process we started and wait for it, killing it if stuck."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def pin(core: int) -> list[str]:
    return ["taskset", "--cpu-list", str(core)]


# One Locust run ---------------------------------------------------------------


def locust_command(
    variant: str, host: str, args: argparse.Namespace, stats_prefix: Path
) -> list[str]:
    """The exact generator command of one run (printed into bench/README.md)."""
    locust = Path(sys.executable).with_name("locust")
    return [
        *pin(args.generator_core),
        str(locust),
        "--locustfile",
        str(LOCUSTFILES[variant]),
        "--host",
        host,
        "--headless",
        "--only-summary",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(SPAWN_RATE),
        "--run-time",
        f"{args.duration_s}s",
        "--reset-stats",
        "--json-file",
        str(stats_prefix),
        "--loglevel",
        "INFO",
        *VARIANT_OPTIONS[variant],
    ]


def run_variant(
    variant: str,
    round_index: int,
    name: str,
    host: str,
    target_pid: int,
    args: argparse.Namespace,
    workdir: Path,
) -> RunResult:
    """Run one variant once and measure it inside its window."""
    command = locust_command(variant, host, args, workdir / name)
    with (workdir / f"{name}.log").open("w") as log:
        generator = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The watchdog bounds the run even if Locust hangs: killing the
        # process ends the stderr stream, which ends watch_window.
        limit_s = args.duration_s + RUN_GRACE_S
        watchdog = threading.Timer(limit_s, generator.kill)
        watchdog.start()
        watched = Watched(
            generator.pid, target_pid, args.generator_core, args.target_core
        )
        try:
            opened, closed = watch_window(generator, watched, log)
            generator.wait(timeout=RUN_GRACE_S)
        finally:
            watchdog.cancel()
            stop(generator)

    if generator.returncode not in (0, 1):
        # Locust exits 1 when any request failed; that is counted below.
        raise BenchError(f"{name}: locust exited with {generator.returncode}")
    requests, failures = echo_entry(workdir / f"{name}.json")
    return measured(variant, round_index, requests, failures, opened, closed)


def measured(
    variant: str,
    round_index: int,
    requests: int,
    failures: int,
    opened: Mark,
    closed: Mark,
) -> RunResult:
    """A run's figures: the differences between its two marks."""
    generator_cpu_s = closed.generator_cpu_s - opened.generator_cpu_s
    target_cpu_s = closed.target_cpu_s - opened.target_cpu_s
    generator_core_s = closed.generator_core_task_s - opened.generator_core_task_s
    target_core_s = closed.target_core_task_s - opened.target_core_task_s
    return RunResult(
        variant=variant,
        round_index=round_index,
        requests=requests,
        failures=failures,
        window_s=closed.at_s - opened.at_s,
        generator_cpu_s=generator_cpu_s,
        target_cpu_s=target_cpu_s,
        # Clamped: the counters tick separately, so a quiet core can come
        # out a tick below zero.
        others_cpu_s=max(0.0, generator_core_s - generator_cpu_s),
        target_core_others_cpu_s=max(0.0, target_core_s - target_cpu_s),
    )


def watch_window(
    generator: subprocess.Popen[str], watched: Watched, log: IO[str]
) -> tuple[Mark, Mark]:
    """Follow the generator's log; take a mark when the window opens and
    when it closes. Copies every line into ``log``."""
    assert generator.stderr is not None
    opened: Mark | None = None
    for line in generator.stderr:
        # Take the mark before anything else: every millisecond spent here
        # is a few requests the window may count or miss.
        if opened is None and WINDOW_OPENS in line:
            opened = Mark.take(watched)
        elif opened is not None and WINDOW_CLOSES in line:
            closed = Mark.take(watched)
            log.write(line)
            log.writelines(generator.stderr)
            return opened, closed
        log.write(line)
    raise BenchError(
        f"locust (pid {generator.pid}) ended before its measurement window "
        f"closed; see its log in {log.name}"
    )


# Summary ----------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSummary:
    """Medians over the rounds of one variant."""

    variant: str
    runs: int
    us_per_request: float
    requests_per_cpu_s: float
    requests_per_s: float
    generator_load: float
    target_load: float
    others_load: float


def summarize(variant: str, results: Sequence[RunResult]) -> VariantSummary:
    mine = [result for result in results if result.variant == variant]
    return VariantSummary(
        variant=variant,
        runs=len(mine),
        us_per_request=statistics.median(r.us_per_request for r in mine),
        requests_per_cpu_s=statistics.median(r.requests_per_cpu_s for r in mine),
        requests_per_s=statistics.median(r.requests_per_s for r in mine),
        generator_load=statistics.median(r.generator_load for r in mine),
        target_load=statistics.median(r.target_load for r in mine),
        others_load=statistics.median(r.others_load for r in mine),
    )


def paired_ratios(results: Sequence[RunResult]) -> list[float]:
    """McpUser / FastHttpUser requests per CPU-second, round by round.

    Pairs run seconds apart, so their ratio is less exposed to drift than
    the ratio of medians; both are reported.
    """
    by_key = {(r.variant, r.round_index): r for r in results}
    rounds = sorted({r.round_index for r in results})
    return [
        by_key["mcp", i].requests_per_cpu_s / by_key["fasthttp", i].requests_per_cpu_s
        for i in rounds
        if ("mcp", i) in by_key and ("fasthttp", i) in by_key
    ]


def print_runs(results: Sequence[RunResult]) -> None:
    print(
        "| run | requests | failures | window s | gen CPU s | us CPU/req "
        "| req/CPU-s | req/s | gen load | target load | others on gen core "
        "| others on target core |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.variant}-{r.round_index} | {r.requests} | {r.failures} "
            f"| {r.window_s:.2f} | {r.generator_cpu_s:.2f} "
            f"| {r.us_per_request:.1f} | {r.requests_per_cpu_s:.0f} "
            f"| {r.requests_per_s:.0f} | {r.generator_load:.2f} "
            f"| {r.target_load:.2f} | {r.others_load:.2f} "
            f"| {r.target_core_others_load:.2f} |"
        )


def print_summary(summaries: Sequence[VariantSummary], ratios: list[float]) -> float:
    """Print the medians as a Markdown table; return the ratio of medians."""
    print()
    print(
        "| variant | runs | us CPU/request | requests/CPU-s | requests/s "
        "| generator load | target load | others on gen core |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in summaries:
        print(
            f"| {s.variant} | {s.runs} | {s.us_per_request:.1f} "
            f"| {s.requests_per_cpu_s:.0f} | {s.requests_per_s:.0f} "
            f"| {s.generator_load:.2f} | {s.target_load:.2f} "
            f"| {s.others_load:.2f} |"
        )
    by_variant = {s.variant: s for s in summaries}
    ratio = (
        by_variant["mcp"].requests_per_cpu_s / by_variant["fasthttp"].requests_per_cpu_s
    )
    paired = ", ".join(f"{value:.3f}" for value in ratios)
    print()
    print(f"ratio McpUser/FastHttpUser (medians): {ratio:.3f} (goal >= {GOAL_RATIO})")
    print(f"ratio per round: {paired}; median {statistics.median(ratios):.3f}")
    print_transport_ratios(by_variant)
    return ratio


def print_transport_ratios(by_variant: dict[str, VariantSummary]) -> None:
    """The transport variants against each other and against FastHttpUser."""
    if "mcp-h1" in by_variant and "mcp-ghc" in by_variant:
        h1, ghc = by_variant["mcp-h1"], by_variant["mcp-ghc"]
        print(
            f"CPU per request mcp-h1/mcp-ghc (medians): "
            f"{h1.us_per_request / ghc.us_per_request:.3f}"
        )
    fasthttp = by_variant["fasthttp"]
    for name in ("mcp-ghc", "mcp-h1"):
        if name in by_variant:
            ratio = by_variant[name].requests_per_cpu_s / fasthttp.requests_per_cpu_s
            print(f"ratio {name}/FastHttpUser (medians): {ratio:.3f}")


def warn_about(results: Sequence[RunResult]) -> list[str]:
    """Reasons the figures should not be trusted, one line each."""
    problems = []
    for r in results:
        name = f"{r.variant}-{r.round_index}"
        if r.failures:
            problems.append(f"{name}: {r.failures} failed requests")
        if contended(r):
            problems.append(
                f"{name}: other processes used {r.others_load:.0%} of the"
                f" generator's core and {r.target_core_others_load:.0%} of the"
                " target's; run again on a quiet machine"
            )
        elif r.generator_load < SATURATED_LOAD:
            problems.append(
                f"{name}: the generator used {r.generator_load:.0%} of its core"
                " and waited on the target the rest (other processes used"
                f" {r.target_core_others_load:.0%} of the target's core), so"
                " its cost per request includes idle wake-ups"
            )
    return problems


# Driver -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds",
        type=bounded(1, 20),
        default=3,
        help="runs of each variant (default 3)",
    )
    parser.add_argument(
        "--duration-s",
        type=bounded(5, 300),
        default=15,
        help="run time of each run in seconds (default 15)",
    )
    parser.add_argument(
        "--users",
        type=bounded(1, 1000),
        default=10,
        help="users of each run (default 10)",
    )
    parser.add_argument(
        "--retries",
        type=bounded(0, 10),
        default=3,
        help="times a round is run again while other processes crowd the "
        "cores (default 3)",
    )
    parser.add_argument(
        "--generator-core", type=int, default=0, help="core of Locust (default 0)"
    )
    parser.add_argument(
        "--target-core", type=int, default=1, help="core of the target (default 1)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where logs and Locust's stats go (default: a new temporary directory)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="also write every run's figures to this file",
    )
    parser.add_argument(
        "--variants",
        type=variant_list,
        default=variant_list(DEFAULT_VARIANTS),
        help="comma-separated variants run in this order each round, from "
        f"{', '.join(LOCUSTFILES)}; must include mcp and fasthttp, whose "
        f"ratio is the goal (default {DEFAULT_VARIANTS}). mcp-ghc and mcp-h1 "
        "pin McpUser's transport to geventhttpclient or to gevent_h1",
    )
    args = parser.parse_args(argv)
    check_cores(parser, args.generator_core, args.target_core)
    return args


def variant_list(text: str) -> list[str]:
    """An argparse type: known variant names, mcp and fasthttp among them."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in LOCUSTFILES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown variants: {', '.join(unknown)}")
    if not {"mcp", "fasthttp"} <= set(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("mcp and fasthttp, each once, are needed")
    return names


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``, both included,
    so every loop of the benchmark has a bound."""

    # argparse names the function in its message: "invalid integer value".
    def integer(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in {low}..{high}")
        return value

    return integer


def check_cores(parser: argparse.ArgumentParser, generator: int, target: int) -> None:
    usable = os.sched_getaffinity(0)
    if generator == target:
        parser.error("--generator-core and --target-core must differ")
    for core in (generator, target):
        if core not in usable:
            parser.error(f"core {core} is not usable here (usable: {sorted(usable)})")


def run_rounds(
    args: argparse.Namespace, host: str, target_pid: int, workdir: Path
) -> list[RunResult]:
    """mcp, fasthttp, mcp, fasthttp, ...: alternating, so drift hits both."""
    results = []
    for round_index in range(1, args.rounds + 1):
        results.extend(run_round(round_index, args, host, target_pid, workdir))
    return results


def run_round(
    round_index: int,
    args: argparse.Namespace,
    host: str,
    target_pid: int,
    workdir: Path,
) -> list[RunResult]:
    """Both variants once; again, up to --retries times, while other
    processes crowd either core (on a shared machine they come and go)."""
    pair: list[RunResult] = []
    cores = (args.generator_core, args.target_core)
    for attempt in range(args.retries + 1):
        if attempt:
            print(f"round {round_index}: crowded, once more", file=sys.stderr)
        wait_until_quiet(cores)
        pair = []
        for variant in args.variants:
            name = f"{variant}-{round_index}"
            name += f"-retry{attempt}" if attempt else ""
            result = run_variant(
                variant, round_index, name, host, target_pid, args, workdir
            )
            print(describe(name, result), file=sys.stderr)
            pair.append(result)
        if not any(contended(result) for result in pair):
            break
    return pair


def describe(name: str, result: RunResult) -> str:
    """One progress line per run, with the contention of both cores."""
    return (
        f"{name}: {result.requests} requests, "
        f"{result.us_per_request:.1f} us CPU each, "
        f"generator load {result.generator_load:.2f}, other processes "
        f"{result.others_load:.2f} on its core, "
        f"{result.target_core_others_load:.2f} on the target's"
    )


def wait_until_quiet(cores: Sequence[int]) -> bool:
    """Wait, a bounded time, until other processes leave the cores alone.

    Between runs none of our processes works (the target is idle), so all
    the busy time of a core is someone else's. True when the cores went
    quiet, False when the limit came first (the run goes ahead anyway and
    its own figures tell how crowded it was).
    """
    deadline = time.monotonic() + QUIET_WAIT_LIMIT_S
    said = False
    while time.monotonic() < deadline:
        before = [core_task_seconds(core) for core in cores]
        time.sleep(QUIET_SAMPLE_S)
        after = [core_task_seconds(core) for core in cores]
        busiest = max(b - a for a, b in zip(before, after, strict=True))
        if busiest / QUIET_SAMPLE_S <= OTHERS_LOAD:
            return True
        if not said:
            print("waiting for other processes to leave the cores", file=sys.stderr)
            said = True
    return False


def contended(result: RunResult) -> bool:
    """Whether other processes used either core enough to skew the run."""
    return max(result.others_load, result.target_core_others_load) > OTHERS_LOAD


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-user-cost-"))
    workdir.mkdir(parents=True, exist_ok=True)

    # This script sleeps on pipes most of the time; keeping it off the
    # generator's core leaves that core to the generator alone.
    os.sched_setaffinity(0, {args.target_core})

    target, port = start_target(args.target_core, workdir)
    host = f"http://127.0.0.1:{port}"
    print(f"target pid {target.pid} on {host}; logs in {workdir}", file=sys.stderr)
    print(
        "command of one run:",
        " ".join(locust_command("mcp", host, args, workdir / "mcp-1")),
        file=sys.stderr,
    )
    try:
        results = run_rounds(args, host, target.pid, workdir)
    finally:
        stop(target)

    print_runs(results)
    summaries = [summarize(variant, results) for variant in args.variants]
    ratio = print_summary(summaries, paired_ratios(results))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))

    problems = warn_about(results)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 1 if problems or ratio < GOAL_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
