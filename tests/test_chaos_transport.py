"""Each transport chaos hook produces its observable, at the client and target.

Body rewrites, failures and latency run against the demo target in memory;
reset, abandon and slow send need sockets, so they run against the demo
target served in this process on 127.0.0.1. Injected waits go to a fake
sleep that records them, so nothing here waits for a hook's time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import gevent
import pytest

from loadgen.client import CallRecord, McpClient
from loadgen.mcp.outcomes import OutcomeClass
from loadgen.target.handler import McpTargetHandler
from loadgen.target.server import TargetServer
from loadgen.transport.gevent_http import GeventHttpTransport
from loadgen.transport.memory import InMemoryTransport
from resilience_probe.chaos import ActiveHooks, Hook, HookKind, Malformation, UserChaos
from resilience_probe.chaos_transport import ChaosTransport

ECHO = {"name": "echo", "arguments": {"text": "hi"}}
UNUSED_URL = "http://127.0.0.1:9"


class RecordingSleep:
    """Takes note of each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits_s: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits_s.append(seconds)


def with_hooks(*hooks: Hook) -> UserChaos:
    chaos = UserChaos(0, affected=True)
    chaos.apply(ActiveHooks.of(hooks))
    return chaos


def in_memory(
    *hooks: Hook, sleep: Callable[[float], None] | None = None
) -> tuple[McpClient, list[CallRecord], McpTargetHandler, UserChaos]:
    handler = McpTargetHandler()
    chaos = with_hooks()
    transport = ChaosTransport(
        InMemoryTransport(handler), UNUSED_URL, chaos, sleep=sleep or RecordingSleep()
    )
    records: list[CallRecord] = []
    client = McpClient(transport, records.append)
    assert client.open()
    chaos.apply(ActiveHooks.of(hooks))
    return client, records, handler, chaos


def by_method(handler: McpTargetHandler) -> dict[str, int]:
    return dict(handler.stats().by_method)


