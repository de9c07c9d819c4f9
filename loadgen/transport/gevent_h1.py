"""A lean HTTP/1.1 driver: plain gevent sockets under the pure ``h1`` parser.

Why not geventhttpclient. A profile of McpUser put about 70 % of the
generator's CPU per request in geventhttpclient and gevent socket code: a
select() on every pooled connection before reuse, a getsockopt per
sendall, a response object with its own buffering. Here a request is one
``send`` of one bytes object, a response is parsed by ``h1.ResponseParser``
from whatever ``recv`` returns, and a pooled connection costs one
non-blocking peek before reuse.

Connections. A user needs at most two at once: one carries a request and
maybe its SSE stream, the other our replies to server requests that
arrive on that stream. A connection is busy from ``send`` until its
response is complete or dropped; idle ones wait in a small pool.

Retries. POSTs are not retried once any byte of them may have reached the
server, so a load test never sends a request twice without counting it.
Two cases are safe and are handled: an idle connection the server has
closed (its FIN or RST is already in, seen by the peek, before we write),
and a first write that fails with nothing sent (EPIPE or ECONNRESET from
the kernel, which then queued no byte). Either way the request goes once,
on a fresh connection. Plain http only: https stays with
``GeventHttpTransport``.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from typing import NoReturn

import gevent
from gevent import socket as gsocket

from loadgen.errors import ConfigError
from loadgen.mcp.errors import ProtocolViolation
from loadgen.transport.gevent_http import DRAIN_S, parse_base_url
from loadgen.transport.h1 import ResponseParser, serialize_request
from loadgen.transport.messages import (
    HttpRequest,
    HttpResponse,
    TransportError,
    TransportErrorKind,
)

# Bytes asked of one recv: large enough that a JSON answer of the demo
# target (about 200 bytes) or an SSE event arrives in one call, small
# enough that the buffer is cheap to allocate per call.
RECV_BYTES = 65536
# Idle connections kept per transport (see "Connections" above); one more
# is closed when released.
MAX_IDLE = 2
# What a drain after the final response may read before the connection is
# dropped instead: a stream that keeps going is not worth more.
MAX_DRAIN_BYTES = 1 << 20

# The errors that mean the peer reset or shut the connection: after a
# write that returned them nothing of it was queued.
_BROKEN = frozenset({errno.EPIPE, errno.ECONNRESET})
_ERRNO_KINDS = {
    errno.ECONNREFUSED: TransportErrorKind.REFUSED,
    errno.ECONNRESET: TransportErrorKind.RESET,
    errno.EPIPE: TransportErrorKind.RESET,
    errno.ETIMEDOUT: TransportErrorKind.TIMEOUT,
}
_PEEK_FLAGS = socket.MSG_PEEK | socket.MSG_DONTWAIT


class _NotSent(Exception):
    """The first write on a reused connection failed with nothing sent."""


class GeventH1Transport:
    """Keep-alive HTTP/1.1 connections to one plain-http target."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        scheme, host, port, _ = parse_base_url(base_url)
        if scheme != "http":
            raise ConfigError(
                "GeventH1Transport speaks plain http only; use "
                "GeventHttpTransport for https",
                field="host URL",
                value=base_url,
            )
        self._address = (host, port)
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        name = f"[{host}]" if ":" in host else host
        self._host_header = name if port == 80 else f"{name}:{port}"
        self._idle: list[gsocket.socket] = []
        self._closed = False

    def send(self, request: HttpRequest) -> HttpResponse:
        data = serialize_request(
            request.method,
            request.path,
            self._host_header,
            request.headers,
            request.body,
            "User-Agent: mcp-loadgen\r\n",
        )
        sock = None
        try:
            sock = self._write(data)
            parser, pieces = _read_head(sock, request.method == "HEAD")
        except BaseException as exc:
            if sock is not None:
                sock.close()
            _reraise(exc)
        body = _Body(self, sock, parser, pieces)
        return HttpResponse(
            status=parser.status,
            headers=parser.headers,
            chunks=body,
            _closer=body.finish,
            _reader=body.read_all,
        )

    def close(self) -> None:
        """Close idle connections; busy ones close when their response ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    # Connections -----------------------------------------------------------

    def _write(self, data: bytes) -> gsocket.socket:
        """Send a request on a live connection; return that connection."""
        sock = self._take_idle()
        if sock is not None:
            try:
                _send_all(sock, data, reused=True)
                return sock
            except _NotSent:
                sock.close()
        sock = self._connect()
        try:
            _send_all(sock, data, reused=False)
        except BaseException:
            sock.close()
            raise
        return sock

    def _take_idle(self) -> gsocket.socket | None:
        """The most recently used idle connection the server still holds.

        The peek costs one system call, no wait: an idle connection has
        nothing to read, so it raises BlockingIOError; an empty read means
        the server closed it (idle timeout), bytes mean it sent something
        unasked, and both rule the connection out.
        """
        idle = self._idle
        while idle:  # bounded: every turn removes one of at most MAX_IDLE
            sock = idle.pop()
            try:
                sock._sock.recv(1, _PEEK_FLAGS)
            except BlockingIOError:
                return sock
            except OSError:
                pass
            sock.close()
        return None

    def _connect(self) -> gsocket.socket:
        sock = gsocket.create_connection(self._address, timeout=self._connect_timeout_s)
        # Requests are one write each; Nagle's delay would only hold the
        # write that follows a partial one (a large body).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self._timeout_s)
        return sock

    def _release(self, sock: gsocket.socket, reusable: bool) -> None:
        if reusable and not self._closed and len(self._idle) < MAX_IDLE:
            self._idle.append(sock)
        else:
            sock.close()


def _send_all(sock: gsocket.socket, data: bytes, *, reused: bool) -> None:
    """Write the whole request; raise _NotSent when a reused connection
    turned out broken before any byte of it was queued."""
    try:
        sent = sock.send(data)
    except OSError as exc:
        if reused and exc.errno in _BROKEN:
            raise _NotSent from exc
        raise
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])


def _read_head(
    sock: gsocket.socket, head_request: bool
) -> tuple[ResponseParser, list[bytes]]:
    """Receive until the final response's head is parsed.

    Bounded: the parser raises once a head passes its size limit, and each
    recv either returns bytes, ends the loop at end of stream or times out.
    """
    parser = ResponseParser(head_request=head_request)
    pieces: list[bytes] = []
    while not parser.head_done:
        data = sock.recv(RECV_BYTES)
        if not data:
            parser.feed_eof()
            raise TransportError(TransportErrorKind.CLOSED)
        pieces.extend(parser.feed(data))
    return parser, pieces


class _Body:
    """One response's body, read from its busy connection.

    Owns the connection until the body is complete (then gives it back) or
    a failure or an unfinished stream drops it.
    """

    __slots__ = ("_transport", "_sock", "_parser", "_pending")

    def __init__(
        self,
        transport: GeventH1Transport,
        sock: gsocket.socket,
        parser: ResponseParser,
        pending: list[bytes],
    ) -> None:
        self._transport = transport
        self._sock: gsocket.socket | None = sock
        self._parser = parser
        self._pending = pending
        if parser.complete:
            self._give_back()

    def __iter__(self) -> Iterator[bytes]:
        # Pieces wait in _pending until yielded, so a reader that stops
        # early and reads on later (or calls read_all) misses none.
        pending = self._pending
        while True:  # bounded by the stream: each turn reads or ends
            while pending:
                yield pending.pop(0)
            if self._sock is None:
                return
            pending.extend(self._receive())

    def read_all(self) -> bytes:
        """The whole remaining body (a JSON answer: usually one recv)."""
        pieces = self._pending
        self._pending = []
        while self._sock is not None:  # bounded as __iter__
            pieces.extend(self._receive())
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def finish(self) -> None:
        """Give the connection back, draining what is left of a finished
        stream (briefly: DRAIN_S); drop it when the rest does not come."""
        sock = self._sock
        if sock is None:
            return
        parser = self._parser
        try:
            _drain(sock, parser)
        except (OSError, ProtocolViolation):
            pass  # the connection is dropped below: the message is unfinished
        finally:
            # Also when an outer gevent.Timeout or a kill interrupts the
            # drain: the connection never stays busy.
            if parser.complete:
                sock.settimeout(self._transport._timeout_s)
                self._give_back()
            else:
                self._drop()

    def _receive(self) -> list[bytes]:
        """One recv's worth of body bytes; gives back or drops the
        connection when the body ends or fails."""
        sock = self._sock
        assert sock is not None
        parser = self._parser
        try:
            data = sock.recv(RECV_BYTES)
            if not data:
                if not parser.feed_eof():
                    raise TransportError(TransportErrorKind.CLOSED)
                pieces: list[bytes] = []
            else:
                pieces = parser.feed(data)
        except BaseException as exc:
            self._drop()
            _reraise(exc)
        if parser.complete:
            self._give_back()
        return pieces

    def _give_back(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self._transport._release(sock, self._parser.reusable)

    def _drop(self) -> None:
        # Unread bytes would poison the next request on this connection.
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def _drain(sock: gsocket.socket, parser: ResponseParser) -> None:
    """Read the rest of a message for at most DRAIN_S and MAX_DRAIN_BYTES.

    Servers close an SSE stream right after the final response (the spec
    says SHOULD), so the rest is usually a few bytes already received.
    """
    deadline = time.monotonic() + DRAIN_S
    drained = 0
    while not parser.complete and drained < MAX_DRAIN_BYTES:
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            return
        sock.settimeout(left_s)
        data = sock.recv(RECV_BYTES)
        if not data:
            parser.feed_eof()
            return
        drained += len(data)
        parser.feed(data)


def _reraise(exc: BaseException) -> NoReturn:
    """Raise what ``exc`` means for the exchange, chained to it."""
    translated = _translate(exc)
    if translated is exc:
        raise exc
    raise translated from exc


def _translate(exc: BaseException) -> BaseException:
    """Map what the socket layer raised to whose fault it is.

    The same mapping as ``gevent_http._translate``; anything that is not an
    error of the exchange (GreenletExit, KeyboardInterrupt) passes through.
    """
    if isinstance(exc, TransportError | ProtocolViolation | ConfigError):
        return exc
    if isinstance(exc, socket.timeout | TimeoutError | gevent.Timeout):
        return TransportError(TransportErrorKind.TIMEOUT)
    if isinstance(exc, socket.gaierror):
        return TransportError(TransportErrorKind.DNS, str(exc))
    if isinstance(exc, _NotSent):
        return TransportError(TransportErrorKind.RESET)
    if isinstance(exc, OSError):
        kind = _ERRNO_KINDS.get(exc.errno or 0, TransportErrorKind.OTHER)
        return TransportError(
            kind, "" if kind is not TransportErrorKind.OTHER else str(exc)
        )
    if isinstance(exc, Exception):
        return TransportError(TransportErrorKind.OTHER, type(exc).__name__)
    return exc
