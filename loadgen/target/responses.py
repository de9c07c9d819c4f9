"""What the target's pure handlers return, and how bodies are framed.

A ``TargetResponse`` is status, headers and body chunks, plus ``delay_s``:
the time the server must wait before sending anything (injected latency,
a stall, tool work in JSON mode). SSE bodies are generators, so waits
between events happen while the stream is open, as they would on a real
server doing work between progress notifications.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from loadgen.target import rpc
from loadgen.transport.messages import HttpRequest

Sleep = Callable[[float], None]

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream"


class ResponseMode(enum.StrEnum):
    """How request results travel: one JSON body, or an SSE stream."""

    JSON = "json"
    SSE = "sse"


@dataclass(slots=True)
class TargetResponse:
    """One answer. ``length`` is None for a streamed body of unknown size."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] = ()
    length: int | None = 0
    delay_s: float = 0.0

    def body(self) -> bytes:
        """Read the whole body (runs any waits an SSE stream holds)."""
        return b"".join(self.chunks)


class TargetApp(Protocol):
    """Anything that answers HTTP requests the way the demo target does."""

    def handle(self, request: HttpRequest) -> TargetResponse: ...


def empty(status: int, headers: dict[str, str] | None = None) -> TargetResponse:
    return TargetResponse(status, headers if headers is not None else {})


def json_body(
    status: int, payload: Any, headers: dict[str, str] | None = None
) -> TargetResponse:
    """A complete JSON body with its Content-Length known up front."""
    body = rpc.encode(payload)
    all_headers = {"Content-Type": JSON_TYPE}
    if headers:
        all_headers.update(headers)
    return TargetResponse(status, all_headers, (body,), len(body))


def rpc_error(
    status: int, request_id: rpc.RequestId | None, error: rpc.RpcError
) -> TargetResponse:
    """A JSON-RPC error on an HTTP error status: always plain JSON."""
    return json_body(status, rpc.error_message(request_id, error))


# SSE event ids must be unique per stream at least; a process-wide counter
# makes them unique across streams too, which costs nothing.
_event_ids = itertools.count(1)


def sse_event(message: dict[str, Any]) -> bytes:
    """One SSE event holding one JSON-RPC message (WHATWG SSE framing)."""
    event_id = next(_event_ids)
    return b"event: message\nid: %d\ndata: %s\n\n" % (event_id, rpc.encode(message))


@dataclass(frozen=True, slots=True)
class StreamStep:
    """One SSE event, sent after waiting ``wait_s`` on the open stream."""

    message: dict[str, Any]
    wait_s: float = 0.0


def sse_stream(
    steps: Iterable[StreamStep],
    sleep: Sleep,
    headers: dict[str, str] | None = None,
) -> TargetResponse:
    """An SSE response that sends each step's event, then ends the stream."""
    all_headers = {"Content-Type": SSE_TYPE, "Cache-Control": "no-cache"}
    if headers:
        all_headers.update(headers)
    return TargetResponse(200, all_headers, _events(steps, sleep), None)


def _events(steps: Iterable[StreamStep], sleep: Sleep) -> Iterator[bytes]:
    for step in steps:
        if step.wait_s > 0:
            sleep(step.wait_s)
        yield sse_event(step.message)
