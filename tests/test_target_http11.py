"""The target's HTTP/1.1 codec, fed whole, in pieces, and byte by byte."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.target.http11 import (
    HttpParseError,
    ParsedRequest,
    RequestParser,
    frame_chunk,
    render_head,
)

BODY = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
REQUEST = (
    b"POST /mcp HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n%s" % (len(BODY), BODY)
)


def parse_all(data: bytes, *, step: int | None = None) -> list[ParsedRequest]:
    """Feed ``data`` in pieces of ``step`` bytes and collect every request."""
    parser = RequestParser()
    step = step or len(data)
    found = []
    for start in range(0, len(data), step):
        parser.feed(data[start : start + step])
        while (parsed := parser.next_request()) is not None:
            found.append(parsed)
    return found


def test_whole_request_parses() -> None:
    """Request line, headers and body come out as one HttpRequest."""
    [parsed] = parse_all(REQUEST)
    request = parsed.request
    assert (request.method, request.path, request.body) == ("POST", "/mcp", BODY)
    assert request.headers["content-type"] == "application/json"
    assert parsed.keep_alive and not parsed.http10


def test_request_fed_byte_by_byte_parses_the_same() -> None:
    """Any split of the stream gives the same request."""
    assert parse_all(REQUEST, step=1) == parse_all(REQUEST)


def test_pipelined_requests_come_out_in_order() -> None:
    """Two requests in one read are both returned, first one first."""
    second = REQUEST.replace(b"/mcp", b"/two")
    paths = [p.request.path for p in parse_all(REQUEST + second, step=7)]
    assert paths == ["/mcp", "/two"]


def test_header_names_are_lower_case_and_repeats_join() -> None:
    """Repeated headers are joined with a comma, names lower-cased."""
    data = b"GET / HTTP/1.1\r\nAccept: a\r\naccept: b\r\n\r\n"
    [parsed] = parse_all(data)
    assert parsed.request.headers == {"accept": "a, b"}


def test_connection_close_ends_keep_alive() -> None:
    """Connection: close on HTTP/1.1 means answer, then close."""
    [parsed] = parse_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert not parsed.keep_alive


def test_http10_closes_unless_keep_alive_is_asked() -> None:
    """HTTP/1.0 keeps the connection only with Connection: keep-alive."""
    [plain] = parse_all(b"GET / HTTP/1.0\r\n\r\n")
    [kept] = parse_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert plain.http10 and not plain.keep_alive
    assert kept.keep_alive


def test_expect_continue_is_offered_once_before_the_body() -> None:
    """A 100-continue request gets one interim response while its body waits."""
    head, _, _ = REQUEST.partition(b"\r\n\r\n")
    parser = RequestParser()
    parser.feed(head.replace(b"Host", b"Expect: 100-continue\r\nHost") + b"\r\n\r\n")
    assert parser.next_request() is None
    assert parser.take_continue() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert parser.take_continue() == b""
    parser.feed(BODY)
    assert parser.next_request() is not None


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"POST /mcp HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"POST /mcp HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", 400),
        (b"POST /mcp HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n folded: value\r\n\r\n", 400),
    ],
    ids=[
        "chunked",
        "bad-length",
        "two-lengths",
        "huge",
        "http2",
        "short",
        "colon",
        "fold",
    ],
)
def test_bad_requests_raise_with_a_status(data: bytes, status: int) -> None:
    """Each malformed head is an HttpParseError with the status to send."""
    with pytest.raises(HttpParseError) as caught:
        parse_all(data)
    assert caught.value.status == status


def test_oversized_head_is_431() -> None:
    """A head that never ends is cut off at the limit."""
    parser = RequestParser(max_head_bytes=100)
    parser.feed(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 30)
    with pytest.raises(HttpParseError) as caught:
        parser.next_request()
    assert caught.value.status == 431


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), step=st.integers(1, 40))
def test_any_bytes_parse_or_raise_our_error(data: bytes, step: int) -> None:
    """Arbitrary input yields requests or HttpParseError, nothing else."""
    with contextlib.suppress(HttpParseError):
        parse_all(data, step=step)


@settings(max_examples=100, deadline=None)
@given(step=st.integers(1, len(REQUEST)))
def test_every_split_of_a_valid_stream_parses(step: int) -> None:
    """Splitting two pipelined requests anywhere changes nothing."""
    assert len(parse_all(REQUEST * 2, step=step)) == 2


# Responses -------------------------------------------------------------------


def test_head_with_length_ends_in_a_blank_line() -> None:
    """A sized response head names its length and ends with CRLF CRLF."""
    head = render_head(
        200,
        [("Content-Type", "application/json")],
        length=5,
        keep_alive=True,
        http10=False,
    )
    assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    assert b"\r\nContent-Length: 5\r\n" in head
    assert head.endswith(b"\r\n\r\n") and b"Connection" not in head


def test_streamed_head_is_chunked_on_http11() -> None:
    """An unsized body is sent chunked to an HTTP/1.1 client."""
    head = render_head(200, [], length=None, keep_alive=True, http10=False)
    assert b"Transfer-Encoding: chunked" in head


def test_streamed_head_on_http10_has_no_chunking() -> None:
    """HTTP/1.0 has no chunked coding; the body ends at close."""
    head = render_head(200, [], length=None, keep_alive=False, http10=True)
    assert head.startswith(b"HTTP/1.0 200 OK") and b"chunked" not in head


def test_closing_head_says_so() -> None:
    """A response after which we close carries Connection: close."""
    head = render_head(400, [], length=0, keep_alive=False, http10=False)
    assert b"Connection: close" in head


def test_chunk_framing() -> None:
    """A chunk is its hex length, CRLF, the data, CRLF."""
    assert frame_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
