"""InMemoryTransport: the demo target behind the Transport protocol, no sockets."""

from __future__ import annotations

import json

import pytest

from loadgen.target.faults import FaultPlan, FaultSettings, Latency
from loadgen.target.handler import McpTargetHandler
from loadgen.target.responses import ResponseMode
from loadgen.transport.memory import InMemoryTransport
from loadgen.transport.messages import HttpRequest, TransportError, TransportErrorKind

HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}
INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}},
    }
).encode()


def test_headers_come_back_lower_case_with_length() -> None:
    """Response headers are lower-case, as from the gevent transport."""
    transport = InMemoryTransport(McpTargetHandler())
    response = transport.send(HttpRequest("POST", "/mcp", HEADERS, INITIALIZE))
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert len(response.headers["mcp-session-id"]) == 32
    assert int(response.headers["content-length"]) == len(response.body())


def test_sse_body_arrives_as_chunks() -> None:
    """An SSE answer is read chunk by chunk, one event per chunk."""
    transport = InMemoryTransport(McpTargetHandler(response_mode=ResponseMode.SSE))
    response = transport.send(HttpRequest("POST", "/mcp", HEADERS, INITIALIZE))
    chunks = list(response.iter_chunks())
    assert response.headers["content-type"] == "text/event-stream"
    assert "content-length" not in response.headers
    assert len(chunks) == 1 and chunks[0].startswith(b"event: message\n")


def test_delays_are_recorded_and_passed_to_sleep() -> None:
    """A handler delay goes to the given sleep and into delays_s."""
    faults = FaultPlan(FaultSettings(latency=Latency.parse("fixed:3ms")))
    waits: list[float] = []
    transport = InMemoryTransport(McpTargetHandler(faults=faults), sleep=waits.append)
    transport.send(HttpRequest("POST", "/mcp", HEADERS, INITIALIZE))
    assert waits == transport.delays_s == [pytest.approx(0.003)]


def test_send_after_close_is_a_closed_transport_error() -> None:
    """A closed transport refuses to send, as a network error of kind closed."""
    transport = InMemoryTransport(McpTargetHandler())
    transport.close()
    with pytest.raises(TransportError) as caught:
        transport.send(HttpRequest("POST", "/mcp", HEADERS, INITIALIZE))
    assert caught.value.kind is TransportErrorKind.CLOSED
