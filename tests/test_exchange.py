"""Reading one response: JSON or SSE, and each way a target can get it wrong."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.mcp.errors import ProtocolViolation
from loadgen.mcp.exchange import read_exchange
from loadgen.mcp.jsonrpc import MessageKind, decode_message, encode_request
from loadgen.mcp.outcomes import OutcomeClass
from loadgen.transport.messages import HttpResponse

JSON = {"content-type": "application/json"}
SSE = {"content-type": "text/event-stream"}


def response(status: int, headers: dict[str, str], *chunks: bytes) -> HttpResponse:
    return HttpResponse(status, headers, list(chunks))


def result_body(request_id: int, result: dict) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode()


def sse_event(message: dict) -> bytes:
    return b"event: message\ndata: " + json.dumps(message).encode() + b"\n\n"


def no_reply(message: bytes) -> None:
    raise AssertionError("no reply expected")


def test_json_result_is_ok() -> None:
    """A JSON response with the matching id and a result is ok."""
    got = read_exchange(3, response(200, JSON, result_body(3, {"a": 1})), no_reply)
    assert got.outcome.ok and got.result == {"a": 1}


def test_json_error_is_counted_by_code() -> None:
    """A JSON-RPC error response is an outcome with its code, not an exception."""
    body = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}'
    got = read_exchange(1, response(200, JSON, body), no_reply)
    assert got.outcome.cls is OutcomeClass.JSONRPC_ERROR
    assert got.outcome.label == "jsonrpc_error -32601"


@pytest.mark.parametrize("status", [301, 400, 404, 500, 503])
def test_non_200_status_is_http_status_outcome(status: int) -> None:
    """Any status but 200 for a request is counted by its code."""
    got = read_exchange(1, response(status, JSON, b"{}"), no_reply)
    assert got.outcome.label == f"http_status {status}"


def test_202_for_a_request_is_a_status_outcome() -> None:
    """202 Accepted carries no answer to a request."""
    got = read_exchange(1, response(202, {}), no_reply)
    assert got.outcome.label == "http_status 202"


def test_wrong_content_type_is_a_violation() -> None:
    """A 200 response that is neither JSON nor SSE breaks the transport rules."""
    with pytest.raises(ProtocolViolation, match="wrong content type"):
        read_exchange(1, response(200, {"content-type": "text/html"}, b"<p>"), no_reply)


def test_content_type_parameters_are_ignored() -> None:
    """application/json; charset=utf-8 is JSON."""
    headers = {"content-type": "application/json; charset=utf-8"}
    got = read_exchange(1, response(200, headers, result_body(1, {})), no_reply)
    assert got.outcome.ok


def test_malformed_json_is_a_violation() -> None:
    """A body that is not JSON raises our protocol error."""
    with pytest.raises(ProtocolViolation, match="malformed json"):
        read_exchange(1, response(200, JSON, b"{not json"), no_reply)


def test_id_mismatch_is_a_violation() -> None:
    """A response to another id is the target's mistake."""
    with pytest.raises(ProtocolViolation, match="id mismatch"):
        read_exchange(1, response(200, JSON, result_body(2, {})), no_reply)


def test_missing_result_is_a_violation() -> None:
    """A response with neither result nor error breaks JSON-RPC."""
    with pytest.raises(ProtocolViolation, match="missing result"):
        read_exchange(1, response(200, JSON, b'{"jsonrpc":"2.0","id":1}'), no_reply)


def test_batch_response_is_a_violation() -> None:
    """We never send batches, so a batch answer is a violation."""
    with pytest.raises(ProtocolViolation, match="batch"):
        read_exchange(1, response(200, JSON, b"[]"), no_reply)


def test_sse_skips_notifications_and_stops_at_matching_response() -> None:
    """Progress and logging notifications come first; the response ends it."""
    stream = (
        b": priming\nid: 0\n\n"
        + sse_event({"jsonrpc": "2.0", "method": "notifications/progress",
                     "params": {"progress": 1}})
        + sse_event({"jsonrpc": "2.0", "method": "notifications/message",
                     "params": {"level": "info", "data": "x"}})
        + sse_event({"jsonrpc": "2.0", "id": 5, "result": {"ok": True}})
        + b"data: never read\n\n"
    )  # fmt: skip
    chunks = [stream[i : i + 1] for i in range(len(stream))]
    got = read_exchange(5, response(200, SSE, *chunks), no_reply)
    assert got.outcome.ok and got.result == {"ok": True}
    assert got.notifications == 2


def test_sse_server_request_is_answered_method_not_found() -> None:
    """A server-to-client request we do not support gets -32601."""
    replies: list[bytes] = []
    stream = sse_event(
        {"jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage"}
    ) + sse_event({"jsonrpc": "2.0", "id": 9, "result": {}})
    got = read_exchange(9, response(200, SSE, stream), replies.append)
    assert got.outcome.ok and got.server_requests == 1
    answer = decode_message(replies[0])
    assert answer.kind is MessageKind.RESPONSE
    assert answer.body["id"] == "s1"
    assert answer.body["error"]["code"] == -32601


def test_sse_server_ping_is_answered_with_empty_result() -> None:
    """A server ping gets an empty result, since every peer must answer ping."""
    replies: list[bytes] = []
    stream = sse_event({"jsonrpc": "2.0", "id": 1, "method": "ping"}) + sse_event(
        {"jsonrpc": "2.0", "id": 2, "result": {}}
    )
    read_exchange(2, response(200, SSE, stream), replies.append)
    assert decode_message(replies[0]).body == {"jsonrpc": "2.0", "id": 1, "result": {}}


def test_sse_stream_ending_without_response_is_a_violation() -> None:
    """A stream that closes before answering breaks the protocol."""
    stream = sse_event({"jsonrpc": "2.0", "method": "notifications/progress"})
    with pytest.raises(ProtocolViolation, match="without response"):
        read_exchange(1, response(200, SSE, stream), no_reply)


def test_sse_with_malformed_data_is_a_violation() -> None:
    """An event whose data is not JSON raises our protocol error."""
    with pytest.raises(ProtocolViolation, match="malformed json"):
        read_exchange(1, response(200, SSE, b"data: {oops\n\n"), no_reply)


def test_encoded_request_round_trips() -> None:
    """encode_request output decodes to the same request."""
    message = decode_message(encode_request(4, "tools/call", {"name": "echo"}))
    assert message.kind is MessageKind.REQUEST
    assert message.body == {
        "jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "echo"}
    }  # fmt: skip


@given(st.binary(max_size=200))
def test_any_json_body_is_answered_or_rejected_with_our_error(body: bytes) -> None:
    """Arbitrary bodies produce an outcome or a ProtocolViolation, nothing else."""
    with contextlib.suppress(ProtocolViolation):
        read_exchange(1, response(200, JSON, body), no_reply)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["jsonrpc", "id", "result", "error", "method", "code"]),
                inner,
                max_size=4,
            )
        ),
        max_leaves=8,
    )
)
def test_any_json_value_is_answered_or_rejected(value: object) -> None:
    """Any JSON value as a body gives an outcome or our protocol error."""
    body = json.dumps(value).encode()
    with contextlib.suppress(ProtocolViolation):
        read_exchange(1, response(200, JSON, body), no_reply)
