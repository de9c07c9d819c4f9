"""Transports: move an MCP exchange's bytes; the protocol core reads them.

A transport is anything with ``send(HttpRequest) -> HttpResponse``. The
gevent driver (``gevent_http``) talks to a real server; ``memory`` hands the
request to an in-process target handler, for tests and for users' own tests.
"""

from loadgen.transport.messages import (
    HttpRequest,
    HttpResponse,
    Transport,
    TransportError,
    TransportErrorKind,
)

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "Transport",
    "TransportError",
    "TransportErrorKind",
]