@pytest.fixture
def served() -> Iterator[tuple[str, McpTargetHandler]]:
    """The demo target on a free loopback port, in this process."""
    handler = McpTargetHandler(sleep=gevent.sleep)
    server = TargetServer(handler, "127.0.0.1", 0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", handler
    finally:
        server.stop()


def on_socket(
    url: str, *hooks: Hook, sleep: Callable[[float], None] | None = None
) -> tuple[McpClient, list[CallRecord], ChaosTransport, UserChaos]:
    chaos = with_hooks()
    transport = ChaosTransport(
        GeventHttpTransport(url), url, chaos, sleep=sleep or RecordingSleep()
    )
    records: list[CallRecord] = []
    client = McpClient(transport, records.append)
    assert client.open()
    chaos.apply(ActiveHooks.of(hooks))
    return client, records, transport, chaos


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Let the server's greenlets run until it has seen what we sent."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the target never saw it"
        gevent.sleep(0.005)


# In memory ------------------------------------------------------------------------


def test_injected_latency_is_waited_before_the_request_goes_out() -> None:
    """fixed 200 ms plus the jitter's share reaches the sleep, tagged latency."""
    sleep = RecordingSleep()
    hook = Hook(HookKind.LATENCY, fixed_s=0.2, jitter_s=0.0)
    client, records, _, chaos = in_memory(hook, sleep=sleep)
    client.call("tools/call", ECHO, "echo")
    assert sleep.waits_s == [0.2]
    assert records[-1].outcome.ok
    assert chaos.injected == "latency"


def test_an_injected_failure_never_reaches_the_target() -> None:
    """The call fails as a transport error and the target counts nothing."""
    client, records, handler, _ = in_memory(Hook(HookKind.FAILURE))
    before = handler.stats().requests_total
    client.call("tools/call", ECHO, "echo")
    assert records[-1].outcome.cls is OutcomeClass.TRANSPORT
    assert handler.stats().requests_total == before


@pytest.mark.parametrize(
    ("how", "target_row", "outcome_label"),
    [
        (Malformation.INVALID_JSON, "(invalid)", "http_status 400"),
        (Malformation.INVALID_REQUEST, "(invalid)", "http_status 400"),
        (Malformation.UNKNOWN_METHOD, "(unknown)", "http_status 400"),
        (Malformation.INVALID_PARAMS, "tools/call", "http_status 400"),
    ],
)
def test_the_target_sees_each_kind_of_malformed_request(
    how: Malformation, target_row: str, outcome_label: str
) -> None:
    """The target counts the broken message, and answers it with an error."""
    client, records, handler, _ = in_memory(Hook(HookKind.MALFORMED, malformation=how))
    before = by_method(handler).get(target_row, 0)
    client.call("tools/call", ECHO, "echo")
    assert by_method(handler).get(target_row, 0) == before + 1
    assert records[-1].outcome.label == outcome_label


def test_unknown_method_in_a_session_comes_back_as_method_not_found() -> None:
    """Under a handshake revision the target answers -32601 on HTTP 200."""
    handler = McpTargetHandler()
    chaos = with_hooks()
    transport = ChaosTransport(InMemoryTransport(handler), UNUSED_URL, chaos)
    records: list[CallRecord] = []
    client = McpClient(transport, records.append, protocol="2025-11-25")
    assert client.open()
    chaos.apply(ActiveHooks.of((Hook(HookKind.MALFORMED),)))
    client.call("tools/call", ECHO, "echo")
    assert records[-1].outcome.label == "jsonrpc_error -32601"


def test_an_oversized_request_reaches_the_target_at_its_size() -> None:
    """The body the target receives is at least the asked size."""
    handler = McpTargetHandler()
    inner = InMemoryTransport(handler)
    chaos = with_hooks()
    client = McpClient(ChaosTransport(inner, UNUSED_URL, chaos), lambda _: None)
    assert client.open()
    chaos.apply(ActiveHooks.of((Hook(HookKind.OVERSIZED, size_bytes=300_000),)))
    client.call("tools/call", ECHO, "echo")
    assert len(inner.requests[-1].body) >= 300_000


def test_with_no_hook_active_requests_pass_unchanged() -> None:
    """An affected user outside an experiment sends exactly what it built."""
    handler = McpTargetHandler()
    inner = InMemoryTransport(handler)
    chaos = UserChaos(0, affected=True)
    client = McpClient(ChaosTransport(inner, UNUSED_URL, chaos), lambda _: None)
    assert client.open()
    client.call("tools/call", ECHO, "echo")
    assert b'"method":"tools/call"' in inner.requests[-1].body.replace(b" ", b"")
    assert chaos.injected == ""


# On loopback sockets ------------------------------------------------------------------


def test_a_reset_mid_request_shows_as_a_transport_reset(
    served: tuple[str, McpTargetHandler],
) -> None:
    """The cut-off request is never served, and the client records a reset."""
    url, handler = served
    client, records, _, _ = on_socket(url, Hook(HookKind.RESET))
    before = handler.stats().requests_total
    client.call("tools/call", ECHO, "echo")
    assert records[-1].outcome.label == "transport reset"
    assert handler.stats().requests_total == before


def test_an_abandoned_request_is_served_but_never_read(
    served: tuple[str, McpTargetHandler],
) -> None:
    """The target answers it; the client gave up; the socket stays open."""
    url, handler = served
    client, records, transport, _ = on_socket(url, Hook(HookKind.ABANDON, hold_s=60))
    before = handler.stats().requests_total
    client.call("tools/call", ECHO, "echo")
    assert records[-1].outcome.label == "transport timeout"
    wait_until(lambda: handler.stats().requests_total == before + 1)
    assert transport.held_connections == 1
    transport.close()
    assert transport.held_connections == 0


def test_a_slow_send_trickles_the_request_and_reads_the_answer(
    served: tuple[str, McpTargetHandler],
) -> None:
    """Ten pieces, a tenth of send_s apart; the call still succeeds."""
    url, handler = served
    sleep = RecordingSleep()
    hook = Hook(HookKind.SLOW_SEND, send_s=2.0, pieces=10)
    client, records, _, _ = on_socket(url, hook, sleep=sleep)
    client.call("tools/call", ECHO, "echo")
    assert records[-1].outcome.ok
    assert len(sleep.waits_s) == 10 and sum(sleep.waits_s) == pytest.approx(2.0)
