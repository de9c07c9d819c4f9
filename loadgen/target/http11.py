"""A small HTTP/1.1 server-side codec: requests in, response heads out.

Pure code: bytes are fed in and ``HttpRequest`` objects come out; the
gevent server around it owns the socket. It covers what MCP clients send:
a request line, headers, and a Content-Length body, with keep-alive and
pipelining. Chunked request bodies are refused (501) because no MCP client
we know of sends them for a single JSON-RPC message.
"""

from __future__ import annotations

import email.utils
import http
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from loadgen.transport.messages import HttpRequest

# A request head of 64 KiB is far beyond what MCP clients send; a larger
# one is a broken or hostile peer.
MAX_HEAD_BYTES: Final = 64 * 1024
# tools/call arguments can be large documents; 8 MiB leaves room for them.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024

_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class HttpParseError(Exception):
    """The peer sent something that is not an HTTP/1.x request we accept."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A request plus what the connection should do after answering it."""

    request: HttpRequest
    keep_alive: bool
    http10: bool


@dataclass(frozen=True, slots=True)
class _Head:
    method: str
    target: str
    headers: dict[str, str]
    content_length: int
    keep_alive: bool
    http10: bool
    expects_continue: bool


class RequestParser:
    """Splits a connection's byte stream into requests.

    Feed bytes with ``feed``; ``next_request`` returns a request once one is
    complete, or None when more bytes are needed. Bytes past the end of one
    request stay buffered for the next (pipelining).
    """

    def __init__(
        self,
        max_head_bytes: int = MAX_HEAD_BYTES,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._max_head = max_head_bytes
        self._max_body = max_body_bytes
        self._continue_sent = False

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as part of a request."""
        return len(self._buffer)

    def take_continue(self) -> bytes:
        """``100 Continue`` once, if the pending request asked for it."""
        head = self._head
        if head is None or not head.expects_continue or self._continue_sent:
            return b""
        self._continue_sent = True
        return _CONTINUE

    def next_request(self) -> ParsedRequest | None:
        """The next complete request, or None; raises ``HttpParseError``."""
        head = self._head
        if head is None:
            head = self._head = self._take_head()
            if head is None:
                return None
        length = head.content_length
        if len(self._buffer) < length:
            return None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._head = None
        self._continue_sent = False
        request = HttpRequest(head.method, head.target, head.headers, body)
        return ParsedRequest(request, head.keep_alive, head.http10)

    def _take_head(self) -> _Head | None:
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > self._max_head:
                raise HttpParseError(431, "request head too large")
            return None
        if end > self._max_head:
            raise HttpParseError(431, "request head too large")
        raw = bytes(buffer[:end])
        del buffer[: end + 4]
        return self._parse_head(raw)

    def _parse_head(self, raw: bytes) -> _Head:
        request_line, *lines = raw.split(b"\r\n")
        method, target, version = _parse_request_line(request_line)
        headers = _parse_headers(lines)
        http10 = version == "HTTP/1.0"
        length = self._content_length(headers)
        connection = headers.get("connection", "").lower()
        keep_alive = "keep-alive" in connection if http10 else "close" not in connection
        expects = headers.get("expect", "").lower() == "100-continue" and length > 0
        return _Head(method, target, headers, length, keep_alive, http10, expects)

    def _content_length(self, headers: Mapping[str, str]) -> int:
        if "transfer-encoding" in headers:
            raise HttpParseError(501, "chunked request bodies are not supported")
        text = headers.get("content-length")
        if text is None:
            return 0
        # Repeated Content-Length headers were joined with commas; they
        # must all agree (RFC 9110, section 8.6).
        values = {value.strip() for value in text.split(",")}
        if len(values) != 1 or not (value := values.pop()).isdecimal():
            raise HttpParseError(400, "bad Content-Length")
        length = int(value)
        if length > self._max_body:
            raise HttpParseError(413, "request body too large")
        return length


def _parse_request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise HttpParseError(400, "bad request line")
    version = parts[2].decode("latin-1")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpParseError(505, "only HTTP/1.0 and HTTP/1.1 are served")
    return parts[0].decode("ascii"), parts[1].decode("latin-1"), version


def _parse_headers(lines: list[bytes]) -> dict[str, str]:
    """Header fields with lower-case names; repeats are joined by commas."""
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise HttpParseError(400, "bad header line")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


# Responses -----------------------------------------------------------------

_REASONS: Final = {status.value: status.phrase for status in http.HTTPStatus}


class _DateCache:
    """The Date header value, formatted at most once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = email.utils.formatdate(second, usegmt=True)
        return self._value


_date = _DateCache()


def render_head(
    status: int,
    headers: Iterable[tuple[str, str]],
    *,
    length: int | None,
    keep_alive: bool,
    http10: bool,
) -> bytes:
    """The status line and headers of a response, ending in a blank line.

    ``length`` None means a streamed body: chunked on HTTP/1.1, ended by
    closing the connection on HTTP/1.0 (which has no chunked coding).
    """
    version = "HTTP/1.0" if http10 else "HTTP/1.1"
    lines = [f"{version} {status} {_REASONS.get(status, 'Unknown')}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append(f"Date: {_date.now()}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    elif not http10:
        lines.append("Transfer-Encoding: chunked")
    if http10 and keep_alive:
        lines.append("Connection: keep-alive")
    elif not keep_alive and not http10:
        lines.append("Connection: close")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def frame_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (an empty chunk would end the body)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK: Final = b"0\r\n\r\n"
