"""Distributed runs on loopback: counts agree, and the drills lose what they should.

Every process is started by the test with the same commands a user (and
docker-compose.yml) runs, talks only to 127.0.0.1, and is killed at the end.
The drills use a synthetic Locust user that fires request events without
any network, so what they measure is the results path alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
MCP_MIX = "locustfiles/mcp_mix.py"

pytestmark = pytest.mark.slow

# A user that fires request events itself; the master writes its final
# results (and Locust's own count) to RESULTS_PATH when the run completes.
SYNTHETIC_LOCUSTFILE = """
import json, os, random
from locust import User, constant, events, task
from loadgen.locust_plugin import results_hub

OUT = os.environ["RESULTS_PATH"]

class Synthetic(User):
    wait_time = constant(0.01)

    @task
    def fire(self):
        failed = random.random() < 0.05
        self.environment.events.request.fire(
            request_type="SYN", name=random.choice(["alpha", "beta"]),
            response_time=random.lognormvariate(0, 1), response_length=0,
            exception=RuntimeError("synthetic") if failed else None, context={},
        )

@events.init.add_listener
def dump_results(environment, **_kwargs):
    hub = results_hub(environment)
    if hub is None or hub.role == "worker":
        return

    def write(snapshot):
        c = snapshot.completeness
        data = {
            "count": snapshot.cumulative.total.count,
            "locust_count": environment.runner.stats.total.num_requests,
            "workers_seen": c.workers_seen,
            "workers_finished": c.workers_finished,
            "intervals_received": c.intervals_received,
            "intervals_missing": c.intervals_missing,
            "lost": [[w.worker_id, w.intervals_lost] for w in c.lost_workers],
        }
        with open(OUT, "w") as f:
            json.dump(data, f)

    hub.on_complete.add(write)
"""


# Commands (docker-compose.yml runs the same ones; see test_distributed_compose)


def locust() -> list[str]:
    return [sys.executable, "-m", "locust"]


def master_args(
    locustfile: str,
    host: str,
    *,
    master_port: int,
    aggregator_bind: str = "",
    aggregator_address: str = "",
    aggregator_keys: str = "",
    processes: int = 0,
) -> list[str]:
    """A Locust master with the in-master aggregator (or a standalone one);
    with ``processes`` it forks that many local workers itself."""
    mode = ["--processes", str(processes)] if processes else ["--master"]
    args = ["-f", locustfile, *mode, "-H", host]
    args += ["--master-bind-port", str(master_port)]
    if processes:
        args += ["--master-port", str(master_port)]
    if aggregator_bind:
        args += ["--aggregator-bind", aggregator_bind]
    if aggregator_address:
        args += ["--aggregator-address", aggregator_address]
    if aggregator_keys:
        args += ["--aggregator-keys", aggregator_keys]
    return args


def worker_args(locustfile: str, *, master_host: str, master_port: int) -> list[str]:
    """A Locust worker; it learns where to send results from the master."""
    return [
        "-f",
        locustfile,
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
    ]


def target_args(*, host: str, port: int, ready_file: str = "") -> list[str]:
    """The demo MCP target."""
    args = ["-m", "loadgen.target", "--host", host, "--port", str(port)]
    if host not in ("127.0.0.1", "::1", "localhost"):
        # Inside a container the target must answer other containers.
        args.append("--allow-non-loopback")
    return args + (["--ready-file", ready_file] if ready_file else [])


def aggregator_args(*, bind: str, journal: str) -> list[str]:
    """The standalone aggregator (``mcp-loadgen aggregator``)."""
    return ["aggregator", "--bind", bind, "--journal", journal]


def headless(users: int, run_time_s: int, workers: int) -> list[str]:
    return [
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{run_time_s}s",
        "--expect-workers",
        str(workers),
        "--master-bind-host",
        "127.0.0.1",
        "--stop-timeout",
        "5",
    ]


# Process handling -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Processes a test started; each in its own group, all killed at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, command: Sequence[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            list(command),
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def wait_for_line(self, name: str, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log(name):
                return
            time.sleep(0.1)
        raise AssertionError(f"{name} never logged {text!r}:\n{self.log(name)[-3000:]}")

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.kill_all()


def finish(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    return process.wait(timeout=timeout_s)


def synthetic_locustfile(tmp_path: Path) -> tuple[str, dict[str, str]]:
    path = tmp_path / "synthetic_locustfile.py"
    path.write_text(SYNTHETIC_LOCUSTFILE)
    return str(path), {"RESULTS_PATH": str(tmp_path / "results.json")}


def read_results(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "results.json").read_text())
    return data


# Drills -------------------------------------------------------------------------


def test_worker_killed_mid_run_is_reported_lost(
    processes: Processes, tmp_path: Path
) -> None:
    """SIGKILL of one of two workers: it is reported lost with its unflushed
    interval; the other worker's results are complete."""
    locustfile, env = synthetic_locustfile(tmp_path)
    port = free_port()
    master = processes.start(
        "master",
        locust()
        + master_args(locustfile, "http://127.0.0.1", master_port=port)
        + headless(users=6, run_time_s=9, workers=2),
        env,
    )
    workers = [
        processes.start(
            f"worker{i}",
            locust()
            + worker_args(locustfile, master_host="127.0.0.1", master_port=port),
            env,
        )
        for i in range(2)
    ]
    processes.wait_for_line("master", "All users spawned", timeout_s=30)
    time.sleep(3)
    os.kill(workers[0].pid, signal.SIGKILL)

    finish(master, timeout_s=60)
    results = read_results(tmp_path)
    assert results["workers_seen"] == 2
    assert results["workers_finished"] == 1
    assert len(results["lost"]) == 1
    assert results["lost"][0][1] >= 1
    assert results["intervals_missing"] == results["lost"][0][1]
    output = processes.log("master")
    assert "Lost worker" in output
    assert "Response time percentiles from the result aggregator" in output


