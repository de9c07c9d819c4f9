"""Helpers for tests that start real processes on loopback."""

from __future__ import annotations

import contextlib
import csv
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIX = REPO / "locustfiles" / "mcp_mix.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], timeout_s: float
) -> None:
    """Wait until something accepts on 127.0.0.1:port, or fail the test."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout_s} s")


@contextlib.contextmanager
def running(command: Sequence[str], port: int, timeout_s: float = 20) -> Iterator[str]:
    """Run a server process; yield its base URL; terminate it afterwards."""
    process = subprocess.Popen(list(command), cwd=REPO)
    try:
        wait_for_port(port, process, timeout_s)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def demo_target(*flags: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "loadgen.target", "--port", str(port), *flags]
    with running(command, port) as url:
        yield url


@dataclass(frozen=True)
class LocustRun:
    exit_code: int
    output: str
    rows: dict[str, dict[str, str]]  # stats CSV rows by name ("Aggregated" too)

    def count(self, name: str = "Aggregated") -> int:
        return int(self.rows[name]["Request Count"])

    def failures(self, name: str = "Aggregated") -> int:
        return int(self.rows[name]["Failure Count"])


def run_locust(
    host: str,
    tmp_path: Path,
    *extra: str,
    locustfile: Path = MIX,
    users: int = 5,
    run_time: str = "4s",
    timeout_s: float = 120,
) -> LocustRun:
    """Run headless Locust as a user would, and read its stats CSV."""
    prefix = tmp_path / "run"
    command = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "-H", host,
        "--headless", "-u", str(users), "-r", str(users), "-t", run_time,
        "--csv", str(prefix), "--stop-timeout", "5", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, env=env
    )
    rows: dict[str, dict[str, str]] = {}
    stats = Path(f"{prefix}_stats.csv")
    if stats.exists():
        with stats.open() as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return LocustRun(done.returncode, done.stdout + done.stderr, rows)
