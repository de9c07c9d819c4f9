"""A transport that applies a user's chaos hooks around the real one.

:class:`ChaosTransport` takes the same ``Transport`` protocol it wraps. With
no hook active, ``send`` is one attribute read and a call to the wrapped
transport (the inactive cost bench/bench_chaos_overhead.py measures).

Body rewrites (``malformed``, ``oversized``), injected latency and
client-side failures go through the wrapped transport or never reach it.
Three hooks need a socket the wrapped transport would not give us: each
opens its own connection to the target (``Connection: close``), so the
user's keep-alive connection is never left half-used:

- ``reset``: sends the head and half the body, then closes with SO_LINGER
  0, which sends a TCP RST: the target sees the request cut off.
- ``abandon``: sends the whole request and never reads the answer; the
  connection stays open for ``hold_s`` (bounded per user), then closes.
- ``slow_send``: sends the request in ``pieces`` parts spread over
  ``send_s``, then reads the answer like any other.

Each injected request is reported to the user's
:class:`~resilience_probe.chaos.UserChaos` (its ``injected`` tag), which the
user attaches to the request's record.
"""

from __future__ import annotations

import collections
import random
import socket
import struct
from collections.abc import Callable
from typing import Final

import gevent
from gevent import socket as green_socket
from geventhttpclient.response import (
    HTTPConnectionClosed,
    HTTPParseError,
    HTTPSocketResponse,
)

from loadgen.mcp.errors import ProtocolViolation
from loadgen.transport.gevent_http import parse_base_url
from loadgen.transport.messages import (
    HttpRequest,
    HttpResponse,
    Transport,
    TransportError,
    TransportErrorKind,
)
from resilience_probe.chaos import (
    Hook,
    HookKind,
    RequestChaos,
    UserChaos,
    decide_request,
    malformed_body,
    oversized_body,
)

Sleep = Callable[[float], None]

# Unread connections one user may hold open at a time; older ones close
# first. A user abandoning 5 % of 20 requests a second for 5 s holds 5.
MAX_ABANDONED_PER_USER: Final = 32
INJECTED_FAILURE: Final = "injected client-side failure"


