"""Aggregator ingest: reports per second one core sustains, and bytes per report.

Synthetic workers send 1 s reports of 20 request names each (``--names``),
``--requests-per-name`` requests per name and interval with log-normal
latencies (median about 1.8 ms), so a report carries a realistic spread of
HDR buckets. The issue's goal is at least 2,000 reports/s on one core.

Figures, each the median of ``--runs`` runs:

- ``bytes/report``: size of an encoded report.
- ``in-process``: reports/s through ``Aggregator.ingest`` (decode, validate,
  merge into the cumulative counts and the time series), one thread.
- ``socket, journal off`` / ``socket, journal on``: reports per CPU-second
  of a standalone aggregator process (``python -m loadgen.aggregator
  aggregator``) receiving over loopback ZeroMQ from ``--senders`` DEALER
  sockets with up to ``--window`` unacknowledged reports each; its CPU time
  (utime + stime from /proc) is read before and after, so the figure is
  what one aggregator core does, whatever the senders cost. Wall-clock
  reports/s is printed beside it.

Usage (from the repository root):

    python bench/bench_aggregator.py --runs 5

Exits 0 when every ingest figure is at least 2,000 reports/s, else 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from loadgen.aggregator import wire
from loadgen.aggregator.state import Aggregator
from loadgen.recording import Recorder
from loadgen.recording.recorder import IntervalRecord

GOAL_REPORTS_PER_S = 2_000
REPO = Path(__file__).resolve().parents[1]
RUN_ID = "bench-run"


def interval_records(count: int, names: int, per_name: int) -> list[IntervalRecord]:
    """``count`` distinct intervals to stamp reports from."""
    rng = np.random.default_rng(7)
    records = []
    for i in range(count):
        recorder = Recorder()
        values = rng.lognormal(7.5, 0.8, names * per_name).astype(np.int64).tolist()
        outcomes = rng.random(names * per_name) < 0.01
        for j, value in enumerate(values):
            outcome = "transport" if outcomes[j] else "ok"
            recorder.record(f"tools/call tool{j % names}", value, outcome)
        records.append(recorder.take(1_000.0 + i, 1_001.0 + i))
    return records


def reports(total: int, workers: int, records: list[IntervalRecord]) -> list[bytes]:
    """Encoded reports: ``workers`` workers, consecutive sequence numbers."""
    out = []
    for k in range(total):
        worker, seq = k % workers, k // workers
        frame = wire.IntervalFrame.from_record(
            records[k % len(records)],
            run_id=RUN_ID,
            worker_id=f"worker-{worker}",
            seq=seq,
            report_interval_s=1.0,
        )
        out.append(wire.encode(frame))
    return out


def in_process(payloads: list[bytes]) -> float:
    aggregator = Aggregator(RUN_ID)
    start = time.perf_counter()
    for payload in payloads:
        aggregator.ingest(payload)
    elapsed = time.perf_counter() - start
    assert aggregator.completeness().intervals_received == len(payloads)
    return len(payloads) / elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_aggregator(port: int, journal: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "loadgen.aggregator", "aggregator"]
    command += ["--bind", f"127.0.0.1:{port}", "--journal", journal]
    return subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def blast(port: int, payloads: list[bytes], senders: int, window: int) -> float:
    """Send everything with bounded windows; return wall seconds to the last ack."""
    context = zmq.Context()
    sockets = []
    for _ in range(senders):
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"tcp://127.0.0.1:{port}")
        sockets.append(sock)
    _warm_up(sockets)
    queues = [payloads[i::senders] for i in range(senders)]
    poller = zmq.Poller()
    for sock in sockets:
        poller.register(sock, zmq.POLLIN)
    start = time.perf_counter()
    _pump(sockets, queues, poller, window, deadline=start + 300)
    elapsed = time.perf_counter() - start
    for sock in sockets:
        sock.close()
    context.term()
    return elapsed


def _warm_up(sockets: list[zmq.Socket[bytes]]) -> None:
    probe = wire.encode(wire.PullRequest(RUN_ID, 0, 1))
    for sock in sockets:
        sock.send(probe)
        if not sock.poll(20_000):
            raise RuntimeError("aggregator did not answer within 20 s")
        sock.recv()


def _pump(
    sockets: list[zmq.Socket[bytes]],
    queues: list[list[bytes]],
    poller: zmq.Poller,
    window: int,
    deadline: float,
) -> None:
    sent = [0] * len(sockets)
    acked = [0] * len(sockets)
    total = sum(len(q) for q in queues)
    while sum(acked) < total:
        if time.perf_counter() > deadline:
            raise RuntimeError("aggregator did not keep up within the deadline")
        for i, sock in enumerate(sockets):
            while sent[i] < len(queues[i]) and sent[i] - acked[i] < window:
                sock.send(queues[i][sent[i]])
                sent[i] += 1
        for sock, _ in poller.poll(1_000):
            index = sockets.index(sock)
            while True:
                try:
                    sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                acked[index] += 1


def over_socket(
    payloads: list[bytes], senders: int, window: int, journal: bool
) -> tuple[float, float]:
    """(reports per aggregator CPU-second, reports per wall second)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.journal") if journal else ""
        process = start_aggregator(port, path)
        try:
            before = None
            time.sleep(0.5)
            before = cpu_s(process.pid)
            wall_s = blast(port, payloads, senders, window)
            used_s = cpu_s(process.pid) - before
        finally:
            process.terminate()
            process.wait(timeout=30)
    return len(payloads) / used_s, len(payloads) / wall_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reports", type=int, default=6_000)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--names", type=int, default=20)
    parser.add_argument("--requests-per-name", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args(argv)

    records = interval_records(40, args.names, args.requests_per_name)
    payloads = reports(args.reports, args.workers, records)
    size = statistics.median(len(p) for p in payloads)
    results: dict[str, list[float]] = {"in-process": []}
    wall: dict[str, list[float]] = {}
    for _ in range(args.runs):
        results["in-process"].append(in_process(payloads))
        for journal in (False, True):
            key = f"socket, journal {'on' if journal else 'off'}"
            cpu, walls = over_socket(payloads, args.senders, args.window, journal)
            results.setdefault(key, []).append(cpu)
            wall.setdefault(key, []).append(walls)

    print(
        f"{args.reports} reports of {args.names} names x {args.requests_per_name} "
        f"requests from {args.workers} workers; {args.runs} runs; "
        f"median bytes/report {size:,.0f}"
    )
    print("| path | reports/s per aggregator core | reports/s wall |")
    print("| --- | ---: | ---: |")
    for key, values in results.items():
        wall_text = f"{statistics.median(wall[key]):,.0f}" if key in wall else "-"
        print(f"| {key} | {statistics.median(values):,.0f} | {wall_text} |")
    worst = min(statistics.median(v) for v in results.values())
    return 0 if worst >= GOAL_REPORTS_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
