"""A plain Locust HttpUser posting tools/call echo (benchmark variant ``httpuser``).

The same session and body as ``plain_fasthttp.py``, through Locust's
requests-based HttpUser instead of geventhttpclient: what a hand-written
Locust test most often looks like. It checks the HTTP status only.
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
from locust import HttpUser, constant, task


def _encode(message: dict[str, Any]) -> str:
    # Compact separators, as the MCP client encodes: the same bytes.
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class PlainHttpUser(HttpUser):
    """tools/call echo through Locust's HttpSession, no MCP client code."""

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
        session_id = response.headers.get("mcp-session-id")
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
