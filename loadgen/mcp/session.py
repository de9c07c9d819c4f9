"""The MCP session as pure state: which revision, which session id, which
capabilities, and the HTTP requests that follow from them.

Theory of operation. A handshake revision (2025-03-26 .. 2025-11-25) opens
with ``initialize``; the server may return an ``Mcp-Session-Id`` that every
later request carries, and from 2025-06-18 on every later request also
carries ``MCP-Protocol-Version``. The sessionless revision (2026-07-28) has
no initialize and no session: each request carries the envelope in
``params._meta`` and names its method (and, for named methods, the name) in
headers, and capabilities come from ``server/discover``.

Building a request is the hot path, so the headers that do not change
between requests are built once, when the session state changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadgen.mcp import jsonrpc, revisions
from loadgen.mcp.errors import NegotiationError, ProtocolViolation
from loadgen.transport.messages import HttpRequest

ACCEPT = "application/json, text/event-stream"
CLIENT_CAPABILITIES: dict[str, Any] = {}


class McpSession:
    """One client's view of one MCP session (or sessionless connection)."""

    def __init__(self, endpoint: str, client_info: Mapping[str, str]) -> None:
        self.endpoint = endpoint
        self.client_info = dict(client_info)
        self.revision: str | None = None
        self.session_id: str | None = None
        self.server_capabilities: dict[str, Any] = {}
        self.server_info: dict[str, Any] = {}
        self._next_id = 0
        self._headers: dict[str, str] = {}
        self._envelope: dict[str, Any] = {}
        self._reset_headers()

    @property
    def is_open(self) -> bool:
        return self.revision is not None

    @property
    def sessionless(self) -> bool:
        return self.revision is not None and revisions.is_sessionless(self.revision)

    def has_capability(self, name: str) -> bool:
        return name in self.server_capabilities

    # Building requests ---------------------------------------------------

    def request(
        self, method: str, params: dict[str, Any] | None = None
    ) -> tuple[int, HttpRequest]:
        """Build the next request; ids count up from 1 and are never reused."""
        self._next_id += 1
        request_id = self._next_id
        headers = self._headers
        if self._envelope:
            params, headers = self._sessionless_parts(method, params)
        body = jsonrpc.encode_request(request_id, method, params)
        return request_id, HttpRequest("POST", self.endpoint, headers, body)

    def notification(
        self, method: str, params: dict[str, Any] | None = None
    ) -> HttpRequest:
        body = jsonrpc.encode_notification(method, params)
        return HttpRequest("POST", self.endpoint, self._headers, body)

    def reply(self, message: bytes) -> HttpRequest:
        """Wrap our answer to a server-to-client request."""
        return HttpRequest("POST", self.endpoint, self._headers, message)

    def delete(self) -> HttpRequest | None:
        """The request that ends the session, or None when there is none."""
        if self.session_id is None:
            return None
        return HttpRequest("DELETE", self.endpoint, self._headers)

    def _sessionless_parts(
        self, method: str, params: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        params = dict(params) if params else {}
        meta = params.get("_meta")
        params["_meta"] = {**meta, **self._envelope} if meta else self._envelope
        headers = {**self._headers, "Mcp-Method": method}
        name_key = revisions.NAME_BEARING_PARAMS.get(method)
        if name_key is not None and name_key in params:
            headers["Mcp-Name"] = str(params[name_key])
        return params, headers

    # Opening: the handshake ----------------------------------------------

    def initialize_request(self, offered: str) -> tuple[int, HttpRequest]:
        params = {
            "protocolVersion": offered,
            "capabilities": CLIENT_CAPABILITIES,
            "clientInfo": self.client_info,
        }
        return self.request("initialize", params)

    def accept_initialize(
        self,
        result: Mapping[str, Any],
        headers: Mapping[str, str],
        acceptable: tuple[str, ...],
    ) -> None:
        """Take the server's initialize result, or raise NegotiationError."""
        version = result.get("protocolVersion")
        if not isinstance(version, str):
            raise ProtocolViolation("initialize result without protocolVersion")
        if version not in acceptable:
            raise NegotiationError(
                f"no common MCP revision: the server offered {version}; "
                f"this client offered {', '.join(acceptable)}"
            )
        self.revision = version
        self.session_id = headers.get("mcp-session-id") or None
        self._take_server_description(result)
        self._reset_headers()

    # Opening: sessionless discovery ---------------------------------------

    def discover_request(self, revision: str) -> tuple[int, HttpRequest]:
        """Build server/discover under a sessionless revision (not yet open)."""
        self._envelope = self._make_envelope(revision)
        self._headers = {**self._base_headers(), "MCP-Protocol-Version": revision}
        try:
            return self.request("server/discover")
        finally:
            self._reset_headers()

    def accept_discover(self, result: Mapping[str, Any], revision: str) -> None:
        supported = result.get("supportedVersions")
        if not isinstance(supported, list):
            raise ProtocolViolation("discover result without supportedVersions")
        if revision not in supported:
            offered = ", ".join(str(v) for v in supported) or "none"
            raise NegotiationError(
                f"no common MCP revision: the server offered {offered}; "
                f"this client offered {revision}"
            )
        self.revision = revision
        self.session_id = None
        self._take_server_description(result)
        meta = result.get("_meta")
        if isinstance(meta, dict) and not self.server_info:
            info = meta.get("io.modelcontextprotocol/serverInfo")
            self.server_info = info if isinstance(info, dict) else {}
        self._reset_headers()

    def forget(self) -> None:
        """Drop the session (expired or closed); the next request must reopen."""
        self.revision = None
        self.session_id = None
        self._reset_headers()

    # Internals -------------------------------------------------------------

    def _take_server_description(self, result: Mapping[str, Any]) -> None:
        capabilities = result.get("capabilities")
        if not isinstance(capabilities, dict):
            raise ProtocolViolation("result without capabilities")
        self.server_capabilities = capabilities
        info = result.get("serverInfo")
        self.server_info = info if isinstance(info, dict) else {}

    def _base_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Accept": ACCEPT}

    def _make_envelope(self, revision: str) -> dict[str, Any]:
        return {
            revisions.META_PROTOCOL_VERSION: revision,
            revisions.META_CLIENT_CAPABILITIES: CLIENT_CAPABILITIES,
            revisions.META_CLIENT_INFO: self.client_info,
        }

    def _reset_headers(self) -> None:
        headers = self._base_headers()
        revision = self.revision
        if self.session_id is not None:
            headers["Mcp-Session-Id"] = self.session_id
        if revision is not None and revisions.sends_version_header(revision):
            headers["MCP-Protocol-Version"] = revision
        self._headers = headers
        self._envelope = (
            self._make_envelope(revision)
            if revision is not None and revisions.is_sessionless(revision)
            else {}
        )