class ChaosTransport:
    """Applies ``chaos.transport_hooks`` to each request, then sends it."""

    def __init__(
        self,
        inner: Transport,
        base_url: str,
        chaos: UserChaos,
        *,
        rng: random.Random | None = None,
        sleep: Sleep = gevent.sleep,
        timeout_s: float = 30.0,
    ) -> None:
        _, host, port, _ = parse_base_url(base_url)
        self._inner = inner
        self._address = (host, port)
        self._host_header = f"{host}:{port}"
        self._chaos = chaos
        self._draw = (rng or random.Random()).random
        self._sleep = sleep
        self._timeout_s = timeout_s
        self._held: collections.deque[_Held] = collections.deque()

    def send(self, request: HttpRequest) -> HttpResponse:
        hooks = self._chaos.transport_hooks
        if not hooks:
            return self._inner.send(request)
        chaos = decide_request(hooks, self._draw)
        if chaos.tag:
            self._chaos.injected = chaos.tag
        return self._send_with(chaos, request)

    def close(self) -> None:
        while self._held:
            self._held.popleft().close()
        self._inner.close()

    @property
    def held_connections(self) -> int:
        """Abandoned connections still open."""
        return sum(1 for held in self._held if not held.closed)

    # Applying one decision --------------------------------------------------------

    def _send_with(self, chaos: RequestChaos, request: HttpRequest) -> HttpResponse:
        if chaos.delay_s > 0:
            self._sleep(chaos.delay_s)
        hook = chaos.action
        if hook is None:
            return self._inner.send(request)
        kind = hook.kind
        if kind is HookKind.FAILURE:
            raise TransportError(TransportErrorKind.OTHER, INJECTED_FAILURE)
        if kind is HookKind.MALFORMED:
            return self._send_body(
                request, malformed_body(request.body, hook.malformation)
            )
        if kind is HookKind.OVERSIZED:
            return self._send_body(
                request, oversized_body(request.body, hook.size_bytes)
            )
        if kind is HookKind.RESET:
            self._reset(request)
        if kind is HookKind.ABANDON:
            self._abandon(request, hook.hold_s)
        if kind is HookKind.SLOW_SEND:
            return self._slow_send(request, hook)
        return self._inner.send(request)

    def _send_body(self, request: HttpRequest, body: bytes | None) -> HttpResponse:
        """The request with a rewritten body (or as it was, if not rewritable)."""
        if body is None:
            return self._inner.send(request)
        changed = HttpRequest(request.method, request.path, request.headers, body)
        return self._inner.send(changed)

    def _reset(self, request: HttpRequest) -> None:
        wire = self._encode(request)
        cut = len(wire) - max(len(request.body) // 2, 1)
        sock = self._connect()
        try:
            sock.sendall(wire[:cut])
        finally:
            # SO_LINGER on with a zero timeout: close() sends RST, not FIN.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            sock.close()
        raise TransportError(TransportErrorKind.RESET, "injected")

    def _abandon(self, request: HttpRequest, hold_s: float) -> None:
        sock = self._connect()
        try:
            sock.sendall(self._encode(request))
        except OSError as exc:
            sock.close()
            raise TransportError(TransportErrorKind.RESET, str(exc)) from exc
        if len(self._held) >= MAX_ABANDONED_PER_USER:
            self._held.popleft().close()
        self._held.append(_Held(sock, hold_s))
        # The user stops waiting at once: from its side the call timed out.
        raise TransportError(TransportErrorKind.TIMEOUT, "abandoned")

    def _slow_send(self, request: HttpRequest, hook: Hook) -> HttpResponse:
        wire = self._encode(request)
        pieces = max(hook.pieces, 1)
        step = -(-len(wire) // pieces)
        pause_s = hook.send_s / pieces
        sock = self._connect()
        try:
            for start in range(0, len(wire), step):
                sock.sendall(wire[start : start + step])
                self._sleep(pause_s)
            return _read_response(sock, request.method)
        except OSError as exc:
            raise _network_error(exc) from exc
        finally:
            sock.close()

    # Sockets ----------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        try:
            sock = green_socket.create_connection(self._address, self._timeout_s)
        except OSError as exc:
            raise _network_error(exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _encode(self, request: HttpRequest) -> bytes:
        """The request as HTTP/1.1 bytes for a connection of its own."""
        lines = [
            f"{request.method} {request.path} HTTP/1.1",
            f"Host: {self._host_header}",
        ]
        for name, value in request.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(request.body)}")
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + request.body


class _Held:
    """An abandoned connection, closed after its hold time or on demand."""

    __slots__ = ("_sock", "_timer", "closed")

    def __init__(self, sock: socket.socket, hold_s: float) -> None:
        self._sock = sock
        self.closed = False
        self._timer = gevent.spawn_later(hold_s, self.close)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._timer.kill(block=False)
        self._sock.close()


def _read_response(sock: socket.socket, method: str) -> HttpResponse:
    """Read one whole answer from a connection of our own."""
    try:
        raw = HTTPSocketResponse(sock, method=method)
        body = raw.read()
    except HTTPConnectionClosed as exc:
        raise TransportError(TransportErrorKind.CLOSED) from exc
    except HTTPParseError as exc:
        raise ProtocolViolation("malformed http", str(exc)[:80]) from exc
    headers = {name.lower(): value for name, value in raw.items()}
    return HttpResponse(raw.status_code, headers, (body,))


def _network_error(exc: OSError) -> TransportError:
    if isinstance(exc, TimeoutError | socket.timeout):
        return TransportError(TransportErrorKind.TIMEOUT)
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(TransportErrorKind.REFUSED)
    return TransportError(TransportErrorKind.RESET, type(exc).__name__)
