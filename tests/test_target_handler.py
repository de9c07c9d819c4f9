"""The demo target's pure handler: lifecycles, errors, methods, framing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.mcp import revisions
from loadgen.target.faults import FaultPlan, FaultSettings, Latency
from loadgen.target.handler import McpTargetHandler
from loadgen.target.responses import ResponseMode, TargetResponse
from loadgen.transport.messages import HttpRequest

ACCEPT = "application/json, text/event-stream"
SESSIONLESS = "2026-07-28"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def post(
    handler: McpTargetHandler,
    message: Any,
    headers: dict[str, str] | None = None,
    *,
    base: dict[str, str] | None = None,
) -> TargetResponse:
    """POST one message with the headers a well-behaved client sends."""
    all_headers = (
        base
        if base is not None
        else {"Content-Type": "application/json", "Accept": ACCEPT}
    )
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return handler.handle(
        HttpRequest("POST", "/mcp", {**all_headers, **(headers or {})}, body)
    )


def request(
    method: str, params: dict[str, Any] | None = None, rid: int = 1
) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        message["params"] = params
    return message


def body_json(response: TargetResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/json"
    result: dict[str, Any] = json.loads(response.body())
    return result


def sse_messages(response: TargetResponse) -> list[dict[str, Any]]:
    """The JSON-RPC messages of an SSE body, checking each event's framing."""
    assert response.headers["Content-Type"] == "text/event-stream"
    messages = []
    for event in response.body().decode().split("\n\n")[:-1]:
        lines = event.split("\n")
        assert lines[0] == "event: message"
        assert lines[1].startswith("id: ")
        assert lines[2].startswith("data: ")
        messages.append(json.loads(lines[2].removeprefix("data: ")))
    return messages


def initialize(handler: McpTargetHandler, version: str = "2025-06-18") -> str:
    params = {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    }
    response = post(handler, request("initialize", params))
    assert response.status == 200
    return response.headers["Mcp-Session-Id"]


def in_session(session_id: str, version: str = "2025-06-18") -> dict[str, str]:
    return {"Mcp-Session-Id": session_id, "MCP-Protocol-Version": version}


def envelope() -> dict[str, Any]:
    return {
        revisions.META_PROTOCOL_VERSION: SESSIONLESS,
        revisions.META_CLIENT_CAPABILITIES: {},
    }


def sessionless_headers(method: str, name: str | None = None) -> dict[str, str]:
    headers = {"MCP-Protocol-Version": SESSIONLESS, "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    return headers


@pytest.fixture
def handler() -> McpTargetHandler:
    return McpTargetHandler()


# Handshake revisions -------------------------------------------------------


@pytest.mark.parametrize("version", revisions.HANDSHAKE_REVISIONS)
def test_initialize_answers_the_asked_handshake_revision(version: str) -> None:
    """A client asking for a handshake revision we serve gets that revision."""
    handler = McpTargetHandler()
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {}}
    result = body_json(post(handler, request("initialize", params)))["result"]
    assert result["protocolVersion"] == version
    assert set(result["capabilities"]) == {"tools", "resources", "prompts", "logging"}
    assert result["serverInfo"]["name"] == "mcp-loadgen-target"


@pytest.mark.parametrize("asked", ["2024-01-01", SESSIONLESS, "garbage"])
def test_initialize_answers_newest_handshake_revision_otherwise(asked: str) -> None:
    """An unknown or sessionless revision is answered with 2025-11-25."""
    handler = McpTargetHandler()
    params = {"protocolVersion": asked, "capabilities": {}, "clientInfo": {}}
    result = body_json(post(handler, request("initialize", params)))["result"]
    assert result["protocolVersion"] == "2025-11-25"


def test_initialize_returns_a_random_hex_session_id(handler: McpTargetHandler) -> None:
    """Each initialize opens a new session named by 32 hex digits."""
    first, second = initialize(handler), initialize(handler)
    assert first != second
    assert len(first) == 32 and int(first, 16) >= 0


