"""The gevent HTTP driver: geventhttpclient under the protocol core.

We call geventhttpclient directly rather than through Locust's
FastHttpSession: the session adds a response wrapper, its own request event
and cookie handling per request, none of which an MCP exchange needs (the
bench/ folder measures the difference). POSTs are never retried here, so a
load test never sends a request twice without counting it.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import gevent
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPParseError, HTTPSocketPoolResponse

from loadgen.errors import ConfigError
from loadgen.mcp.errors import ProtocolViolation
from loadgen.transport.messages import (
    HttpRequest,
    HttpResponse,
    TransportError,
    TransportErrorKind,
)

# How long to wait for the rest of a stream after the final response was
# read. Servers close an SSE stream right after the response (the spec says
# SHOULD); one that does not costs its connection, never our measurement.
DRAIN_S = 0.05

_ERRNO_KINDS = {
    errno.ECONNREFUSED: TransportErrorKind.REFUSED,
    errno.ECONNRESET: TransportErrorKind.RESET,
    errno.EPIPE: TransportErrorKind.RESET,
    errno.ETIMEDOUT: TransportErrorKind.TIMEOUT,
}


def parse_base_url(url: str) -> tuple[str, str, int, str]:
    """Split a target URL into (scheme, host, port, path) or raise ConfigError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(str(exc), field="host URL", value=url) from exc
    if parts.scheme not in ("http", "https"):
        raise ConfigError("scheme must be http or https", field="host URL", value=url)
    if not parts.hostname:
        raise ConfigError("a host name is required", field="host URL", value=url)
    default_port = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default_port, parts.path


class GeventHttpTransport:
    """Keep-alive HTTP/1.1 connections to one target, for one simulated user.

    Two connections: one carries the request (and maybe its SSE stream),
    the other our answers to server requests that arrive on that stream.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        scheme, host, port, _ = parse_base_url(base_url)
        self._client = HTTPClient(
            host,
            port,
            ssl=scheme == "https",
            connection_timeout=connect_timeout_s,
            network_timeout=timeout_s,
            concurrency=2,
            headers={"User-Agent": "mcp-loadgen"},
        )

    def send(self, request: HttpRequest) -> HttpResponse:
        try:
            raw = self._client.request(
                request.method, request.path, body=request.body, headers=request.headers
            )
        except (Exception, gevent.Timeout) as exc:
            raise _translate(exc) from exc
        headers = {name.lower(): value for name, value in raw.items()}
        return HttpResponse(
            status=raw.status_code,
            headers=headers,
            chunks=_Chunks(raw),
            _closer=lambda: _finish(raw),
            _reader=lambda: _read_all(raw),
        )

    def close(self) -> None:
        self._client.close()


class _Chunks:
    """Body lines as they arrive: SSE is line-based, so a line is a chunk."""

    __slots__ = ("_raw",)

    def __init__(self, raw: HTTPSocketPoolResponse) -> None:
        self._raw = raw

    def __iter__(self) -> Iterator[bytes]:
        raw = self._raw
        try:
            while line := raw.readline(b"\n"):
                yield line
            if rest := raw.read():
                yield rest
        except (OSError, HTTPParseError, gevent.Timeout) as exc:
            raise _translate(exc) from exc


def _read_all(raw: HTTPSocketPoolResponse) -> bytes:
    try:
        return raw.read()
    except (OSError, HTTPParseError, gevent.Timeout) as exc:
        raise _translate(exc) from exc


def _finish(raw: HTTPSocketPoolResponse) -> None:
    """Give the connection back, reading what is left of a finished stream."""
    if not raw.message_complete:
        try:
            with gevent.Timeout(DRAIN_S):
                raw.read()
        except (gevent.Timeout, OSError, HTTPParseError):
            pass
    if not raw.message_complete:
        # Unread bytes would poison the next request on this connection.
        sock, pool = raw._sock, raw._pool
        raw._sock = raw._pool = None
        if sock is not None and pool is not None:
            pool.release_socket(sock)
        return
    raw.release()


def _translate(exc: BaseException) -> Exception:
    """Map what the socket layer raised to whose fault it is."""
    if isinstance(exc, TransportError | ProtocolViolation):
        return exc
    if isinstance(exc, socket.timeout | TimeoutError | gevent.Timeout):
        return TransportError(TransportErrorKind.TIMEOUT)
    if isinstance(exc, socket.gaierror):
        return TransportError(TransportErrorKind.DNS, str(exc))
    if isinstance(exc, HTTPParseError):
        if "closed" in str(exc):
            return TransportError(TransportErrorKind.CLOSED)
        return ProtocolViolation("malformed http", str(exc)[:80])
    if isinstance(exc, OSError):
        kind = _ERRNO_KINDS.get(exc.errno or 0, TransportErrorKind.OTHER)
        return TransportError(
            kind, "" if kind is not TransportErrorKind.OTHER else str(exc)
        )
    if isinstance(exc, RuntimeError) and "resolve" in str(exc):
        return TransportError(TransportErrorKind.DNS, str(exc))
    return TransportError(TransportErrorKind.OTHER, type(exc).__name__)
