"""What breakers and inactive chaos hooks cost each call (issue 5).

Every variant runs the same call path McpUser runs, with the MCP client and
the network left out so only our additions are timed: the user hands one
call to its hooks (``around_call``), the call sends one request through the
user's transport (a stub that returns a ready response) and reports one
record, which passes through ``observe`` on its way to Locust (a stub too).

Variants, nanoseconds per call, medians over ``--runs`` runs:

- ``bare``: no hooks at all (``--breaker off`` and no chaos file).
- ``chaos inactive``: a chaos file is loaded but no experiment reaches the
  user: ChaosTransport around the stub, a UserChaos with no hooks, no
  breaker. Its cost over ``bare`` is what chaos costs every call of every
  user whenever it is not injecting: the issue's budget is 2 us.
- ``breaker``: one per-user breaker in CLOSED, no chaos: ``--breaker user``,
  the default. Its cost over ``bare`` is the breaker's cost per call.
- ``breaker + chaos inactive``: both, as a chaos run's control group.
- ``breaker alone``: ``acquire`` plus ``record`` on a CLOSED breaker with a
  count window, outside any user.
- ``time window``: the same with a 10 s time-based window.

Usage (from the repository root):

    python bench/bench_chaos_overhead.py --runs 7

It prints the medians as a Markdown table and exits 0 when inactive chaos
costs under 2,000 ns per call, else 1.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable

from loadgen.client import CallRecord
from loadgen.mcp.outcomes import OK
from loadgen.transport.messages import HttpRequest, HttpResponse, Transport
from loadgen.workload import Call
from resilience_probe.breaker import BreakerConfig, CircuitBreaker, WindowKind
from resilience_probe.chaos import UserChaos
from resilience_probe.guard import ResilienceHooks

BUDGET_NS = 2_000.0
# The variants that run McpUser's call path with hooks (compared with bare).
USER_PATHS = ("chaos inactive", "breaker", "breaker + chaos inactive")
URL = "http://127.0.0.1:9"
CALL = Call("tools/call", {"name": "echo"}, "tools/call echo")
REQUEST = HttpRequest("POST", "/mcp", {"Content-Type": "application/json"}, b"{}")
RESPONSE = HttpResponse(200, {"content-type": "application/json"}, (b"{}",))
RECORD = CallRecord("tools/call echo", OK, 0.0, 800, 700, 2)


class StubTransport:
    """Answers at once with the same response."""

    def send(self, request: HttpRequest) -> HttpResponse:
        return RESPONSE

    def close(self) -> None:
        """Nothing to close."""


def reported(name: str) -> None:
    """Where Locust's request event would go."""


def bare_path(n: int) -> float:
    """McpUser without hooks: send, then report."""
    transport = StubTransport()

    def send(call: Call) -> None:
        transport.send(REQUEST)
        reported(RECORD.name)

    return per_call_ns(lambda: send(CALL), n)


def hooked_path(n: int, *, breaker: bool, chaos: bool) -> float:
    """McpUser with hooks: around_call, the wrapped transport, observe."""
    chaos_state = UserChaos(0, affected=False) if chaos else None
    context: dict[str, object] = {}

    def emit(record: CallRecord) -> None:
        reported(hooks.observe(record, context))

    hooks = ResilienceHooks(
        emit,
        breaker=CircuitBreaker(BreakerConfig()) if breaker else None,
        chaos=chaos_state,
        base_url=URL,
    )
    transport: Transport = hooks.wrap_transport(StubTransport())

    def send(call: Call) -> None:
        transport.send(REQUEST)
        emit(RECORD)

    around = hooks.around_call
    return per_call_ns(lambda: around(send, CALL), n)


def breaker_alone(n: int, kind: WindowKind = WindowKind.COUNT) -> float:
    breaker = CircuitBreaker(BreakerConfig(window_kind=kind))
    acquire, record = breaker.acquire, breaker.record

    def one() -> None:
        record(acquire(), OK, 800)

    return per_call_ns(one, n)


def per_call_ns(call: Callable[[], None], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - start) / n


def medians(runs: int, n: int) -> dict[str, float]:
    variants: dict[str, Callable[[], float]] = {
        "bare": lambda: bare_path(n),
        "chaos inactive": lambda: hooked_path(n, breaker=False, chaos=True),
        "breaker": lambda: hooked_path(n, breaker=True, chaos=False),
        "breaker + chaos inactive": lambda: hooked_path(n, breaker=True, chaos=True),
        "breaker alone": lambda: breaker_alone(n),
        "time window": lambda: breaker_alone(n, WindowKind.TIME),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    # Interleaved, so a noisy neighbour slows every variant alike.
    for _ in range(runs):
        for name, run in variants.items():
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


def print_table(results: dict[str, float]) -> None:
    bare = results["bare"]
    print(f"Python {platform.python_version()}, {platform.machine()}")
    print("| variant | ns per call | over bare |")
    print("| --- | ---: | ---: |")
    for name, value in results.items():
        over = f"{value - bare:,.0f}" if name in USER_PATHS else ""
        print(f"| {name} | {value:,.0f} | {over} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per variant")
    parser.add_argument(
        "--calls", type=int, default=200_000, help="calls per run (default 200,000)"
    )
    args = parser.parse_args()
    results = medians(args.runs, args.calls)
    print_table(results)
    inactive_ns = results["chaos inactive"] - results["bare"]
    print(f"\ninactive chaos: {inactive_ns:,.0f} ns per call (budget {BUDGET_NS:,.0f})")
    return 0 if inactive_ns < BUDGET_NS else 1


if __name__ == "__main__":
    sys.exit(main())
