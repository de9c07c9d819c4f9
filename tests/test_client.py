"""McpClient against the demo target's pure handler: no sockets, no waiting."""

from __future__ import annotations

import json

import pytest

from loadgen.client import CallRecord, McpClient
from loadgen.mcp.errors import NegotiationError
from loadgen.mcp.outcomes import OutcomeClass
from loadgen.target.handler import McpTargetHandler
from loadgen.target.responses import ResponseMode, TargetResponse, json_body
from loadgen.transport.memory import InMemoryTransport
from loadgen.transport.messages import HttpRequest, TransportError, TransportErrorKind


def make_client(handler, protocol: str = "auto", **kwargs):  # noqa: ANN001, ANN201
    records: list[CallRecord] = []
    transport = InMemoryTransport(handler)
    client = McpClient(transport, records.append, protocol=protocol, **kwargs)
    return client, records, transport


def names(records: list[CallRecord]) -> list[str]:
    return [record.name for record in records]


class NoSessionlessTarget:
    """The demo target as a server that knows only the handshake revisions."""

    def __init__(self, **kwargs: object) -> None:
        self.inner = McpTargetHandler(**kwargs)  # type: ignore[arg-type]

    def handle(self, request: HttpRequest) -> TargetResponse:
        if b'"server/discover"' in request.body:
            error = {"code": -32601, "message": "Method not found"}
            return json_body(400, {"jsonrpc": "2.0", "id": 1, "error": error})
        return self.inner.handle(request)


