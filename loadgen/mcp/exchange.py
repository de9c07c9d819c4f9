"""Read one HTTP response to one JSON-RPC request: JSON body or SSE stream.

Pure: the response's chunks may block (a gevent socket underneath), but
nothing here knows. Server notifications before the answer are counted;
server requests are answered through ``reply`` (ping with an empty result,
anything else with -32601, since this client offers no capabilities that
would let a server ask for more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loadgen.mcp import jsonrpc
from loadgen.mcp.errors import ProtocolViolation
from loadgen.mcp.jsonrpc import Message, MessageKind
from loadgen.mcp.outcomes import OK, Outcome, OutcomeClass
from loadgen.mcp.sse import SseParser
from loadgen.transport.messages import HttpResponse

Reply = Callable[[bytes], None]


@dataclass(slots=True)
class ExchangeResult:
    """What one exchange produced; ``result`` is set on a result response."""

    outcome: Outcome
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    response_bytes: int = 0
    notifications: int = 0
    server_requests: int = 0


def read_exchange(
    request_id: int, response: HttpResponse, reply: Reply
) -> ExchangeResult:
    """Classify the response to request ``request_id``.

    Raises ProtocolViolation for the target's protocol mistakes; transport
    errors from the chunks propagate unchanged.
    """
    status = response.status
    if status != 200:
        return ExchangeResult(Outcome(OutcomeClass.HTTP_STATUS, str(status)))
    content_type = _media_type(response.headers.get("content-type", ""))
    if content_type == "application/json":
        return _read_json(request_id, response)
    if content_type == "text/event-stream":
        return _read_sse(request_id, response, reply)
    raise ProtocolViolation("wrong content type", content_type or "none")


def _media_type(header: str) -> str:
    return header.partition(";")[0].strip().lower()


def _read_json(request_id: int, response: HttpResponse) -> ExchangeResult:
    body = response.body()
    message = jsonrpc.decode_message(body)
    if message.kind is not MessageKind.RESPONSE:
        raise ProtocolViolation("expected a response", message.kind.value)
    result = _answer(request_id, message)
    result.response_bytes = len(body)
    return result


def _read_sse(request_id: int, response: HttpResponse, reply: Reply) -> ExchangeResult:
    parser = SseParser()
    size = notifications = server_requests = 0
    for chunk in response.iter_chunks():
        size += len(chunk)
        for event in parser.feed(chunk):
            message = jsonrpc.decode_message(event.data)
            if message.kind is MessageKind.RESPONSE:
                result = _answer(request_id, message)
                result.response_bytes = size
                result.notifications = notifications
                result.server_requests = server_requests
                return result
            if message.kind is MessageKind.NOTIFICATION:
                notifications += 1
            else:
                server_requests += 1
                reply(_answer_server_request(message))
    parser.close()
    raise ProtocolViolation("stream ended without response")


def _answer(request_id: int, message: Message) -> ExchangeResult:
    if message.id != request_id or isinstance(message.id, bool):
        raise ProtocolViolation("id mismatch", f"sent {request_id}, got {message.id!r}")
    error = message.body.get("error")
    if error is not None:
        code = str(error["code"])
        return ExchangeResult(Outcome(OutcomeClass.JSONRPC_ERROR, code), error=error)
    return ExchangeResult(OK, result=message.body["result"])


def _answer_server_request(message: Message) -> bytes:
    if message.method == "ping":
        return jsonrpc.encode_result(message.id, {})
    text = f"method not supported by this client: {message.method}"
    return jsonrpc.encode_error(message.id, jsonrpc.METHOD_NOT_FOUND, text)
