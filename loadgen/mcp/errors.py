"""Protocol violations: the target broke MCP, JSON-RPC or SSE framing."""

from __future__ import annotations


class ProtocolViolation(Exception):
    """The target sent something the protocol does not allow.

    ``reason`` is short and stable (it becomes part of an outcome label and
    so a row in Locust's failures table); ``detail`` may vary per response
    and is for logs only.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class NegotiationError(Exception):
    """Client and server share no protocol revision.

    The message names what each side offered, so the user can tell whether
    to pin ``--mcp-protocol`` or upgrade the server.
    """
