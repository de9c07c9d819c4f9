"""Session state: the headers and envelopes each revision requires."""

from __future__ import annotations

import json

import pytest

from loadgen.mcp.errors import NegotiationError, ProtocolViolation
from loadgen.mcp.revisions import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from loadgen.mcp.session import McpSession

CAPS = {"capabilities": {"tools": {}}, "serverInfo": {"name": "t", "version": "1"}}


def opened(revision: str, session_id: str | None = "abc") -> McpSession:
    session = McpSession("/mcp", {"name": "test", "version": "0"})
    headers = {"mcp-session-id": session_id} if session_id else {}
    result = {"protocolVersion": revision, **CAPS}
    session.accept_initialize(result, headers, (revision,))
    return session


def test_initialize_carries_client_info_and_offered_version() -> None:
    """initialize names the offered revision, our info and capabilities."""
    session = McpSession("/mcp", {"name": "test", "version": "0"})
    request_id, request = session.initialize_request("2025-11-25")
    body = json.loads(request.body)
    assert body["id"] == request_id == 1
    assert body["params"]["protocolVersion"] == "2025-11-25"
    assert body["params"]["clientInfo"] == {"name": "test", "version": "0"}
    assert "Mcp-Session-Id" not in request.headers


def test_session_id_is_sent_after_initialize() -> None:
    """Every request after initialize carries the server's session id."""
    _, request = opened("2025-06-18").request("ping")
    assert request.headers["Mcp-Session-Id"] == "abc"


def test_version_header_from_2025_06_18_on() -> None:
    """MCP-Protocol-Version is sent from 2025-06-18 on, not for 2025-03-26."""
    _, new = opened("2025-06-18").request("ping")
    _, old = opened("2025-03-26").request("ping")
    assert new.headers["MCP-Protocol-Version"] == "2025-06-18"
    assert "MCP-Protocol-Version" not in old.headers


def test_ids_are_unique_and_never_null() -> None:
    """Request ids count up within a session."""
    session = opened("2025-11-25")
    ids = [json.loads(session.request("ping")[1].body)["id"] for _ in range(5)]
    assert len(set(ids)) == 5 and None not in ids


def test_unoffered_version_is_a_negotiation_error_naming_both() -> None:
    """A server answering a revision we did not offer names both sides."""
    session = McpSession("/mcp", {"name": "t", "version": "0"})
    result = {"protocolVersion": "2024-11-05", **CAPS}
    with pytest.raises(NegotiationError, match="2024-11-05.*2025-11-25"):
        session.accept_initialize(result, {}, ("2025-06-18", "2025-11-25"))


def test_initialize_result_without_version_is_a_violation() -> None:
    """An initialize result must say which revision the server picked."""
    session = McpSession("/mcp", {"name": "t", "version": "0"})
    with pytest.raises(ProtocolViolation):
        session.accept_initialize(CAPS, {}, ("2025-11-25",))


def sessionless() -> McpSession:
    session = McpSession("/mcp", {"name": "t", "version": "0"})
    _, request = session.discover_request("2026-07-28")
    assert request.headers["Mcp-Method"] == "server/discover"
    result = {"supportedVersions": ["2026-07-28"], **CAPS}
    session.accept_discover(result, "2026-07-28")
    return session


def test_sessionless_request_carries_envelope_and_headers() -> None:
    """2026-07-28 requests carry _meta, Mcp-Method and Mcp-Name."""
    session = sessionless()
    _, request = session.request("tools/call", {"name": "echo", "arguments": {}})
    body = json.loads(request.body)
    meta = body["params"]["_meta"]
    assert meta[META_PROTOCOL_VERSION] == "2026-07-28"
    assert META_CLIENT_CAPABILITIES in meta
    assert request.headers["Mcp-Method"] == "tools/call"
    assert request.headers["Mcp-Name"] == "echo"
    assert request.headers["MCP-Protocol-Version"] == "2026-07-28"
    assert "Mcp-Session-Id" not in request.headers


def test_sessionless_resource_read_names_the_uri() -> None:
    """resources/read mirrors its uri into Mcp-Name."""
    _, request = sessionless().request("resources/read", {"uri": "demo://readme"})
    assert request.headers["Mcp-Name"] == "demo://readme"


def test_sessionless_keeps_callers_meta_and_params_untouched() -> None:
    """The envelope merges into existing _meta without changing the caller's dict."""
    params = {"name": "echo", "_meta": {"progressToken": 1}}
    _, request = sessionless().request("tools/call", params)
    meta = json.loads(request.body)["params"]["_meta"]
    assert meta["progressToken"] == 1 and META_PROTOCOL_VERSION in meta
    assert params == {"name": "echo", "_meta": {"progressToken": 1}}


def test_sessionless_has_no_delete() -> None:
    """There is no session to delete under 2026-07-28."""
    assert sessionless().delete() is None


def test_discover_without_our_revision_is_a_negotiation_error() -> None:
    """A discover result that lacks our revision names what the server offered."""
    session = McpSession("/mcp", {"name": "t", "version": "0"})
    session.discover_request("2026-07-28")
    with pytest.raises(NegotiationError, match="2099-01-01"):
        session.accept_discover(
            {"supportedVersions": ["2099-01-01"], **CAPS}, "2026-07-28"
        )


def test_forget_drops_session_headers() -> None:
    """After forget, requests carry no session id and the session is closed."""
    session = opened("2025-11-25")
    session.forget()
    assert not session.is_open
    assert "Mcp-Session-Id" not in session.notification("x").headers