@pytest.mark.parametrize("version", revisions.HANDSHAKE_REVISIONS)
def test_full_handshake_lifecycle(version: str) -> None:
    """initialize, initialized, a call, DELETE, then the session is gone."""
    handler = McpTargetHandler()
    session_id = initialize(handler, version)
    headers = in_session(session_id, version)
    notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert post(handler, notice, headers).status == 202
    assert body_json(post(handler, request("ping", rid=2), headers))["result"] == {}
    delete = HttpRequest("DELETE", "/mcp", headers)
    assert handler.handle(delete).status == 200
    assert post(handler, request("ping", rid=3), headers).status == 404


def test_notification_gets_202_with_no_body(handler: McpTargetHandler) -> None:
    """A notification is accepted with 202 and an empty body."""
    session_id = initialize(handler)
    notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = post(handler, notice, in_session(session_id))
    assert (response.status, response.body()) == (202, b"")


def test_client_response_gets_202(handler: McpTargetHandler) -> None:
    """A JSON-RPC response from the client is accepted with 202."""
    session_id = initialize(handler)
    reply = {"jsonrpc": "2.0", "id": 7, "result": {}}
    assert post(handler, reply, in_session(session_id)).status == 202


def test_request_without_session_id_is_400(handler: McpTargetHandler) -> None:
    """A handshake-revision request without Mcp-Session-Id is refused."""
    response = post(handler, request("ping"))
    assert response.status == 400
    assert body_json(response)["error"]["code"] == -32600


def test_request_with_unknown_session_id_is_404(handler: McpTargetHandler) -> None:
    """An unknown session id is answered 404 so the client re-initializes."""
    response = post(handler, request("ping"), {"Mcp-Session-Id": "f" * 32})
    assert response.status == 404


def test_unsupported_version_header_is_400(handler: McpTargetHandler) -> None:
    """MCP-Protocol-Version naming a revision we do not serve is 400."""
    session_id = initialize(handler)
    headers = in_session(session_id, "2099-01-01")
    assert post(handler, request("ping"), headers).status == 400


def test_missing_version_header_is_accepted(handler: McpTargetHandler) -> None:
    """2025-03-26 clients send no version header; that is fine."""
    session_id = initialize(handler, "2025-03-26")
    response = post(handler, request("ping"), {"Mcp-Session-Id": session_id})
    assert response.status == 200


def test_delete_of_unknown_session_is_404(handler: McpTargetHandler) -> None:
    """DELETE naming no live session is 404."""
    delete = HttpRequest("DELETE", "/mcp", {"Mcp-Session-Id": "0" * 32})
    assert handler.handle(delete).status == 404


def test_delete_without_session_id_is_400(handler: McpTargetHandler) -> None:
    """DELETE must name the session it ends."""
    assert handler.handle(HttpRequest("DELETE", "/mcp", {})).status == 400


def test_get_is_405(handler: McpTargetHandler) -> None:
    """No standalone SSE stream is offered, so GET is not allowed."""
    response = handler.handle(HttpRequest("GET", "/mcp", {"Accept": ACCEPT}))
    assert response.status == 405
    assert response.headers["Allow"] == "POST, DELETE"


# HTTP-level errors -----------------------------------------------------------


def test_wrong_content_type_is_415(handler: McpTargetHandler) -> None:
    """A body not labelled application/json is refused with 415."""
    base = {"Content-Type": "text/plain", "Accept": ACCEPT}
    assert post(handler, request("ping"), base=base).status == 415


