"""A plain Locust FastHttpUser posting tools/call echo (benchmark variant
``fasthttp``): the baseline for McpUser's cost per request.

It sends what an MCP client sends for the same call: it opens a session with
initialize in on_start and then posts the same JSON-RPC body with the same
headers, session id included, so the target serves both users the same way.
It checks the HTTP status only, as a hand-written Locust user would.
"""

from __future__ import annotations

import json
from typing import Any

from echo_call import (
    BASE_HEADERS,
    ECHO_ARGUMENTS,
    ENDPOINT,
    PROTOCOL_REVISION,
    REQUEST_NAME,
)
from locust import FastHttpUser, constant, task


def _encode(message: dict[str, Any]) -> str:
    # Compact separators, as the MCP client encodes: same body, same bytes
    # (geventhttpclient sends a str body as UTF-8).
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class PlainFastHttpUser(FastHttpUser):
    """tools/call echo through FastHttpSession, no MCP client code."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self._next_id = 0
        self._headers = dict(BASE_HEADERS)
        self._open_session()

    def on_stop(self) -> None:
        self.client.delete(ENDPOINT, headers=self._headers, name="session/delete")

    @task
    def call_echo(self) -> None:
        params = {"name": "echo", "arguments": ECHO_ARGUMENTS}
        body = self._request("tools/call", params)
        self.client.post(ENDPOINT, data=body, headers=self._headers, name=REQUEST_NAME)

    def _open_session(self) -> None:
        params = {
            "protocolVersion": PROTOCOL_REVISION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-loadgen", "version": "0.1.0"},
        }
        body = self._request("initialize", params)
        response = self.client.post(
            ENDPOINT, data=body, headers=self._headers, name="initialize"
        )

        # Later requests carry the session, as the 2025-11-25 transport says.
        received = response.headers
        session_id = received.get("mcp-session-id") if received else None
        if isinstance(session_id, str):
            self._headers["Mcp-Session-Id"] = session_id
        self._headers["MCP-Protocol-Version"] = PROTOCOL_REVISION

        notice = _encode({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.client.post(
            ENDPOINT,
            data=notice,
            headers=self._headers,
            name="notifications/initialized",
        )

    def _request(self, method: str, params: dict[str, Any]) -> str:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        return _encode({**message, "params": params})
