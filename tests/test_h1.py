"""The pure HTTP/1.1 client parser and serializer: bytes in, events out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.mcp.errors import ProtocolViolation
from loadgen.transport.h1 import ResponseParser, serialize_request


def parse(data: bytes, *, whole: bool, eof: bool = False, **kwargs: bool):  # noqa: ANN201
    """Feed ``data`` whole or one byte at a time; return (parser, body)."""
    parser = ResponseParser(**kwargs)
    pieces: list[bytes] = []
    if whole:
        pieces.extend(parser.feed(data))
    else:
        for index in range(len(data)):
            pieces.extend(parser.feed(data[index : index + 1]))
    if eof:
        parser.feed_eof()
    return parser, b"".join(pieces)


both = pytest.mark.parametrize("whole", [True, False], ids=["whole", "bytewise"])

JSON_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b'Content-Length: 13\r\n\r\n{"ok": true }'
)


@both
def test_content_length_body_is_complete_and_reusable(whole: bool) -> None:
    """A Content-Length body ends after that many bytes; keep-alive holds."""
    parser, body = parse(JSON_RESPONSE, whole=whole)
    assert parser.status == 200
    assert parser.headers["content-type"] == "application/json"
    assert body == b'{"ok": true }'
    assert parser.complete and parser.reusable


def test_head_is_known_before_the_body_arrives() -> None:
    """The head is usable while the body is still on its way."""
    parser = ResponseParser()
    assert parser.feed(JSON_RESPONSE[:-5]) == [b'{"ok": t']
    assert parser.head_done and not parser.complete
    assert parser.feed(JSON_RESPONSE[-5:]) == [b"rue }"]
    assert parser.complete


@both
def test_header_names_are_lower_case_and_repeats_joined(whole: bool) -> None:
    """Names come out lower-case; a repeated field reads as one list."""
    raw = b"HTTP/1.1 204 No Content\r\nX-A: 1\r\nx-a: 2\r\nMcp-Session-Id: s\r\n\r\n"
    parser, _ = parse(raw, whole=whole)
    assert parser.headers == {"x-a": "1, 2", "mcp-session-id": "s"}


@both
def test_chunked_body_with_extensions_and_trailers(whole: bool) -> None:
    """Chunk extensions are ignored and trailers dropped after a check."""
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n"
        b"0;last\r\nX-Trailer: t\r\n\r\n"
    )
    parser, body = parse(raw, whole=whole)
    assert body == b"hello 0123456789"
    assert parser.complete and parser.reusable


@both
def test_chunked_body_without_trailers(whole: bool) -> None:
    """The last chunk and a blank line end the message."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    parser, body = parse(raw, whole=whole)
    assert body == b"abc" and parser.complete and parser.reusable


def test_chunked_stream_yields_each_event_as_it_arrives() -> None:
    """An SSE stream's chunks come out as soon as they are received."""
    parser = ResponseParser()
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert parser.feed(head) == []
    assert parser.feed(b"7\r\ndata: 1\r\n") == [b"data: 1"]
    assert parser.feed(b"1\r\n\n\r\n") == [b"\n"]
    assert not parser.complete
    assert parser.feed(b"0\r\n\r\n") == []
    assert parser.complete


@both
def test_close_delimited_body_ends_at_eof(whole: bool) -> None:
    """Without length or chunking the body runs to the close."""
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"
    parser, body = parse(raw, whole=whole)
    assert body == b"all of it" and not parser.complete
    assert parser.feed_eof()
    assert parser.complete and not parser.reusable


def test_eof_inside_a_length_body_is_incomplete() -> None:
    """A close before Content-Length bytes arrived leaves the message short."""
    parser = ResponseParser()
    parser.feed(JSON_RESPONSE[:-3])
    assert not parser.feed_eof()
    assert not parser.complete


@both
def test_interim_responses_are_skipped(whole: bool) -> None:
    """100 Continue and 103 Early Hints come before the final response."""
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + JSON_RESPONSE
    )
    parser, body = parse(raw, whole=whole)
    assert parser.status == 200 and "link" not in parser.headers
    assert body == b'{"ok": true }'


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_end_with_the_head(status: int) -> None:
    """204 and 304 carry no body, whatever Content-Length says."""
    raw = f"HTTP/1.1 {status} X\r\nContent-Length: 10\r\n\r\n".encode()
    parser, body = parse(raw, whole=True)
    assert parser.complete and parser.reusable and body == b""


def test_head_request_has_no_body() -> None:
    """A response to HEAD ends with its head (RFC 9110 section 9.3.2)."""
    parser, body = parse(JSON_RESPONSE[:-13], whole=True, head_request=True)
    assert parser.complete and body == b""


