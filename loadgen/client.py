"""McpClient: one MCP session driven over a transport, one record per request.

The client owns the session lifecycle (negotiate, re-initialize after
expiry, delete) and turns every HTTP exchange into a ``CallRecord``, handed
to ``on_record``. It never raises for something the target or the network
did: those become outcomes. It raises ``NegotiationError`` when no common
revision exists, since no later request can succeed either.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from loadgen.errors import ConfigError
from loadgen.mcp import revisions
from loadgen.mcp.errors import NegotiationError, ProtocolViolation
from loadgen.mcp.exchange import ExchangeResult, read_exchange
from loadgen.mcp.outcomes import OK, Outcome, OutcomeClass
from loadgen.mcp.session import McpSession
from loadgen.transport.messages import (
    HttpRequest,
    Transport,
    TransportError,
)

AUTO = "auto"
# What ``auto`` remembers after a server declined the sessionless probe.
HANDSHAKE = "handshake"
PROTOCOL_CHOICES = (AUTO, *revisions.ALL_REVISIONS)

# A misbehaving server could hand out cursors forever; no real catalog needs
# more pages than this.
MAX_PAGES = 100

# Statuses that end a session cleanly on DELETE (405: the server does not
# let clients end sessions, which the transports section allows).
DELETE_OK_STATUSES = frozenset({200, 202, 204, 405})


class _Probe(enum.Enum):
    OPEN = "open"
    DECLINED = "declined"  # the server does not speak the sessionless revision
    FAILED = "failed"  # the network or the server failed the probe


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP exchange as measured: what the recorder and Locust see."""

    name: str
    outcome: Outcome
    start_s: float
    latency_us: int
    ttfb_us: int
    response_bytes: int
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


OnRecord = Callable[[CallRecord], None]
Clock = Callable[[], float]


def validate_protocol(choice: str) -> str:
    if choice not in PROTOCOL_CHOICES:
        raise ConfigError(
            f"must be one of {', '.join(PROTOCOL_CHOICES)}",
            field="--mcp-protocol",
            value=choice,
        )
    return choice


