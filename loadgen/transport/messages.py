"""The HTTP exchange as the protocol core sees it, free of any socket."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request. Header names are as sent; ``path`` includes a query."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(slots=True)
class HttpResponse:
    """One HTTP response whose body arrives as chunks.

    ``headers`` has lower-case names. ``chunks`` yields body bytes as they
    arrive (any split: a chunk may hold half a line or many events).
    ``close`` gives the connection back, or drops it when the body was not
    read to the end.
    """

    status: int
    headers: Mapping[str, str]
    chunks: Iterable[bytes] = ()
    _closer: object = field(default=None, repr=False)
    _reader: object = field(default=None, repr=False)

    def body(self) -> bytes:
        """Read the whole remaining body."""
        reader = self._reader
        if callable(reader):
            return bytes(reader())
        return b"".join(self.chunks)

    def iter_chunks(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        closer = self._closer
        if callable(closer):
            closer()


class TransportErrorKind(enum.StrEnum):
    """What the network did to us (never the target's protocol mistakes)."""

    REFUSED = "refused"
    RESET = "reset"
    TIMEOUT = "timeout"
    CLOSED = "closed"  # the peer closed the connection before a full answer
    DNS = "dns"
    OTHER = "other"


class TransportError(Exception):
    """The request did not complete at the network level."""

    def __init__(self, kind: TransportErrorKind, detail: str = "") -> None:
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind = kind
        self.detail = detail


class Transport(Protocol):
    """Sends one request and returns as soon as the response headers are in."""

    def send(self, request: HttpRequest) -> HttpResponse: ...

    def close(self) -> None: ...
