"""HTTP/1.1 for the client side, with no sockets: a request serializer and an
incremental response parser.

Theory of operation. The driver writes ``serialize_request(...)`` to a
connection, then hands every received byte string to ``ResponseParser.feed``,
which returns the body bytes decoded so far (Content-Length, chunked or
close-delimited framing removed). ``head_done`` turns true once the status
line and headers of the final response are in (1xx interim responses are
skipped, RFC 9110 section 15.2); ``complete`` once the body has ended. At end
of input the driver calls ``feed_eof``, which ends a close-delimited body and
says whether the message was whole. ``reusable`` tells whether the
connection may carry another request.

Whatever the server sent that HTTP/1.1 does not allow raises
``ProtocolViolation("malformed http", detail)``: the target's fault, not the
network's. The sizes below bound what a broken or hostile server can make
us buffer.
"""

from __future__ import annotations

from collections.abc import Mapping

from loadgen.mcp.errors import ProtocolViolation

MALFORMED = "malformed http"

# A status line plus headers longer than this is refused: four times h11's
# limit (DEFAULT_MAX_INCOMPLETE_EVENT_SIZE, 16 KiB); an MCP response head
# carries a handful of fields.
MAX_HEAD_BYTES = 65536
# A chunk-size line (hex size plus extensions) or a trailer section longer
# than this is refused; a size line is under 20 bytes in practice.
MAX_CHUNK_LINE_BYTES = 4096
# Interim (1xx) responses before the final one; RFC 9110 sets no limit, a
# server sends one or two (100 Continue, 103 Early Hints).
MAX_INTERIM_RESPONSES = 16
# Content-Length and chunk sizes above this are refused rather than
# trusted: 1 TiB is far past anything an MCP response carries.
MAX_BODY_BYTES = 1 << 40

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_TOKEN_BYTES = frozenset(
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# Statuses whose responses never carry a body (RFC 9110 sections 6.4.1,
# 15.3.5, 15.4.5).
_NO_BODY_STATUSES = frozenset({204, 304})

# Parser states, as small ints: compared on every feed.
_HEAD = 0
_LENGTH = 1  # Content-Length body
_CHUNK_SIZE = 2  # expecting a chunk-size line
_CHUNK_DATA = 3  # inside a chunk's data
_CHUNK_END = 4  # expecting the CRLF after a chunk's data
_TRAILERS = 5  # after the last chunk, trailer fields until an empty line
_UNTIL_CLOSE = 6  # close-delimited body
_DONE = 7


def _malformed(detail: str) -> ProtocolViolation:
    return ProtocolViolation(MALFORMED, detail)


class ResponseParser:
    """Parses one HTTP/1.x response; feed it bytes as they arrive.

    ``head_request`` says the request was HEAD, whose response has headers
    only (RFC 9110 section 9.3.2), whatever its Content-Length says.
    """

    __slots__ = (
        "status",
        "reason",
        "headers",
        "keep_alive",
        "leftover",
        "_head_request",
        "_state",
        "_buffer",
        "_remaining",
        "_interim",
        "_scan_from",
    )

    def __init__(self, *, head_request: bool = False) -> None:
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.keep_alive = False
        # Bytes after the end of the message: the server sent something we
        # did not ask for, so the connection must not be reused.
        self.leftover = False
        self._head_request = head_request
        self._state = _HEAD
        self._buffer = b""
        self._remaining = 0
        self._interim = 0
        self._scan_from = 0

    @property
    def head_done(self) -> bool:
        """Whether the final response's status and headers are known."""
        return self._state != _HEAD

    @property
    def complete(self) -> bool:
        """Whether the whole message, body included, has been parsed."""
        return self._state == _DONE

    @property
    def reusable(self) -> bool:
        """Whether the connection may carry the next request."""
        return self._state == _DONE and self.keep_alive and not self.leftover

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes; return the body bytes they completed."""
        state = self._state
        if state == _LENGTH and not self._buffer:
            # The hot path: a body with Content-Length arriving in one piece.
            return self._take_length(data)
        if state == _UNTIL_CLOSE:
            return [data] if data else []
        if state == _DONE:
            if data:
                self.leftover = True
            return []
        self._buffer += data
        return self._advance()

    def feed_eof(self) -> bool:
        """The peer closed the connection; True when the message was whole.

        A close-delimited body ends here (RFC 9112 section 6.3, rule 8).
        """
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
        self.keep_alive = False
        return self._state == _DONE

    # Steps ------------------------------------------------------------------

    def _advance(self) -> list[bytes]:
        """Run the state machine over the buffer as far as it goes.

        Each turn either consumes buffered bytes or returns, so the number
        of turns is bounded by the buffer's length plus the state count.
        """
        pieces: list[bytes] = []
        while True:
            state = self._state
            if state == _HEAD:
                if not self._take_head():
                    return pieces
            elif state == _LENGTH:
                data, self._buffer = self._buffer, b""
                pieces.extend(self._take_length(data))
                return pieces
            elif state == _CHUNK_SIZE:
                if not self._take_chunk_size():
                    return pieces
            elif state == _CHUNK_DATA:
                if not self._take_chunk_data(pieces):
                    return pieces
            elif state == _CHUNK_END:
                if not self._take_chunk_end():
                    return pieces
            elif state == _TRAILERS:
                if not self._take_trailers():
                    return pieces
            else:
                return self._flush_rest(pieces)

    def _flush_rest(self, pieces: list[bytes]) -> list[bytes]:
        """After the message (or into a close-delimited body): the buffer."""
        rest, self._buffer = self._buffer, b""
        if rest:
            if self._state == _UNTIL_CLOSE:
                pieces.append(rest)
            else:
                self.leftover = True
        return pieces

    def _take_length(self, data: bytes) -> list[bytes]:
        remaining = self._remaining
        if len(data) < remaining:
            self._remaining = remaining - len(data)
            return [data] if data else []
        self._remaining = 0
        self._state = _DONE
        if len(data) > remaining:
            self.leftover = True
            data = data[:remaining]
        return [data] if data else []

    # The head -----------------------------------------------------------------

    def _take_head(self) -> bool:
        """Parse a status line and headers once they are all buffered."""
        buffer = self._buffer
        end, after = _find_blank_line(buffer, self._scan_from)
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise _malformed(f"response head over {MAX_HEAD_BYTES} bytes")
            # The blank line may straddle the next read: rescan 3 bytes back.
            self._scan_from = max(0, len(buffer) - 3)
            return False
        if end > MAX_HEAD_BYTES:
            raise _malformed(f"response head over {MAX_HEAD_BYTES} bytes")
        self._buffer = buffer[after:]
        self._scan_from = 0
        self._parse_head(buffer[:end])
        return True

    def _parse_head(self, raw: bytes) -> None:
        lines = raw.split(b"\n")
        version, status, reason = _parse_status_line(lines[0].rstrip(b"\r"))
        headers = _parse_fields(lines[1:])
        if 100 <= status < 200:
            if status == 101:
                # We never ask to upgrade, so a switch is the server's error.
                raise _malformed("101 Switching Protocols without an upgrade")
            self._interim += 1
            if self._interim > MAX_INTERIM_RESPONSES:
                raise _malformed(f"over {MAX_INTERIM_RESPONSES} interim responses")
            return  # stay in _HEAD: the final response follows
        self.status = status
        self.reason = reason
        self.headers = headers
        self.keep_alive = _keep_alive(version, headers.get("connection", ""))
        self._state = self._body_state(headers)

    def _body_state(self, headers: Mapping[str, str]) -> int:
        """How the body is framed (RFC 9112 section 6.3, in its order)."""
        if self._head_request or self.status in _NO_BODY_STATUSES:
            return _DONE
        coding = headers.get("transfer-encoding")
        if coding is not None:
            codings = [part.strip().lower() for part in coding.split(",")]
            if codings[-1] == "chunked":
                if "content-length" in headers:
                    # Both framings: a sign of request smuggling; the
                    # connection must not be reused (section 6.3, rule 3).
                    self.keep_alive = False
                return _CHUNK_SIZE
            self.keep_alive = False
            return _UNTIL_CLOSE
        length = headers.get("content-length")
        if length is None:
            self.keep_alive = False
            return _UNTIL_CLOSE
        self._remaining = _parse_content_length(length)
        return _LENGTH if self._remaining else _DONE

    # Chunked coding --------------------------------------------------------------

    def _take_chunk_size(self) -> bool:
        buffer = self._buffer
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_CHUNK_LINE_BYTES:
                raise _malformed("chunk-size line too long")
            return False
        if end > MAX_CHUNK_LINE_BYTES:
            raise _malformed("chunk-size line too long")
        line = buffer[:end].rstrip(b"\r")
        self._buffer = buffer[end + 1 :]
        # Chunk extensions (";name=value") carry nothing we use (RFC 9112
        # section 7.1.1 lets a recipient ignore them).
        size_text = line.split(b";", 1)[0].strip(b" \t")
        if not size_text or not _HEX_DIGITS.issuperset(size_text):
            raise _malformed(f"chunk size {size_text[:20]!r}")
        if len(size_text) > 12:  # 16**12 > MAX_BODY_BYTES
            raise _malformed("chunk size too large")
        size = int(size_text, 16)
        if size == 0:
            self._state = _TRAILERS
        else:
            self._remaining = size
            self._state = _CHUNK_DATA
        return True

    def _take_chunk_data(self, pieces: list[bytes]) -> bool:
        buffer = self._buffer
        if not buffer:
            return False
        remaining = self._remaining
        if len(buffer) < remaining:
            pieces.append(buffer)
            self._remaining = remaining - len(buffer)
            self._buffer = b""
            return False
        pieces.append(buffer[:remaining])
        self._buffer = buffer[remaining:]
        self._remaining = 0
        self._state = _CHUNK_END
        return True

    def _take_chunk_end(self) -> bool:
        buffer = self._buffer
        if buffer[:2] == b"\r\n":
            self._buffer = buffer[2:]
        elif buffer[:1] == b"\n":
            self._buffer = buffer[1:]
        elif buffer in (b"", b"\r"):
            return False
        else:
            raise _malformed("chunk data not followed by CRLF")
        self._state = _CHUNK_SIZE
        return True

    def _take_trailers(self) -> bool:
        """Skip trailer fields up to the blank line that ends the message."""
        # A leading LF makes "no trailers" (a bare CRLF) a blank line too.
        buffer = b"\n" + self._buffer
        end, after = _find_blank_line(buffer, 0)
        if end < 0:
            if len(buffer) > MAX_CHUNK_LINE_BYTES:
                raise _malformed("trailer section too long")
            return False
        # Trailers are checked for syntax, then dropped: no MCP field
        # travels in them.
        _parse_fields(buffer[1:end].split(b"\n"))
        self._buffer = buffer[after:]
        self._state = _DONE
        return True


# Pieces of the head ---------------------------------------------------------


def _find_blank_line(buffer: bytes, start: int) -> tuple[int, int]:
    """Where the head ends: (end of its last line, start of what follows).

    Lines end with CRLF; a bare LF is accepted too, as RFC 9112 section 2.2
    allows a recipient to, so the blank line is LF CRLF or LF LF (a CRLF
    CRLF holds the first). (-1, -1) when no blank line is buffered yet.
    """
    crlf = buffer.find(b"\n\r\n", start)
    lf = buffer.find(b"\n\n", start, None if crlf < 0 else crlf)
    if lf >= 0:
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 3
    return -1, -1


def _parse_status_line(line: bytes) -> tuple[bytes, int, str]:
    """``HTTP/1.1 200 OK`` -> (b"HTTP/1.1", 200, "OK")."""
    version, _, rest = line.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise _malformed(f"status line {line[:40]!r}")
    code, _, reason = rest.partition(b" ")
    if len(code) != 3 or not code.isdigit():
        raise _malformed(f"status line {line[:40]!r}")
    status = int(code)
    if status < 100:
        raise _malformed(f"status {status}")
    return version, status, reason.decode("latin-1")


def _parse_fields(lines: list[bytes]) -> dict[str, str]:
    """Header (or trailer) lines to a dict with lower-case names.

    Repeated fields are joined with ", " (RFC 9110 section 5.3), which is
    how a single value of a list field reads.
    """
    fields: dict[str, str] = {}
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not line:
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or not _TOKEN_BYTES.issuperset(name):
            # Includes obs-fold (a line starting with white space), which
            # RFC 9112 section 5.2 lets a client reject.
            raise _malformed(f"header line {line[:40]!r}")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        if "\r" in text or "\0" in text:
            raise _malformed(f"header {key} holds a control character")
        previous = fields.get(key)
        fields[key] = text if previous is None else f"{previous}, {text}"
    return fields


def _parse_content_length(value: str) -> int:
    """Content-Length; a list of equal values counts as one (RFC 9110 8.6)."""
    parts = {part.strip() for part in value.split(",")}
    if len(parts) != 1:
        raise _malformed(f"content-length {value[:40]!r}")
    text = parts.pop()
    if not text.isascii() or not text.isdigit() or len(text) > 13:
        raise _malformed(f"content-length {value[:40]!r}")
    length = int(text)
    if length > MAX_BODY_BYTES:
        raise _malformed(f"content-length {length}")
    return length


def _keep_alive(version: bytes, connection: str) -> bool:
    """HTTP/1.1 keeps the connection unless told; HTTP/1.0 only when told."""
    options = {part.strip().lower() for part in connection.split(",")}
    if "close" in options:
        return False
    return version == b"HTTP/1.1" or "keep-alive" in options


# Requests ---------------------------------------------------------


def serialize_request(
    method: str,
    target: str,
    host: str,
    headers: Mapping[str, str],
    body: bytes,
    extra: str = "",
) -> bytes:
    """One request as the bytes to send: request line, headers, body.

    ``host`` becomes the Host header and ``len(body)`` the Content-Length
    (sent for every method, so a server never waits for a body); ``extra``
    is pre-rendered header lines, each ending in CRLF, for every request.
    Host, Content-Length and Transfer-Encoding given in ``headers`` are left
    out, since their values are ours to set. A CR or LF inside a part would
    split it into a line of its own: that is the caller's mistake and
    raises ValueError before anything reaches the wire.
    """
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extra}"]
    _check_part(method + target + host)
    for name, value in headers.items():
        if name.lower() in _OURS:
            continue
        _check_part(name + value)
        lines.append(f"{name}: {value}\r\n")
    lines.append(f"Content-Length: {len(body)}\r\n\r\n")
    return "".join(lines).encode("latin-1") + body


_OURS = frozenset({"host", "content-length", "transfer-encoding"})


def _check_part(text: str) -> None:
    if "\n" in text or "\r" in text:
        raise ValueError(f"a request part holds CR or LF: {text[:80]!r}")