class McpClient:
    """An MCP client for one simulated user."""

    def __init__(
        self,
        transport: Transport,
        on_record: OnRecord,
        *,
        endpoint: str = "/mcp",
        protocol: str = AUTO,
        client_info: dict[str, str] | None = None,
        tool_errors_fail: bool = True,
        clock: Clock = time.perf_counter,
        wall_clock: Clock = time.time,
        memo: dict[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.protocol = validate_protocol(protocol)
        info = client_info or {"name": "mcp-loadgen", "version": "0.1.0"}
        self.session = McpSession(endpoint, info)
        self.tool_errors_fail = tool_errors_fail
        self.session_expiries = 0
        self._on_record = on_record
        self._clock = clock
        self._wall_clock = wall_clock
        self._memo = memo if memo is not None else {}

    # Lifecycle -----------------------------------------------------------

    def open(self) -> bool:
        """Negotiate a revision and open the session; True when open.

        ``auto`` probes the sessionless revision with server/discover and
        falls back to the initialize handshake when the server declines.
        What ``auto`` settled on is kept in ``memo`` (shared by the users
        of one process), so only the first user pays for the probe.
        """
        protocol = self.protocol
        if protocol == AUTO:
            protocol = self._memo.get(self.session.endpoint, AUTO)
        if protocol == AUTO:
            return self._open_auto()
        if revisions.is_sessionless(protocol):
            return self._try_discover(protocol, fallback=False) is _Probe.OPEN
        if protocol == HANDSHAKE:
            return self._initialize(revisions.HANDSHAKE_REVISIONS)
        return self._initialize((protocol,))

    def _open_auto(self) -> bool:
        sessionless = revisions.SESSIONLESS_REVISIONS[-1]
        probe = self._try_discover(sessionless, fallback=True)
        if probe is _Probe.OPEN:
            self._memo[self.session.endpoint] = sessionless
            return True
        if probe is _Probe.FAILED:
            return False
        opened = self._initialize(revisions.HANDSHAKE_REVISIONS)
        if opened:
            self._memo[self.session.endpoint] = HANDSHAKE
        return opened

    def close(self) -> None:
        """End the session with DELETE when there is one; then forget it."""
        request = self.session.delete()
        if request is not None:
            self._send_simple("session/delete", request, DELETE_OK_STATUSES)
        self.session.forget()

    # Calls ---------------------------------------------------------------

    def call(
        self, method: str, params: dict[str, Any] | None = None, name: str = ""
    ) -> CallRecord:
        """Send one request; after a session expiry, reopen and retry once."""
        name = name or method
        if not self.session.is_open and not self.open():
            return self._not_open_record(name)
        had_session = self.session.session_id is not None
        record = self._exchange(name, method, params)
        if had_session and record.outcome == _EXPIRED:
            # The 404 that told us the session was gone gets its own row, so
            # the retried request is measured on its own.
            self.session_expiries += 1
            self._on_record(_with_outcome(record, OK, name=SESSION_EXPIRED))
            self.session.forget()
            if not self.open():
                return self._not_open_record(name)
            record = self._exchange(name, method, params)
        if method == "tools/call":
            record = self._judge_tool_result(record)
        self._on_record(record)
        return record

    def list_all(self, method: str, key: str, name: str = "") -> list[Any]:
        """Call a list method page by page, following nextCursor."""
        items: list[Any] = []
        params: dict[str, Any] | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            record = self.call(method, params, name)
            if record.result is None:
                break
            page = record.result.get(key)
            items.extend(page if isinstance(page, list) else [])
            cursor = record.result.get("nextCursor")
            if not isinstance(cursor, str) or cursor in seen:
                break
            seen.add(cursor)
            params = {"cursor": cursor}
        return items

    # Opening -------------------------------------------------------------

    def _try_discover(self, revision: str, *, fallback: bool) -> _Probe:
        request_id, request = self.session.discover_request(revision)
        record, _ = self._timed("server/discover", request_id, request)
        if record.result is not None and record.outcome.ok:
            try:
                self.session.accept_discover(record.result, revision)
            except NegotiationError:
                self._on_record(record)
                if fallback:
                    return _Probe.DECLINED
                raise
            except ProtocolViolation as exc:
                record = _with_outcome(record, _violation(exc))
        if record.outcome.cls is OutcomeClass.TRANSPORT:
            self._on_record(record)
            return _Probe.FAILED
        if fallback and not record.outcome.ok:
            # A server without the sessionless revision rejects the probe in
            # one of many ways (400, 404, -32601, a session error); none is a
            # failure of the target, so the probe is recorded as ok.
            self._on_record(_with_outcome(record, OK))
            return _Probe.DECLINED
        self._on_record(record)
        return _Probe.OPEN if self.session.is_open else _Probe.FAILED

    def _initialize(self, acceptable: tuple[str, ...]) -> bool:
        request_id, request = self.session.initialize_request(acceptable[-1])
        record, response_headers = self._timed("initialize", request_id, request)
        if record.result is not None and record.outcome.ok:
            try:
                self.session.accept_initialize(
                    record.result, response_headers, acceptable
                )
            except ProtocolViolation as exc:
                record = _with_outcome(record, _violation(exc))
            except NegotiationError:
                self._on_record(_with_outcome(record, _NO_COMMON_REVISION))
                raise
        self._on_record(record)
        if not self.session.is_open:
            return False
        notice = self.session.notification("notifications/initialized")
        self._send_simple("notifications/initialized", notice, frozenset({202, 200}))
        return True

    # Exchanges -----------------------------------------------------------

    def _exchange(
        self, name: str, method: str, params: dict[str, Any] | None
    ) -> CallRecord:
        request_id, request = self.session.request(method, params)
        record, _ = self._timed(name, request_id, request)
        return record

    def _timed(
        self, name: str, request_id: int, request: HttpRequest
    ) -> tuple[CallRecord, Mapping[str, str]]:
        start_wall = self._wall_clock()
        started = self._clock()
        ttfb = started
        headers: Mapping[str, str] = {}
        try:
            response = self.transport.send(request)
            ttfb = self._clock()
            # Only initialize reads them (the session id): no copy per request.
            headers = response.headers
            try:
                result = read_exchange(request_id, response, self._reply)
            finally:
                # Latency ends with the final response; draining the rest of
                # the stream and returning the connection are not part of it.
                ended = self._clock()
                response.close()
        except TransportError as exc:
            ended = self._clock()
            result = ExchangeResult(Outcome(OutcomeClass.TRANSPORT, exc.kind.value))
        except ProtocolViolation as exc:
            ended = self._clock()
            result = ExchangeResult(_violation(exc))
        record = CallRecord(
            name=name,
            outcome=result.outcome,
            start_s=start_wall,
            latency_us=int((ended - started) * 1e6),
            ttfb_us=int((ttfb - started) * 1e6),
            response_bytes=result.response_bytes,
            result=result.result,
            error=result.error,
        )
        return record, headers

    def _send_simple(
        self, name: str, request: HttpRequest, ok_statuses: frozenset[int]
    ) -> None:
        """Send a request that expects no JSON-RPC answer; record the status."""
        start_wall = self._wall_clock()
        started = self._clock()
        outcome: Outcome = OK
        size = 0
        try:
            response = self.transport.send(request)
            try:
                size = len(response.body())
            finally:
                response.close()
            if response.status not in ok_statuses:
                outcome = Outcome(OutcomeClass.HTTP_STATUS, str(response.status))
        except TransportError as exc:
            outcome = Outcome(OutcomeClass.TRANSPORT, exc.kind.value)
        latency_us = int((self._clock() - started) * 1e6)
        self._on_record(
            CallRecord(name, outcome, start_wall, latency_us, latency_us, size)
        )

    def _reply(self, message: bytes) -> None:
        self._send_simple("reply", self.session.reply(message), frozenset({200, 202}))

    def _judge_tool_result(self, record: CallRecord) -> CallRecord:
        result = record.result
        if result is None or result.get("isError") is not True:
            return record
        if not self.tool_errors_fail:
            return record
        return _with_outcome(record, Outcome(OutcomeClass.TOOL_ERROR))

    def _not_open_record(self, name: str) -> CallRecord:
        """A call that could not be sent because no session could be opened.

        The failed open was recorded already under its own name; this call
        is not recorded again, so the failures table is not doubled.
        """
        return CallRecord(name, _NOT_OPEN, self._wall_clock(), 0, 0, 0)


SESSION_EXPIRED = "session expired"
_EXPIRED = Outcome(OutcomeClass.HTTP_STATUS, "404")
_NOT_OPEN = Outcome(OutcomeClass.PROTOCOL, "no session")
_NO_COMMON_REVISION = Outcome(OutcomeClass.PROTOCOL, "no common revision")


def _violation(exc: ProtocolViolation) -> Outcome:
    return Outcome(OutcomeClass.PROTOCOL, exc.reason)


def _with_outcome(record: CallRecord, outcome: Outcome, name: str = "") -> CallRecord:
    return CallRecord(
        name=name or record.name,
        outcome=outcome,
        start_s=record.start_s,
        latency_us=record.latency_us,
        ttfb_us=record.ttfb_us,
        response_bytes=record.response_bytes,
        result=record.result,
        error=record.error,
    )
