"""A transport that hands each request to an in-process target handler.

For tests, ours and users': a client runs against the demo target (or any
object with ``handle(HttpRequest) -> TargetResponse``) with no sockets, no
gevent and no waiting::

    handler = McpTargetHandler(page_size=2)
    client = McpClient(InMemoryTransport(handler), ...)

Responses look as they would from the gevent transport: lower-case header
names and the body as chunks. A handler's ``delay_s`` (injected latency, a
stall) is passed to ``sleep`` when one is given and ignored otherwise, and
``delays_s`` records each one so a test can assert it without waiting.
"""

from __future__ import annotations

from collections.abc import Callable

from loadgen.target.responses import TargetApp, TargetResponse
from loadgen.transport.messages import (
    HttpRequest,
    HttpResponse,
    TransportError,
    TransportErrorKind,
)


class InMemoryTransport:
    """Sends requests straight to a target handler's ``handle``."""

    def __init__(
        self, handler: TargetApp, *, sleep: Callable[[float], None] | None = None
    ) -> None:
        self.handler = handler
        self.sleep = sleep
        self.requests: list[HttpRequest] = []
        self.delays_s: list[float] = []
        self.closed = False

    def send(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request`` through the handler."""
        if self.closed:
            raise TransportError(TransportErrorKind.CLOSED, "transport was closed")
        self.requests.append(request)
        answer = self.handler.handle(request)
        self.delays_s.append(answer.delay_s)
        if answer.delay_s > 0 and self.sleep is not None:
            self.sleep(answer.delay_s)
        return _as_http_response(answer)

    def close(self) -> None:
        self.closed = True


def _as_http_response(answer: TargetResponse) -> HttpResponse:
    headers = {name.lower(): value for name, value in answer.headers.items()}
    if answer.length is not None:
        headers["content-length"] = str(answer.length)
    return HttpResponse(answer.status, headers, iter(answer.chunks))