class Scripted:
    """A target that answers every request with the same canned response."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.answer = (status, headers, body)

    def handle(self, request: HttpRequest) -> TargetResponse:
        status, headers, body = self.answer
        if b'"initialize"' in request.body:
            result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}}
            request_id = json.loads(request.body)["id"]
            return json_body(
                200, {"jsonrpc": "2.0", "id": request_id, "result": result}
            )
        if b'"server/discover"' in request.body or not request.body:
            return json_body(404, {})
        if b'"notifications/' in request.body:
            return TargetResponse(202)
        return TargetResponse(status, headers, (body,), len(body))


@pytest.mark.parametrize("mode", [ResponseMode.JSON, ResponseMode.SSE])
@pytest.mark.parametrize("revision", ["2025-03-26", "2025-06-18", "2025-11-25"])
def test_handshake_lifecycle(mode: ResponseMode, revision: str) -> None:
    """initialize, initialized, a call and DELETE, each recorded once and ok."""
    client, records, _ = make_client(McpTargetHandler(response_mode=mode), revision)
    assert client.open()
    assert client.session.revision == revision
    client.call("tools/call", {"name": "echo", "arguments": {"text": "x"}}, "echo")
    client.close()
    assert names(records) == [
        "initialize", "notifications/initialized", "echo", "session/delete"
    ]  # fmt: skip
    assert all(record.outcome.ok for record in records)


def test_auto_picks_sessionless_when_the_server_offers_it() -> None:
    """auto settles on 2026-07-28 with server/discover and no initialize."""
    client, records, transport = make_client(McpTargetHandler())
    assert client.open()
    assert client.session.revision == "2026-07-28"
    client.call("tools/list")
    assert names(records) == ["server/discover", "tools/list"]
    assert "Mcp-Session-Id" not in transport.requests[-1].headers


def test_auto_falls_back_to_handshake_and_records_probe_as_ok() -> None:
    """A server without server/discover gets the initialize handshake."""
    client, records, _ = make_client(NoSessionlessTarget())
    assert client.open()
    assert client.session.revision == "2025-11-25"
    assert names(records)[:2] == ["server/discover", "initialize"]
    assert all(record.outcome.ok for record in records)


def test_auto_remembers_the_fallback_in_the_memo() -> None:
    """A second client sharing the memo skips the sessionless probe."""
    memo: dict[str, str] = {}
    target = NoSessionlessTarget()
    make_client(target, memo=memo)[0].open()
    client, records, _ = make_client(target, memo=memo)
    assert client.open()
    assert names(records)[0] == "initialize"


def test_forced_sessionless_against_handshake_server_fails_cleanly() -> None:
    """Forcing 2026-07-28 on a server without it records one failed probe."""
    client, records, _ = make_client(NoSessionlessTarget(), "2026-07-28")
    assert not client.open()
    assert [r.outcome.label for r in records] == ["http_status 400"]


def test_no_common_revision_names_both_sides() -> None:
    """A server that only offers an old revision raises NegotiationError."""

    class OldServer:
        def handle(self, request: HttpRequest) -> TargetResponse:
            if b'"initialize"' not in request.body:
                return json_body(400, {})
            result = {"protocolVersion": "2024-11-05", "capabilities": {}}
            request_id = json.loads(request.body)["id"]
            return json_body(
                200, {"jsonrpc": "2.0", "id": request_id, "result": result}
            )

    client, records, _ = make_client(OldServer())
    with pytest.raises(NegotiationError, match="2024-11-05.*2025-11-25"):
        client.open()
    assert records[-1].outcome.label == "protocol no common revision"


def test_expired_session_reinitializes_and_retries_once() -> None:
    """A 404 with a session id re-opens the session and retries the call."""
    handler = McpTargetHandler()
    client, records, _ = make_client(handler, "2025-11-25")
    client.open()
    handler.faults.expire_sessions_now()
    record = client.call("ping")
    assert record.outcome.ok
    assert client.session_expiries == 1
    assert names(records)[-4:] == [
        "session expired", "initialize", "notifications/initialized", "ping"
    ]  # fmt: skip


def test_pagination_follows_next_cursor() -> None:
    """list_all gathers every page when the server paginates."""
    client, records, _ = make_client(McpTargetHandler(page_size=2))
    client.open()
    tools = client.list_all("tools/list", "tools")
    assert len(tools) == len({tool["name"] for tool in tools}) >= 5
    assert names(records).count("tools/list") == 3


def test_pagination_stops_on_a_repeated_cursor() -> None:
    """A server handing out the same cursor forever cannot loop the client."""
    page = {"jsonrpc": "2.0", "id": 0, "result": {"tools": [{}], "nextCursor": "c"}}

    class Looping(Scripted):
        def handle(self, request: HttpRequest) -> TargetResponse:
            if b'"tools/list"' in request.body:
                body = json.loads(request.body)
                return json_body(200, {**page, "id": body["id"]})
            return super().handle(request)

    client, records, _ = make_client(Looping(200, {}, b""), "2025-11-25")
    client.open()
    assert len(client.list_all("tools/list", "tools")) == 2


def test_tool_error_is_its_own_outcome() -> None:
    """tools/call with isError: true counts as tool_error, not ok."""
    client, _, _ = make_client(McpTargetHandler())
    client.open()
    record = client.call("tools/call", {"name": "fail", "arguments": {"message": "m"}})
    assert record.outcome.cls is OutcomeClass.TOOL_ERROR


def test_tool_error_can_count_as_success() -> None:
    """With tool_errors_fail off, an isError result is ok."""
    client, _, _ = make_client(McpTargetHandler(), tool_errors_fail=False)
    client.open()
    record = client.call("tools/call", {"name": "fail", "arguments": {"message": "m"}})
    assert record.outcome.ok and record.result is not None


def test_jsonrpc_error_is_counted_by_code() -> None:
    """An unknown method is a JSON-RPC error outcome, not an exception."""
    client, _, _ = make_client(McpTargetHandler())
    client.open()
    assert client.call("no/such/method").outcome.label == "jsonrpc_error -32601"


@pytest.mark.parametrize(
    ("status", "headers", "body", "label"),
    [
        (503, {}, b"", "http_status 503"),
        (302, {"Location": "/elsewhere"}, b"", "http_status 302"),
        (200, {"Content-Type": "text/plain"}, b"hi", "protocol wrong content type"),
        (200, {"Content-Type": "application/json"}, b"{", "protocol malformed json"),
        (
            200,
            {"Content-Type": "application/json"},
            b'{"jsonrpc":"2.0","id":999,"result":{}}',
            "protocol id mismatch",
        ),
        (
            200,
            {"Content-Type": "text/event-stream"},
            b"data: {}\n\n",
            "protocol not json-rpc 2.0",
        ),
    ],
)
def test_each_target_misbehaviour_is_classified(
    status: int, headers: dict[str, str], body: bytes, label: str
) -> None:
    """HTTP errors, redirects and protocol violations get their own labels."""
    client, _, _ = make_client(Scripted(status, headers, body), "2025-11-25")
    assert client.open()
    assert client.call("ping").outcome.label == label


def test_transport_error_is_classified_by_kind() -> None:
    """A refused connection is a transport outcome, never an exception."""

    class Refusing:
        def send(self, request: HttpRequest) -> None:
            raise TransportError(TransportErrorKind.REFUSED)

        def close(self) -> None:
            pass

    records: list[CallRecord] = []
    client = McpClient(Refusing(), records.append)  # type: ignore[arg-type]
    assert not client.open()
    assert [r.outcome.label for r in records] == ["transport refused"]


def test_latency_comes_from_the_injected_clock() -> None:
    """Latency is the clock's difference around the exchange, in microseconds."""
    ticks = iter(x * 0.001 for x in range(100))
    records: list[CallRecord] = []
    client = McpClient(
        InMemoryTransport(McpTargetHandler()),
        records.append,
        clock=lambda: next(ticks),
        wall_clock=lambda: 1000.0,
    )
    client.open()
    assert records[0].latency_us == 2000 and records[0].ttfb_us == 1000
