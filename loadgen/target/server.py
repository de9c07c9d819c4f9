"""The gevent driver of the demo target: sockets in, handler calls, bytes out.

One greenlet per connection reads requests with the pure ``RequestParser``,
asks the handler, waits the response's ``delay_s`` with ``gevent.sleep``,
and writes. Everything that decides what to answer lives in ``handler.py``.

Why not ``gevent.pywsgi``: wrapping the same handler, pywsgi served about
8,100 requests per CPU-second and this loop about 15,000 (wrk, 32
keep-alive connections, tools/call echo with a JSON answer, server pinned
to one core; 12,500 with SSE answers). The HTTP subset MCP clients use is
small enough that owning it costs less than the difference.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from typing import Final

import gevent
from gevent.server import StreamServer

from loadgen.errors import ConfigError
from loadgen.target.http11 import (
    LAST_CHUNK,
    HttpParseError,
    ParsedRequest,
    RequestParser,
    frame_chunk,
    render_head,
)
from loadgen.target.responses import TargetApp, TargetResponse

logger = logging.getLogger(__name__)

# A keep-alive connection idle this long is closed; load generators keep
# theirs busy, and a closed idle one only costs the client a reconnect.
IDLE_TIMEOUT_S: Final = 120.0
_RECV_BYTES: Final = 64 * 1024
# A load test opens hundreds of connections at once; gevent's default
# backlog leaves fewer slots than that (the kernel caps it at somaxconn).
LISTEN_BACKLOG: Final = 1024


def check_loopback(host: str, *, allow_non_loopback: bool) -> None:
    """Refuse a non-loopback address unless explicitly allowed."""
    if allow_non_loopback or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            "the target serves only loopback addresses (127.0.0.1, ::1, "
            "localhost) unless --allow-non-loopback is given",
            field="--host",
            value=host,
        )


class TargetServer:
    """Serves a ``TargetApp`` over HTTP/1.1 on a gevent ``StreamServer``."""

    def __init__(
        self,
        app: TargetApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_non_loopback: bool = False,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        check_loopback(host, allow_non_loopback=allow_non_loopback)
        self._app = app
        self._idle_timeout_s = idle_timeout_s
        self._server = StreamServer(
            (host, port), self._serve_connection, backlog=LISTEN_BACKLOG
        )
        self._internal_errors = 0

    @property
    def port(self) -> int:
        """The bound port (after ``start``); useful when 0 was asked for."""
        return int(self._server.server_port)

    @property
    def url_host(self) -> str:
        """The bound host as a URL writes it (IPv6 in brackets)."""
        host = str(self._server.server_host)
        return f"[{host}]" if ":" in host else host

    def start(self) -> None:
        """Bind and start accepting, without blocking."""
        self._server.start()

    def serve_forever(self) -> None:
        """Block until ``stop`` is called (from a signal handler, say)."""
        self._server.serve_forever()

    def stop(self, timeout_s: float = 1.0) -> None:
        self._server.stop(timeout=timeout_s)

    # One connection --------------------------------------------------------

    def _serve_connection(self, sock: socket.socket, address: object) -> None:
        # Without TCP_NODELAY, a small response waits on the peer's delayed
        # ACK (~40 ms on Linux): measured 722 vs 3,080 requests/s.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self._idle_timeout_s)
        parser = RequestParser()
        try:
            while True:
                parsed = self._read_request(sock, parser)
                if parsed is None or not self._answer(sock, parsed):
                    break
        except HttpParseError as exc:
            self._send_parse_error(sock, exc)
        except OSError:
            pass  # the peer went away or idled out: nothing to answer
        finally:
            sock.close()

    def _read_request(
        self, sock: socket.socket, parser: RequestParser
    ) -> ParsedRequest | None:
        """The next request on the connection; None once the peer closes."""
        while True:
            parsed = parser.next_request()
            if parsed is not None:
                return parsed
            interim = parser.take_continue()
            if interim:
                sock.sendall(interim)
            data = sock.recv(_RECV_BYTES)
            if not data:
                return None
            parser.feed(data)

    def _answer(self, sock: socket.socket, parsed: ParsedRequest) -> bool:
        """Answer one request; True when the connection stays open."""
        response = self._call_app(parsed)
        if response.delay_s > 0:
            gevent.sleep(response.delay_s)
        # HTTP/1.0 has no chunked coding: a streamed body ends at close.
        keep_alive = parsed.keep_alive and not (
            parsed.http10 and response.length is None
        )
        head = render_head(
            response.status,
            response.headers.items(),
            length=response.length,
            keep_alive=keep_alive,
            http10=parsed.http10,
        )
        if response.length is not None:
            sock.sendall(head + b"".join(response.chunks))
        else:
            self._stream(sock, head, response, chunked=not parsed.http10)
        return keep_alive

    def _stream(
        self, sock: socket.socket, head: bytes, response: TargetResponse, chunked: bool
    ) -> None:
        """Send the head, then each chunk as the handler produces it."""
        sock.sendall(head)
        for chunk in response.chunks:
            if chunk:
                sock.sendall(frame_chunk(chunk) if chunked else chunk)
        if chunked:
            sock.sendall(LAST_CHUNK)

    def _call_app(self, parsed: ParsedRequest) -> TargetResponse:
        try:
            return self._app.handle(parsed.request)
        except Exception:
            # A handler bug, not the client's doing. Log the first with its
            # traceback; more of the same would flood the log under load.
            self._internal_errors += 1
            if self._internal_errors == 1:
                logger.exception("target handler failed; later failures not logged")
            return TargetResponse(500, {"Content-Type": "text/plain"}, (b"",), 0)

    def _send_parse_error(self, sock: socket.socket, exc: HttpParseError) -> None:
        body = f"{exc.reason}\n".encode()
        head = render_head(
            exc.status,
            [("Content-Type", "text/plain")],
            length=len(body),
            keep_alive=False,
            http10=False,
        )
        # The peer may already be gone; there is no one left to tell.
        with contextlib.suppress(OSError):
            sock.sendall(head + body)
