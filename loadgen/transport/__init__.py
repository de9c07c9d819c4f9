"""Transports: move an MCP exchange's bytes; the protocol core reads them.

A transport is anything with ``send(HttpRequest) -> HttpResponse``. Two
gevent drivers talk to a real server: ``gevent_h1`` (plain sockets under the
pure ``h1`` parser) for http and ``gevent_http`` (geventhttpclient) for
https; ``factory.http_transport`` picks one by the URL's scheme. ``memory``
hands the request to an in-process target handler, for tests and for users'
own tests.
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
