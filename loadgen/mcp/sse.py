"""An incremental parser for Server-Sent Events (WHATWG HTML, "Server-sent
events", section 9.2.6 "Interpreting an event stream").

Theory of operation: bytes go in as they arrive, split anywhere; complete
events come out. Lines end in CRLF, LF or a lone CR, so a CR at the end of a
chunk is held until the next byte tells whether an LF follows. A blank line
dispatches the event being built. An event with no ``data`` line is not
dispatched, but its ``id`` still updates the last event id: servers send
such "priming" events (id only) so that a client can resume a stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadgen.mcp.errors import ProtocolViolation

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event. ``data`` joins multiple data lines with LF."""

    data: str
    event: str = "message"
    id: str | None = None
    retry_ms: int | None = None


class SseParser:
    """Feed bytes with ``feed``; it returns the events they completed."""

    __slots__ = (
        "_buffer",
        "_pending_cr",
        "_started",
        "_data",
        "_event",
        "_retry_ms",
        "last_event_id",
        "reconnect_ms",
        "comments",
    )

    def __init__(self) -> None:
        self._buffer = b""
        self._pending_cr = False
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._retry_ms: int | None = None
        self.last_event_id: str | None = None
        self.reconnect_ms: int | None = None
        self.comments = 0

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Parse a chunk of the stream; return the events it completed."""
        events: list[SseEvent] = []
        for line in self._split_lines(chunk):
            event = self._process_line(self._decode(line))
            if event is not None:
                events.append(event)
        return events

    def close(self) -> None:
        """Mark the end of the stream; an unfinished event is discarded.

        The standard drops an event that was not ended by a blank line, so
        a stream cut mid-event loses it rather than delivering half of it.
        """
        self._buffer = b""
        self._data = []

    def _split_lines(self, chunk: bytes) -> list[bytes]:
        if self._pending_cr:
            self._pending_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        data = self._buffer + chunk
        if data.endswith(b"\r"):
            # Wait for the next byte: CRLF must count as one line end.
            self._pending_cr = True
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        self._buffer = b"" if self._pending_cr else lines[-1]
        return lines[:-1]

    def _decode(self, line: bytes) -> str:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolViolation("malformed sse", "invalid UTF-8") from exc
        if not self._started:
            self._started = True
            if text.startswith(_BOM):
                text = text[1:]
        return text

    def _process_line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        self._apply_field(name, value)
        return None

    def _apply_field(self, name: str, value: str) -> None:
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            # An id containing NUL is ignored, as the standard says.
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            # The reconnection time applies at once, even when this
            # event carries no data and is never dispatched.
            self._retry_ms = self.reconnect_ms = int(value)
        # Any other field name is ignored, as the standard says.

    def _dispatch(self) -> SseEvent | None:
        data, event, retry_ms = self._data, self._event, self._retry_ms
        self._data, self._event, self._retry_ms = [], "", None
        if not data:
            return None
        return SseEvent(
            data="\n".join(data),
            event=event or "message",
            id=self.last_event_id,
            retry_ms=retry_ms,
        )