def test_zero_content_length_is_complete_at_once() -> None:
    """Content-Length: 0 ends the message with the head."""
    parser, _ = parse(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", whole=True)
    assert parser.complete and parser.reusable


@pytest.mark.parametrize(
    ("head", "reusable"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n", False),
        (b"HTTP/1.0 200 OK\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", True),
        (b"HTTP/1.1 200 OK\r\n", True),
    ],
)
def test_connection_reuse_follows_version_and_connection(
    head: bytes, reusable: bool
) -> None:
    """Connection: close and HTTP/1.0 without keep-alive end the connection."""
    parser, _ = parse(head + b"Content-Length: 2\r\n\r\nok", whole=True)
    assert parser.complete and parser.reusable is reusable


def test_bytes_after_the_message_forbid_reuse() -> None:
    """Unasked bytes after the response make the connection unusable."""
    parser, body = parse(JSON_RESPONSE + b"HTTP/1.1 200", whole=True)
    assert body == b'{"ok": true }'
    assert parser.complete and not parser.reusable


def test_chunked_with_content_length_is_chunked_and_not_reused() -> None:
    """Both framings: chunked wins and the connection is dropped after."""
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n"
        b"\r\n2\r\nok\r\n0\r\n\r\n"
    )
    parser, body = parse(raw, whole=True)
    assert body == b"ok" and parser.complete and not parser.reusable


def test_bare_lf_line_endings_are_accepted() -> None:
    """Lines ending in LF alone parse as CRLF lines (RFC 9112 section 2.2)."""
    raw = b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
    parser, body = parse(raw, whole=False)
    assert parser.status == 200 and body == b"ok" and parser.complete


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad\r\n\r\n",
    ],
)
def test_garbage_is_a_protocol_violation(raw: bytes) -> None:
    """Each malformed response raises ProtocolViolation("malformed http")."""
    with pytest.raises(ProtocolViolation) as caught:
        parse(raw, whole=True)
    assert caught.value.reason == "malformed http"


def test_endless_head_is_refused() -> None:
    """A head that never ends is refused once it passes the size limit."""
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(ProtocolViolation):
        for _ in range(100):
            parser.feed(b"X-Filler: " + b"a" * 1000 + b"\r\n")


def test_endless_interim_responses_are_refused() -> None:
    """A server that only ever says 100 Continue is refused, not followed."""
    with pytest.raises(ProtocolViolation):
        parse(b"HTTP/1.1 100 Continue\r\n\r\n" * 50, whole=True)


def test_request_is_serialized_with_host_and_length() -> None:
    """Request line, Host, given headers, Content-Length, then the body."""
    data = serialize_request(
        "POST", "/mcp", "127.0.0.1:8000", {"Accept": "application/json"}, b"{}"
    )
    assert data == (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        b"Accept: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )


def test_request_framing_headers_are_ours() -> None:
    """Host, Content-Length and Transfer-Encoding given by a caller are left out."""
    headers = {"host": "x", "Content-Length": "9", "Transfer-Encoding": "chunked"}
    data = serialize_request("DELETE", "/mcp", "h", headers, b"", "User-Agent: u\r\n")
    assert data == (
        b"DELETE /mcp HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nContent-Length: 0\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/mcp\r\nX: y", {}), ("/mcp", {"A": "b\r\nEvil: 1"}), ("/mcp", {"A\n": "b"})],
)
def test_line_breaks_in_request_parts_are_refused(
    path: str, headers: dict[str, str]
) -> None:
    """A CR or LF in a request part is the caller's mistake, not sent."""
    with pytest.raises(ValueError, match="CR or LF"):
        serialize_request("POST", path, "h", headers, b"")


def test_serialized_request_parses_back_as_a_response_would() -> None:
    """The serializer's framing round-trips through the demo target's parser."""
    from loadgen.target.http11 import RequestParser

    data = serialize_request("POST", "/mcp", "h", {"X-A": "1"}, b"abc")
    server = RequestParser()
    server.feed(data)
    parsed = server.next_request()
    assert parsed is not None
    assert parsed.request.body == b"abc"
    assert parsed.request.headers["x-a"] == "1"


# Fuzzing ---------------------------------------------------------------------

FRAGMENTS = [
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.0 100 Continue\r\n",
    b"Content-Length: 3\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Connection: close\r\n",
    b"\r\n",
    b"\n",
    b"3\r\nabc\r\n",
    b"0\r\n\r\n",
    b"ff;x\r\n",
    b": \t",
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=12)), max_size=12
    ),
    st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=4),
)
def test_any_input_parses_or_raises_protocol_violation(
    parts: list[bytes], sizes: list[int]
) -> None:
    """Whatever arrives, in whatever split: a parse or ProtocolViolation."""
    data = b"".join(parts)
    parser = ResponseParser()
    body: list[bytes] = []
    try:
        offset = turn = 0
        while offset < len(data):  # bounded: every turn moves offset on
            size = sizes[turn % len(sizes)]
            body.extend(parser.feed(data[offset : offset + size]))
            offset += size
            turn += 1
        parser.feed_eof()
    except ProtocolViolation as exc:
        assert exc.reason == "malformed http"
        return
    assert all(isinstance(piece, bytes) for piece in body)
    if parser.complete:
        assert parser.head_done


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=17))
def test_chunked_body_round_trips_in_any_split(body: bytes, chunk: int) -> None:
    """A body chunked at any size and read in any split comes back whole."""
    framed = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk]), body[i : i + chunk])
        for i in range(0, len(body), chunk)
    )
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed
    parser, out = parse(raw + b"0\r\n\r\n", whole=False)
    assert out == body and parser.complete and parser.reusable
