"""JSON-RPC 2.0 framing for MCP: encode requests, decode and sort messages.

MCP forbids null ids and, since 2025-06-18, batches; we never send either,
and a batch received where one message belongs is a protocol violation.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from loadgen.mcp.errors import ProtocolViolation

# JSON-RPC 2.0 section 5.1 and MCP's use of them.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class MessageKind(enum.Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded JSON-RPC message and what kind it is."""

    kind: MessageKind
    body: dict[str, Any]

    @property
    def id(self) -> Any:
        return self.body.get("id")

    @property
    def method(self) -> str:
        return str(self.body.get("method", ""))


def encode_request(
    request_id: int, method: str, params: dict[str, Any] | None
) -> bytes:
    """Encode one request; params are left out when there are none."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return _dumps(message).encode()


def encode_notification(method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return _dumps(message).encode()


def encode_error(request_id: Any, code: int, text: str) -> bytes:
    """Encode an error response, e.g. to a server request we do not support."""
    error = {"code": code, "message": text}
    return _dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()


def encode_result(request_id: Any, result: dict[str, Any]) -> bytes:
    return _dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode()


def decode_message(raw: bytes | str) -> Message:
    """Decode one JSON-RPC message or raise ProtocolViolation."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProtocolViolation("malformed json", str(exc)[:80]) from exc
    if isinstance(body, list):
        raise ProtocolViolation("unexpected batch")
    if not isinstance(body, dict):
        raise ProtocolViolation("not a json-rpc object", type(body).__name__)
    if body.get("jsonrpc") != "2.0":
        raise ProtocolViolation("not json-rpc 2.0")
    return Message(_kind_of(body), body)


def _kind_of(body: dict[str, Any]) -> MessageKind:
    if "method" in body:
        if not isinstance(body["method"], str):
            raise ProtocolViolation("method is not a string")
        if "id" in body:
            return MessageKind.REQUEST
        return MessageKind.NOTIFICATION
    if "id" not in body:
        raise ProtocolViolation("response without id")
    has_result, has_error = "result" in body, "error" in body
    if has_result == has_error:
        reason = "response with result and error" if has_result else "missing result"
        raise ProtocolViolation(reason)
    if has_error:
        _check_error(body["error"])
    elif not isinstance(body["result"], dict):
        raise ProtocolViolation("result is not an object")
    return MessageKind.RESPONSE


def _check_error(error: Any) -> None:
    if not isinstance(error, dict):
        raise ProtocolViolation("error is not an object")
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ProtocolViolation("error code is not an integer")