def test_standalone_aggregator_restarted_mid_run_loses_nothing(
    processes: Processes, tmp_path: Path
) -> None:
    """--processes 2 sending to a standalone aggregator that is SIGKILLed and
    restarted mid-run: no interval missing, counts equal Locust's."""
    locustfile, env = synthetic_locustfile(tmp_path)
    aggregator_port, master_port = free_port(), free_port()
    bind = f"127.0.0.1:{aggregator_port}"
    journal = str(tmp_path / "aggregator.journal")
    standalone = [sys.executable, "-m", "loadgen.aggregator"]
    standalone += aggregator_args(bind=bind, journal=journal)
    aggregator = processes.start("aggregator1", standalone)
    processes.wait_for_line("aggregator1", "Aggregator listening", timeout_s=20)
    master = processes.start(
        "master",
        locust()
        + master_args(
            locustfile,
            "http://127.0.0.1",
            master_port=master_port,
            aggregator_address=bind,
            processes=2,
        )
        + headless(users=6, run_time_s=10, workers=2),
        env,
    )
    processes.wait_for_line("master", "All users spawned", timeout_s=30)
    time.sleep(3)
    os.kill(aggregator.pid, signal.SIGKILL)
    aggregator.wait(timeout=10)
    time.sleep(1.5)
    processes.start("aggregator2", standalone)
    processes.wait_for_line("aggregator2", "replayed", timeout_s=20)

    finish(master, timeout_s=60)
    results = read_results(tmp_path)
    assert results["workers_seen"] == 2
    assert results["workers_finished"] == 2
    assert results["intervals_missing"] == 0
    assert results["lost"] == []
    assert results["count"] == results["locust_count"] > 0


# MCP against the demo target ----------------------------------------------------

TABLE_TITLE = "Response time percentiles from the result aggregator"


def aggregator_table_count(output: str) -> int:
    """The request count of the Aggregated row of our end-of-run table."""
    table = output[output.rindex(TABLE_TITLE) :]
    match = re.search(r"^Aggregated\s+(\d+)\s", table, re.MULTILINE)
    assert match, table
    return int(match.group(1))


def locust_count(stats_csv: Path) -> int:
    import csv

    with stats_csv.open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return int(rows["Aggregated"]["Request Count"])


def target_stats(port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/admin/stats"
    with urllib.request.urlopen(url, timeout=5) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


def start_target(processes: Processes, tmp_path: Path) -> int:
    ready = tmp_path / "target.port"
    processes.start(
        "target",
        [sys.executable] + target_args(host="127.0.0.1", port=0, ready_file=str(ready)),
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            return int(ready.read_text().strip())
        time.sleep(0.1)
    raise AssertionError(f"target not ready:\n{processes.log('target')[-2000:]}")


def assert_mcp_user_loads_the_plugin() -> None:
    """McpUser's module must import loadgen.locust_plugin (the contract)."""
    check = (
        "import sys, loadgen.users; "
        "sys.exit('loadgen.locust_plugin' not in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, timeout=60)
    assert done.returncode == 0, "loadgen/users.py must import loadgen.locust_plugin"


@pytest.mark.skipif(
    not (REPO / MCP_MIX).exists(), reason="needs locustfiles/mcp_mix.py"
)
def test_mcp_run_on_two_workers_counts_agree(
    processes: Processes, tmp_path: Path
) -> None:
    """Master + 2 workers + the demo target for 15 s: the aggregator's count
    equals Locust's and the target's (initialize and discovery included)."""
    assert_mcp_user_loads_the_plugin()
    target_port = start_target(processes, tmp_path)
    host = f"http://127.0.0.1:{target_port}"
    port = free_port()
    csv_prefix = tmp_path / "locust"
    master = processes.start(
        "master",
        locust()
        + master_args(MCP_MIX, host, master_port=port)
        + headless(users=10, run_time_s=15, workers=2)
        + ["--csv", str(csv_prefix)],
    )
    for i in range(2):
        processes.start(
            f"worker{i}",
            locust() + worker_args(MCP_MIX, master_host="127.0.0.1", master_port=port),
        )
    finish(master, timeout_s=90)

    output = processes.log("master")
    ours = aggregator_table_count(output)
    theirs = locust_count(Path(f"{csv_prefix}_stats.csv"))
    served = target_stats(target_port)["requests_total"]
    assert "intervals: " in output and ", 0 missing" in output
    assert ours == theirs > 1_000
    assert ours == served