def test_content_type_parameters_are_ignored(handler: McpTargetHandler) -> None:
    """application/json; charset=utf-8 is still JSON."""
    base = {"Content-Type": "application/json; charset=utf-8", "Accept": ACCEPT}
    params = {"protocolVersion": "2025-06-18"}
    assert post(handler, request("initialize", params), base=base).status == 200


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream", "*/*", ""])
def test_accept_without_both_types_is_406(
    handler: McpTargetHandler, accept: str
) -> None:
    """Accept must list both application/json and text/event-stream."""
    base = {"Content-Type": "application/json", "Accept": accept}
    assert post(handler, request("ping"), base=base).status == 406


def test_batch_is_rejected_with_a_jsonrpc_error(handler: McpTargetHandler) -> None:
    """A JSON array (batch) is refused: 400 with JSON-RPC -32600."""
    response = post(handler, [request("ping")])
    assert response.status == 400
    assert body_json(response)["error"]["code"] == -32600


def test_invalid_json_is_a_parse_error(handler: McpTargetHandler) -> None:
    """A body that is not JSON gets 400 with -32700."""
    response = post(handler, b"{not json")
    assert response.status == 400
    assert body_json(response)["error"]["code"] == -32700


def test_nan_is_not_json(handler: McpTargetHandler) -> None:
    """NaN, which Python's json reads, is refused as a parse error."""
    response = post(handler, b'{"jsonrpc":"2.0","id":1,"method":"ping","x":NaN}')
    assert body_json(response)["error"]["code"] == -32700


def test_other_paths_are_404(handler: McpTargetHandler) -> None:
    """Only the configured endpoint path serves MCP."""
    response = handler.handle(HttpRequest("POST", "/other", {}, b"{}"))
    assert response.status == 404


def test_endpoint_path_is_configurable() -> None:
    """The endpoint lives where the path option says."""
    handler = McpTargetHandler(path="/rpc")
    request_ = HttpRequest("POST", "/rpc?x=1", {"Content-Type": "application/json"})
    assert handler.handle(request_).status == 406


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200),
    content_type=st.sampled_from(["application/json", "x"]),
)
def test_any_body_gets_an_answer_never_an_exception(
    body: bytes, content_type: str
) -> None:
    """Whatever bytes arrive, the handler answers with a status."""
    handler = McpTargetHandler()
    base = {"Content-Type": content_type, "Accept": ACCEPT}
    response = post(handler, body, base=base)
    assert 200 <= response.status < 600
    response.body()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(
        [
            "initialize",
            "tools/call",
            "tools/list",
            "resources/read",
            "prompts/get",
            "logging/setLevel",
            "server/discover",
            "ping",
            "nope",
        ]
    ),
    params=json_values,
    sessionless=st.booleans(),
)
def test_any_params_get_an_answer_never_an_exception(
    method: str, params: Any, sessionless: bool
) -> None:
    """Odd params of any shape are answered, never raised."""
    handler = McpTargetHandler(response_mode=ResponseMode.SSE)
    headers = (
        sessionless_headers(method) if sessionless else in_session(initialize(handler))
    )
    message = {"jsonrpc": "2.0", "id": 5, "method": method, "params": params}
    response = post(handler, message, headers)
    assert 200 <= response.status < 600
    response.body()


# Sessionless revision --------------------------------------------------------


def test_sessionless_discover_lists_the_revision(handler: McpTargetHandler) -> None:
    """server/discover answers supportedVersions, capabilities and serverInfo."""
    message = request("server/discover", {"_meta": envelope()})
    response = post(handler, message, sessionless_headers("server/discover"))
    result = body_json(response)["result"]
    assert result["supportedVersions"] == [SESSIONLESS]
    assert "tools" in result["capabilities"]
    assert result["serverInfo"]["name"] == "mcp-loadgen-target"


def test_sessionless_call_needs_no_session(handler: McpTargetHandler) -> None:
    """A tools/call with the envelope and matching headers is served."""
    params = {"name": "echo", "arguments": {"text": "hi"}, "_meta": envelope()}
    headers = sessionless_headers("tools/call", "echo")
    result = body_json(post(handler, request("tools/call", params), headers))["result"]
    assert result["content"][0]["text"] == "hi"
    assert handler.stats().sessions_open == 0


def test_sessionless_results_carry_result_type_and_cache_hints(
    handler: McpTargetHandler,
) -> None:
    """2026-07-28 results name resultType; list results add cache hints."""
    listing = post(
        handler,
        request("tools/list", {"_meta": envelope()}),
        sessionless_headers("tools/list"),
    )
    echo = post(
        handler,
        request(
            "tools/call",
            {"name": "echo", "arguments": {"text": "x"}, "_meta": envelope()},
        ),
        sessionless_headers("tools/call", "echo"),
    )
    result = body_json(listing)["result"]
    assert (result["resultType"], result["cacheScope"], result["ttlMs"]) == (
        "complete",
        "private",
        0,
    )
    assert body_json(echo)["result"]["resultType"] == "complete"


def test_sessionless_has_no_ping(handler: McpTargetHandler) -> None:
    """2026-07-28 removed ping with the lifecycle: it is method-not-found."""
    ping = post(
        handler, request("ping", {"_meta": envelope()}), sessionless_headers("ping")
    )
    assert body_json(ping)["error"]["code"] == -32601


def test_handshake_results_have_no_sessionless_fields(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """Results inside a session stay as the handshake revisions define them."""
    assert "resultType" not in call(handler, session, "tools/list")["result"]


def test_sessionless_missing_meta_key_is_invalid_params(
    handler: McpTargetHandler,
) -> None:
    """An envelope without clientCapabilities is -32602 on HTTP 400."""
    meta = {revisions.META_PROTOCOL_VERSION: SESSIONLESS}
    response = post(
        handler, request("ping", {"_meta": meta}), sessionless_headers("ping")
    )
    assert response.status == 400
    assert body_json(response)["error"]["code"] == -32602


@pytest.mark.parametrize(
    "headers",
    [
        {"MCP-Protocol-Version": SESSIONLESS, "Mcp-Method": "ping"},
        {"Mcp-Method": "tools/list"},
        {"MCP-Protocol-Version": SESSIONLESS},
    ],
    ids=["wrong-method", "no-version", "no-method"],
)
def test_sessionless_routing_headers_must_echo_the_body(
    handler: McpTargetHandler, headers: dict[str, str]
) -> None:
    """Mcp-Method and MCP-Protocol-Version must echo the body (-32020, 400)."""
    response = post(handler, request("tools/list", {"_meta": envelope()}), headers)
    assert response.status == 400
    assert body_json(response)["error"]["code"] == -32020


def test_sessionless_mcp_name_is_ignored_for_other_methods(
    handler: McpTargetHandler,
) -> None:
    """Only tools/call, prompts/get and resources/read check Mcp-Name."""
    message = request("tools/list", {"name": "x", "_meta": envelope()})
    headers = sessionless_headers("tools/list", "something-else")
    assert post(handler, message, headers).status == 200


@pytest.mark.parametrize(
    ("method", "params", "name"),
    [
        ("tools/call", {"name": "echo", "arguments": {"text": "x"}}, "add"),
        ("prompts/get", {"name": "greet", "arguments": {"name": "x"}}, "other"),
        ("resources/read", {"uri": "demo://readme"}, "demo://config"),
        ("tools/call", {"name": "echo", "arguments": {"text": "x"}}, None),
    ],
)
def test_sessionless_mcp_name_must_match(
    handler: McpTargetHandler, method: str, params: dict[str, Any], name: str | None
) -> None:
    """Mcp-Name must equal params.name or params.uri: else -32020 on 400."""
    message = request(method, {**params, "_meta": envelope()})
    response = post(handler, message, sessionless_headers(method, name))
    assert response.status == 400
    assert body_json(response)["error"]["code"] == -32020


def test_sessionless_mcp_name_may_be_base64_wrapped(handler: McpTargetHandler) -> None:
    """A =?base64?...?= Mcp-Name decodes before the comparison."""
    params = {"uri": "demo://readme", "_meta": envelope()}
    headers = sessionless_headers("resources/read", "=?base64?ZGVtbzovL3JlYWRtZQ==?=")
    assert post(handler, request("resources/read", params), headers).status == 200


def test_sessionless_unknown_envelope_version_is_unsupported(
    handler: McpTargetHandler,
) -> None:
    """An envelope of a revision we lack (headers agreeing) is -32022, 400."""
    meta = {**envelope(), revisions.META_PROTOCOL_VERSION: "2099-01-01"}
    headers = {"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "ping"}
    response = post(handler, request("ping", {"_meta": meta}), headers)
    assert response.status == 400
    error = body_json(response)["error"]
    assert error["code"] == -32022
    assert error["data"] == {"supported": [SESSIONLESS], "requested": "2099-01-01"}


def test_discover_inside_a_session_is_method_not_found(
    handler: McpTargetHandler,
) -> None:
    """server/discover belongs to the sessionless revision only."""
    session_id = initialize(handler)
    response = post(handler, request("server/discover"), in_session(session_id))
    assert body_json(response)["error"]["code"] == -32601


# Methods ---------------------------------------------------------------------


@pytest.fixture
def session(handler: McpTargetHandler) -> dict[str, str]:
    return in_session(initialize(handler))


def call(
    handler: McpTargetHandler, headers: dict[str, str], method: str, params: Any = None
) -> dict[str, Any]:
    response = post(handler, request(method, params, rid=9), headers)
    assert response.status == 200
    return body_json(response)


def test_unknown_method_is_32601_on_http_200(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """An unknown method is a JSON-RPC error carried on HTTP 200."""
    assert call(handler, session, "nope/nothing")["error"]["code"] == -32601


def test_tools_list_has_real_input_schemas(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """Every tool carries an object inputSchema with its properties."""
    tools = call(handler, session, "tools/list")["result"]["tools"]
    assert [tool["name"] for tool in tools] == [
        "echo",
        "add",
        "sleep",
        "fail",
        "progress",
    ]
    for tool in tools:
        assert tool["inputSchema"]["type"] == "object"
    sleep = tools[2]["inputSchema"]["properties"]["ms"]
    assert (sleep["type"], sleep["minimum"], sleep["maximum"]) == ("integer", 0, 1000)


@pytest.mark.parametrize(
    ("name", "arguments", "text"),
    [
        ("echo", {"text": "hello"}, "hello"),
        ("add", {"a": 2, "b": 0.5}, "2.5"),
        ("sleep", {"ms": 0}, "slept 0 ms"),
    ],
)
def test_tools_answer(
    handler: McpTargetHandler,
    session: dict[str, str],
    name: str,
    arguments: dict[str, Any],
    text: str,
) -> None:
    """echo, add and sleep return their text result without isError."""
    result = call(
        handler, session, "tools/call", {"name": name, "arguments": arguments}
    )
    assert result["result"]["content"][0]["text"] == text
    assert result["result"]["isError"] is False


def test_fail_tool_returns_is_error(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """fail answers with isError: true and the message, on HTTP 200."""
    params = {"name": "fail", "arguments": {"message": "boom"}}
    result = call(handler, session, "tools/call", params)["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"] == "boom"


@pytest.mark.parametrize(
    "params",
    [
        {"name": "echo", "arguments": {}},
        {"name": "echo", "arguments": {"text": 3}},
        {"name": "add", "arguments": {"a": True, "b": 1}},
        {"name": "sleep", "arguments": {"ms": 1001}},
        {"name": "sleep", "arguments": {"ms": 1.5}},
        {"name": "progress", "arguments": {"steps": 0}},
        {"name": "echo", "arguments": {"text": "x", "extra": 1}},
        {"name": "missing", "arguments": {}},
        {"name": "echo", "arguments": "text"},
    ],
)
def test_invalid_tool_arguments_are_32602(
    handler: McpTargetHandler, session: dict[str, str], params: dict[str, Any]
) -> None:
    """Arguments that break the tool's schema, or an unknown tool, are -32602."""
    assert call(handler, session, "tools/call", params)["error"]["code"] == -32602


def test_sleep_tool_delays_a_json_response(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """In JSON mode the sleep tool's time becomes the response's delay."""
    params = {"name": "sleep", "arguments": {"ms": 250}}
    response = post(handler, request("tools/call", params), session)
    assert response.delay_s == pytest.approx(0.25)


def test_sleep_tool_waits_inside_an_sse_stream() -> None:
    """In SSE mode the sleep tool waits on the open stream, via sleep()."""
    waits: list[float] = []
    handler = McpTargetHandler(response_mode=ResponseMode.SSE, sleep=waits.append)
    headers = in_session(initialize(handler))
    params = {"name": "sleep", "arguments": {"ms": 40}}
    response = post(handler, request("tools/call", params), headers)
    assert response.delay_s == 0.0
    assert sse_messages(response)[-1]["result"]["content"][0]["text"] == "slept 40 ms"
    assert waits == [pytest.approx(0.04)]


def test_resources_read_returns_text(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """Both resources read back as text with their MIME type."""
    readme = call(handler, session, "resources/read", {"uri": "demo://readme"})
    config = call(handler, session, "resources/read", {"uri": "demo://config"})
    assert readme["result"]["contents"][0]["mimeType"] == "text/plain"
    assert json.loads(config["result"]["contents"][0]["text"])["tools"] == 5


def test_unknown_resource_is_32602(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """Reading a URI we do not have is invalid params."""
    reply = call(handler, session, "resources/read", {"uri": "demo://nothing"})
    assert reply["error"]["code"] == -32602


def test_resource_templates_list_is_empty(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """There are no resource templates."""
    result = call(handler, session, "resources/templates/list")["result"]
    assert result == {"resourceTemplates": []}


def test_prompt_greet_needs_a_name(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """greet renders with a name and is -32602 without one."""
    good = call(
        handler, session, "prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}
    )
    bad = call(handler, session, "prompts/get", {"name": "greet", "arguments": {}})
    assert "Ada" in good["result"]["messages"][0]["content"]["text"]
    assert bad["error"]["code"] == -32602


def test_logging_set_level_checks_the_level(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """A syslog level is accepted; anything else is -32602."""
    assert (
        call(handler, session, "logging/setLevel", {"level": "error"})["result"] == {}
    )
    reply = call(handler, session, "logging/setLevel", {"level": "loud"})
    assert reply["error"]["code"] == -32602


def test_params_that_are_not_an_object_are_32602(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """params given as an array is invalid params."""
    assert call(handler, session, "ping", [1, 2])["error"]["code"] == -32602


# Pagination ------------------------------------------------------------------


def test_lists_are_one_page_by_default(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """Without a page size, tools/list returns everything, no nextCursor."""
    result = call(handler, session, "tools/list")["result"]
    assert len(result["tools"]) == 5 and "nextCursor" not in result


def test_page_size_paginates_with_next_cursor() -> None:
    """With a page size, following nextCursor walks the whole list once."""
    handler = McpTargetHandler(page_size=2)
    headers = in_session(initialize(handler))
    names: list[str] = []
    params = None
    for _ in range(10):
        result = call(handler, headers, "tools/list", params)["result"]
        names.extend(tool["name"] for tool in result["tools"])
        if "nextCursor" not in result:
            break
        params = {"cursor": result["nextCursor"]}
    assert names == ["echo", "add", "sleep", "fail", "progress"]


def test_invalid_cursor_is_32602(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """A cursor we never issued is invalid params."""
    reply = call(handler, session, "prompts/list", {"cursor": "bogus"})
    assert reply["error"]["code"] == -32602


# SSE framing -------------------------------------------------------------------


def test_sse_response_is_one_event_per_message() -> None:
    """In SSE mode a result arrives as event/id/data lines, then the stream ends."""
    handler = McpTargetHandler(response_mode=ResponseMode.SSE)
    session_id = initialize(handler)
    response = post(handler, request("ping", rid=4), in_session(session_id))
    assert response.length is None
    assert sse_messages(response) == [{"jsonrpc": "2.0", "id": 4, "result": {}}]


def test_sse_event_ids_are_distinct() -> None:
    """Every event carries its own id."""
    handler = McpTargetHandler(response_mode=ResponseMode.SSE)
    headers = in_session(initialize(handler))
    bodies = [post(handler, request("ping", rid=n), headers).body() for n in range(3)]
    ids = [
        line for body in bodies for line in body.split(b"\n") if line.startswith(b"id:")
    ]
    assert len(set(ids)) == 3


def test_progress_tool_streams_progress_and_a_log_line() -> None:
    """With a progressToken, progress events and a log event precede the result."""
    waits: list[float] = []
    handler = McpTargetHandler(
        response_mode=ResponseMode.SSE, sleep=waits.append, progress_step_s=0.01
    )
    headers = in_session(initialize(handler))
    params = {
        "name": "progress",
        "arguments": {"steps": 3},
        "_meta": {"progressToken": "p"},
    }
    messages = sse_messages(post(handler, request("tools/call", params), headers))
    methods = [message.get("method") for message in messages]
    assert methods == ["notifications/progress"] * 3 + ["notifications/message", None]
    assert [m["params"]["progress"] for m in messages[:3]] == [1, 2, 3]
    assert messages[-1]["result"]["isError"] is False
    assert waits == [0.01] * 3


def test_progress_without_token_sends_no_progress_events() -> None:
    """Progress notifications are only sent when the request asked for them."""
    handler = McpTargetHandler(response_mode=ResponseMode.SSE)
    headers = in_session(initialize(handler))
    params = {"name": "progress", "arguments": {"steps": 2}}
    messages = sse_messages(post(handler, request("tools/call", params), headers))
    assert [message.get("method") for message in messages] == [
        "notifications/message",
        None,
    ]


def test_log_level_above_info_silences_the_progress_log() -> None:
    """logging/setLevel error stops the info-level log event."""
    handler = McpTargetHandler(response_mode=ResponseMode.SSE)
    headers = in_session(initialize(handler))
    post(handler, request("logging/setLevel", {"level": "error"}), headers).body()
    params = {"name": "progress", "arguments": {"steps": 2}}
    messages = sse_messages(post(handler, request("tools/call", params), headers))
    assert len(messages) == 1


def test_progress_in_json_mode_returns_only_the_result() -> None:
    """A JSON body cannot carry notifications: just the result."""
    handler = McpTargetHandler(progress_step_s=0.1)
    headers = in_session(initialize(handler))
    params = {
        "name": "progress",
        "arguments": {"steps": 2},
        "_meta": {"progressToken": 1},
    }
    response = post(handler, request("tools/call", params), headers)
    assert body_json(response)["result"]["content"][0]["text"] == "done in 2 steps"
    assert response.delay_s == pytest.approx(0.2)


def test_http_errors_are_plain_json_even_in_sse_mode() -> None:
    """A 4xx carries a JSON body, not a stream."""
    handler = McpTargetHandler(response_mode=ResponseMode.SSE)
    assert body_json(post(handler, request("ping")))["error"]["code"] == -32600


# Counters and faults -------------------------------------------------------------


def test_counter_counts_by_method_and_status(handler: McpTargetHandler) -> None:
    """initialize, notifications, calls and DELETE each count under their name."""
    session_id = initialize(handler)
    headers = in_session(session_id)
    post(handler, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers)
    post(handler, request("ping"), headers)
    post(handler, request("ping"), headers)
    handler.handle(HttpRequest("DELETE", "/mcp", headers))
    stats = handler.stats()
    assert dict(stats.by_method) == {
        "initialize": 1,
        "notifications/initialized": 1,
        "ping": 2,
        "DELETE": 1,
    }
    assert dict(stats.by_status) == {200: 4, 202: 1}
    assert stats.requests_total == 5


def test_counter_folds_unknown_methods_into_one_row(
    handler: McpTargetHandler, session: dict[str, str]
) -> None:
    """Arbitrary method names share the (unknown) row."""
    for name in ("a", "b", "c"):
        post(handler, request(name), session)
    assert handler.stats().by_method["(unknown)"] == 3


def test_unparsable_bodies_count_as_invalid(handler: McpTargetHandler) -> None:
    """A body that is not one JSON-RPC message counts in the (invalid) row."""
    post(handler, b"{")
    post(handler, [request("ping")])
    assert handler.stats().by_method == {"(invalid)": 2}


def test_stall_delays_endpoint_requests_but_not_admin() -> None:
    """During a stall the endpoint waits out the stall; /admin answers at once."""
    clock = FakeClock()
    settings = FaultSettings(stall_every_s=10.0, stall_for_s=2.0)
    handler = McpTargetHandler(faults=FaultPlan(settings, clock=clock))
    clock.now_s += 10.5
    assert post(handler, request("ping")).delay_s == pytest.approx(1.5)
    admin = handler.handle(HttpRequest("GET", "/admin/stats", {}))
    assert admin.delay_s == 0.0
    assert json.loads(admin.body())["injected"]["stalled"] == 1


def test_injected_http_error_replaces_the_answer() -> None:
    """With error_rate 1 every endpoint request gets the configured status."""
    faults = FaultPlan(FaultSettings(error_rate=1.0, error_status=502), seed=1)
    handler = McpTargetHandler(faults=faults)
    assert post(handler, request("ping")).status == 502
    assert handler.stats().injected_http_errors == 1


def test_injected_jsonrpc_error_is_32603_on_200() -> None:
    """With jsonrpc_error_rate 1 a request's result becomes -32603."""
    handler = McpTargetHandler()
    headers = in_session(initialize(handler))
    handler.faults.settings = FaultSettings(jsonrpc_error_rate=1.0)
    response = post(handler, request("ping"), headers)
    assert body_json(response)["error"]["code"] == -32603
    assert handler.stats().injected_jsonrpc_errors == 1


def test_injected_jsonrpc_error_spares_notifications() -> None:
    """A notification still gets 202 when JSON-RPC errors are injected."""
    handler = McpTargetHandler()
    headers = in_session(initialize(handler))
    handler.faults.settings = FaultSettings(jsonrpc_error_rate=1.0)
    notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert post(handler, notice, headers).status == 202


def test_fault_latency_becomes_response_delay() -> None:
    """Added latency shows up as delay_s, never as a sleep in the handler."""
    faults = FaultPlan(FaultSettings(Latency.parse("fixed:7ms")))
    handler = McpTargetHandler(faults=faults)
    assert post(handler, request("ping")).delay_s == pytest.approx(0.007)


def test_expired_sessions_get_404() -> None:
    """After a forced expiry, the old session id is unknown."""
    handler = McpTargetHandler()
    headers = in_session(initialize(handler))
    handler.faults.expire_sessions_now()
    assert post(handler, request("ping"), headers).status == 404
    assert handler.stats().sessions_open == 0


def test_idle_session_expires_after_the_ttl() -> None:
    """A session idle longer than session_ttl_s is gone; a busy one lives."""
    clock = FakeClock()
    faults = FaultPlan(FaultSettings(session_ttl_s=30.0), clock=clock)
    handler = McpTargetHandler(faults=faults)
    headers = in_session(initialize(handler))
    clock.now_s += 29
    assert post(handler, request("ping"), headers).status == 200
    clock.now_s += 29
    assert post(handler, request("ping"), headers).status == 200
    clock.now_s += 31
    assert post(handler, request("ping"), headers).status == 404


def test_admin_stats_and_faults_routes(handler: McpTargetHandler) -> None:
    """/admin/stats reads counters; POST /admin/faults changes knobs."""
    initialize(handler)
    stats = handler.handle(HttpRequest("GET", "/admin/stats", {}))
    assert json.loads(stats.body())["by_method"] == {"initialize": 1}
    change = json.dumps({"latency": "uniform:1ms:2ms", "error_rate": 0.5}).encode()
    reply = handler.handle(HttpRequest("POST", "/admin/faults", {}, change))
    assert json.loads(reply.body())["latency"] == "uniform:1ms:2ms"
    assert handler.faults.settings.error_rate == 0.5


def test_admin_rejects_bad_fault_values(handler: McpTargetHandler) -> None:
    """A bad knob is a 400 naming the field, and nothing changes."""
    change = json.dumps({"error_rate": 2}).encode()
    reply = handler.handle(HttpRequest("POST", "/admin/faults", {}, change))
    assert reply.status == 400
    assert "error_rate" in json.loads(reply.body())["error"]
    assert handler.faults.settings.error_rate == 0.0


def test_admin_expire_sessions_route(handler: McpTargetHandler) -> None:
    """POST /admin/expire-sessions ends every open session."""
    headers = in_session(initialize(handler))
    handler.handle(HttpRequest("POST", "/admin/expire-sessions", {}))
    assert post(handler, request("ping"), headers).status == 404
