"""Recording cost per request: what each request event costs a worker (issue 3).

What it measures, in nanoseconds per request, medians over ``--runs`` runs:

- ``record``: ``Recorder.record`` alone (dict lookup, two numpy stores).
- ``listener``: our request-event listener called the way Locust's
  ``EventHook.fire`` calls it (keyword arguments, McpUser's context), minus
  a do-nothing listener with the same signature: the cost recording adds to
  every request, on top of what Locust's event dispatch costs anyway.
- ``take``: bucketing, outcome counting and extremes at the end of an
  interval, divided by the requests in it (20 names, ``--per-interval``).
- ``amortized``: ``listener`` + ``take``, the hot-path figure the issue's
  budget of 1 us applies to.
- ``hdrhistogram``: the library's ``record_value`` per request, for scale.

Usage (from the repository root):

    python bench/bench_recording.py --runs 7

It prints the medians as a Markdown table and exits 0 when ``amortized``
is at most 1,000 ns, else 1.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from loadgen.recording import Recorder, RequestEventListener

NAMES = [f"tools/call tool{i}" for i in range(20)]
BUDGET_NS = 1_000.0


def latencies(n: int, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    values: list[int] = rng.lognormal(7.5, 1.0, n).astype(np.int64).tolist()
    return values


def per_call_ns(call: Callable[[int], None], n: int) -> float:
    start = time.perf_counter_ns()
    for i in range(n):
        call(i)
    return (time.perf_counter_ns() - start) / n


def bench_record(n: int) -> float:
    recorder = Recorder()
    values = latencies(n)
    names = [NAMES[i % 20] for i in range(n)]
    record = recorder.record
    return per_call_ns(lambda i: record(names[i], values[i], "ok"), n)


def event_kwargs(n: int) -> list[dict[str, Any]]:
    values = latencies(n)
    return [
        {
            "request_type": "MCP",
            "name": NAMES[i % 20],
            "response_time": values[i] / 1000.0,
            "response_length": 120,
            "response": None,
            "context": {"outcome": "ok", "latency_us": values[i], "ttfb_us": 100},
            "exception": None,
            "start_time": 0.0,
            "url": None,
        }
        for i in range(n)
    ]


def noop(**_kwargs: Any) -> None:
    return None


def bench_listener(n: int) -> float:
    """Our listener minus an empty one, both called as Locust calls them."""
    kwargs = event_kwargs(n)
    listener = RequestEventListener(Recorder())
    ours = per_call_ns(lambda i: listener(**kwargs[i]), n)
    empty = per_call_ns(lambda i: noop(**kwargs[i]), n)
    return ours - empty


def bench_take(per_interval: int, intervals: int = 20) -> float:
    recorder = Recorder()
    values = latencies(per_interval)
    total_ns = 0
    for _ in range(intervals):
        for i, value in enumerate(values):
            recorder.record(NAMES[i % 20], value, "ok" if i % 50 else "transport")
        start = time.perf_counter_ns()
        recorder.take(0.0, 1.0)
        total_ns += time.perf_counter_ns() - start
    return total_ns / (intervals * per_interval)


def bench_hdrhistogram(n: int) -> float:
    from hdrh.histogram import HdrHistogram

    histogram = HdrHistogram(1, 3_600_000_000, 3)
    values = latencies(n)
    return per_call_ns(lambda i: histogram.record_value(values[i]), n)


def run_once(n: int, per_interval: int) -> dict[str, float]:
    listener = bench_listener(n)
    take = bench_take(per_interval)
    return {
        "record": bench_record(n),
        "listener": listener,
        "take": take,
        "amortized": listener + take,
        "hdrhistogram": bench_hdrhistogram(n // 10),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--per-interval", type=int, default=5_000)
    args = parser.parse_args(argv)

    runs = [run_once(args.requests, args.per_interval) for _ in range(args.runs)]
    medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {args.runs} runs"
    )
    print("| figure | ns per request (median) |")
    print("| --- | ---: |")
    for key, value in medians.items():
        print(f"| {key} | {value:,.0f} |")
    return 0 if medians["amortized"] <= BUDGET_NS else 1


if __name__ == "__main__":
    sys.exit(main())
