"""JSON-RPC 2.0 pieces the demo target needs: codes, errors, encoding.

The target keeps its own small copy of these rather than sharing the
client's module: a test peer that reuses the client's encoder would agree
with the client's bugs instead of exposing them.
"""

from __future__ import annotations

import json
from typing import Any, Final

# JSON-RPC 2.0, section 5.1.
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603

# MCP 2026-07-28, Streamable HTTP: routing headers (MCP-Protocol-Version,
# Mcp-Method, Mcp-Name) missing or disagreeing with the body. The official
# SDKs (Python mcp_types.jsonrpc, C#, Rust) all use -32020 and HTTP 400.
HEADER_MISMATCH: Final = -32020

# MCP 2026-07-28: the envelope names a revision the server does not serve.
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022

RequestId = str | int

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


class RpcError(Exception):
    """A JSON-RPC error to send back; raised inside method handlers."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def encode(message: dict[str, Any]) -> bytes:
    """Compact JSON on one line (SSE data lines must not hold a newline)."""
    return _encoder.encode(message).encode("ascii")


def result_message(request_id: RequestId, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: RequestId | None, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.as_error()}


def notification_message(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}
