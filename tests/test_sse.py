"""The SSE parser: every field kind, any split of the bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.mcp.errors import ProtocolViolation
from loadgen.mcp.sse import SseEvent, SseParser


def feed_bytewise(stream: bytes) -> list[SseEvent]:
    parser = SseParser()
    events: list[SseEvent] = []
    for index in range(len(stream)):
        events.extend(parser.feed(stream[index : index + 1]))
    return events


def feed_whole(stream: bytes) -> list[SseEvent]:
    return SseParser().feed(stream)


FEEDERS = [feed_bytewise, feed_whole]


@pytest.mark.parametrize("feed", FEEDERS)
def test_single_data_line_makes_one_message_event(feed) -> None:
    """A data line and a blank line dispatch one event named message."""
    assert feed(b"data: hello\n\n") == [SseEvent(data="hello")]


@pytest.mark.parametrize("feed", FEEDERS)
def test_several_data_lines_join_with_newline(feed) -> None:
    """Multiple data lines in one event are joined with LF."""
    assert feed(b"data: a\ndata: b\ndata:c\n\n") == [SseEvent(data="a\nb\nc")]


@pytest.mark.parametrize("feed", FEEDERS)
def test_event_id_and_retry_fields_are_kept(feed) -> None:
    """event, id and retry fields travel with the event."""
    events = feed(b"event: message\nid: 7\nretry: 1500\ndata: x\n\n")
    assert events == [SseEvent(data="x", event="message", id="7", retry_ms=1500)]


@pytest.mark.parametrize("feed", FEEDERS)
def test_comments_are_counted_and_skipped(feed) -> None:
    """Lines starting with a colon are comments (keep-alives), not data."""
    parser = SseParser()
    stream = b": keep-alive\n\n:another\ndata: y\n\n"
    events = [e for i in range(len(stream)) for e in parser.feed(stream[i : i + 1])]
    assert events == [SseEvent(data="y")]
    assert parser.comments == 2


def test_priming_event_without_data_sets_last_id_only() -> None:
    """An id-only event is not dispatched but updates the last event id."""
    parser = SseParser()
    assert parser.feed(b"id: prime-1\nretry: 3000\ndata\n") == []
    parser2 = SseParser()
    assert parser2.feed(b"id: prime-1\nretry: 3000\n\n") == []
    assert parser2.last_event_id == "prime-1"
    assert parser2.reconnect_ms == 3000


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"])
def test_every_line_ending_works_bytewise(ending: bytes) -> None:
    """CRLF, LF and lone CR all end lines, even split across chunks."""
    stream = b"data: one" + ending + ending + b"data: two" + ending + ending
    assert feed_bytewise(stream) == [SseEvent(data="one"), SseEvent(data="two")]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    """A CR at a chunk's end followed by LF in the next is one line end."""
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r") == [SseEvent(data="a")]
    assert parser.feed(b"\ndata: b\n\n") == [SseEvent(data="b")]


def test_leading_bom_is_stripped() -> None:
    """A UTF-8 byte order mark at the stream start is not part of a field."""
    assert feed_bytewise("\ufeffdata: z\n\n".encode()) == [SseEvent(data="z")]


def test_unknown_fields_and_bad_retry_are_ignored() -> None:
    """Unknown field names and non-numeric retry values change nothing."""
    events = feed_whole(b"foo: bar\nretry: soon\ndata: q\n\n")
    assert events == [SseEvent(data="q")]


def test_field_without_colon_has_empty_value() -> None:
    """A bare 'data' line adds an empty data line."""
    assert feed_whole(b"data\ndata: x\n\n") == [SseEvent(data="\nx")]


def test_unfinished_event_is_dropped_at_close() -> None:
    """An event not ended by a blank line is not delivered."""
    parser = SseParser()
    assert parser.feed(b"data: partial\n") == []
    parser.close()
    assert parser.feed(b"\n") == []


def test_invalid_utf8_is_a_protocol_violation() -> None:
    """Bytes that are not UTF-8 raise our protocol error."""
    with pytest.raises(ProtocolViolation):
        feed_whole(b"data: \xff\xfe\n\n")


def test_multibyte_utf8_split_across_chunks() -> None:
    """A multi-byte character split between chunks still decodes."""
    assert feed_bytewise("data: héllo ✓\n\n".encode()) == [SseEvent(data="héllo ✓")]


@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_protocol_violation(stream: bytes) -> None:
    """Arbitrary input either parses or raises ProtocolViolation, nothing else."""
    with contextlib.suppress(ProtocolViolation):
        feed_bytewise(stream)


@given(
    st.lists(
        st.text(
            alphabet=st.characters(
                blacklist_categories=("Cs",), blacklist_characters="\r\n"
            ),
            max_size=20,
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=1, max_value=7),
)
def test_data_survives_any_chunking(lines: list[str], step: int) -> None:
    """The same stream split at any fixed step yields the same events."""
    stream = "".join(f"data: {line}\n" for line in lines).encode() + b"\n"
    parser = SseParser()
    events = []
    for index in range(0, len(stream), step):
        events.extend(parser.feed(stream[index : index + step]))
    assert events == feed_whole(stream)
