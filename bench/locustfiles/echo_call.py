"""The one MCP call both benchmark users send, so their bytes match.

``bench_user_cost.py`` compares McpUser with a plain FastHttpUser; the
comparison is only fair when both put the same request on the wire and the
target answers both the same way. Both locustfiles take their values here.
"""

import json
from typing import Any, Final

# The request name both users report, so one CSV row counts each variant.
REQUEST_NAME: Final = "tools/call echo"

ENDPOINT: Final = "/mcp"

# A handshake revision: both users open a session with initialize and send
# its Mcp-Session-Id (``auto`` would pick the sessionless revision, whose
# requests carry more headers and a larger body).
PROTOCOL_REVISION: Final = "2025-11-25"

# Short, like most tool arguments; the target echoes it back.
ECHO_TEXT: Final = "hello from the generator cost benchmark"

ECHO_ARGUMENTS: Final = {"text": ECHO_TEXT}

# The headers McpSession sends after initialize, plus the transport's
# User-Agent; the session headers are added once the session is open.
BASE_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "User-Agent": "mcp-loadgen",
}


def encode(message: dict[str, Any]) -> str:
    """Compact separators, as the MCP client encodes: same body, same bytes
    (both Locust clients send a str body as UTF-8)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class PlainEchoSession:
    """The MCP session and call of the plain users, for any Locust client.

    Mixed into FastHttpUser and HttpUser: both clients take the same
    ``post``/``delete`` arguments, so one body of code serves both and the
    two variants differ only in the client underneath. It checks the HTTP
    status only, as a hand-written Locust user would.
    """

    client: Any

    def on_start(self) -> None:
        self._next_id = 0
        self._headers = dict(BASE_HEADERS)
        self._open_session()

    def on_stop(self) -> None:
        self.client.delete(ENDPOINT, headers=self._headers, name="session/delete")

    def call_echo(self) -> None:
        params = {"name": "echo", "arguments": ECHO_ARGUMENTS}
        body = self._request("tools/call", params)
        self.client.post(ENDPOINT, data=body, headers=self._headers, name=REQUEST_NAME)

    # Named here, not with @task: Locust gathers decorated tasks only from a
    # User class's own body, but takes a base class's ``tasks`` list.
    tasks = [call_echo]

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

        notice = encode({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.client.post(
            ENDPOINT,
            data=notice,
            headers=self._headers,
            name="notifications/initialized",
        )

    def _request(self, method: str, params: dict[str, Any]) -> str:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        return encode({**message, "params": params})
