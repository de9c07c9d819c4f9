"""Pick the HTTP driver for a target URL.

Plain http goes through ``gevent_h1`` (sockets and the pure ``h1`` parser),
which costs McpUser markedly less generator CPU per request than
geventhttpclient (docs/performance.md); https stays on
``GeventHttpTransport``, since ``gevent_h1`` has no TLS.
"""

from __future__ import annotations

from loadgen.transport.gevent_h1 import GeventH1Transport
from loadgen.transport.gevent_http import GeventHttpTransport, parse_base_url
from loadgen.transport.messages import Transport


def http_transport(
    base_url: str, *, timeout_s: float = 30.0, connect_timeout_s: float = 10.0
) -> Transport:
    """The driver for ``base_url``; raises ConfigError for a bad URL."""
    scheme, _, _, _ = parse_base_url(base_url)
    if scheme == "http":
        return GeventH1Transport(
            base_url, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s
        )
    return GeventHttpTransport(
        base_url, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s
    )
