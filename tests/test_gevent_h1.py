"""GeventH1Transport on loopback: the demo target, and small scripted servers
for what the demo target does not do (close idle connections, go silent,
send garbage, ask the client something mid-stream)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import gevent
import pytest
from gevent import socket as gsocket
from gevent.server import StreamServer

from loadgen.client import CallRecord, McpClient
from loadgen.errors import ConfigError
from loadgen.mcp.errors import ProtocolViolation
from loadgen.transport.gevent_h1 import GeventH1Transport
from loadgen.transport.messages import HttpRequest, TransportError, TransportErrorKind
from tests.support import demo_target, free_port

ECHO = {"name": "echo", "arguments": {"text": "hi"}}
POST = HttpRequest("POST", "/mcp", {"Content-Type": "application/json"}, b"{}")
OK_JSON = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)


@pytest.fixture(scope="module")
def json_target() -> Iterator[str]:
    with demo_target("--response-mode", "json") as url:
        yield url


@pytest.fixture(scope="module")
def sse_target() -> Iterator[str]:
    with demo_target("--response-mode", "sse") as url:
        yield url


def client_for(url: str, protocol: str) -> tuple[McpClient, list[CallRecord]]:
    records: list[CallRecord] = []
    transport = GeventH1Transport(url, timeout_s=5.0, connect_timeout_s=2.0)
    return McpClient(transport, records.append, protocol=protocol), records


# Against the demo target -----------------------------------------------------


@pytest.mark.parametrize("mode", ["json", "sse"])
@pytest.mark.parametrize("revision", ["2025-03-26", "2025-11-25", "2026-07-28"])
def test_lifecycle_against_the_demo_target(
    mode: str, revision: str, request: pytest.FixtureRequest
) -> None:
    """Open, list, call and close a session; every exchange is ok."""
    url = request.getfixturevalue(f"{mode}_target")
    client, records = client_for(url, revision)
    assert client.open()
    tools = client.list_all("tools/list", "tools")
    assert any(tool["name"] == "echo" for tool in tools)
    record = client.call("tools/call", ECHO, "echo")
    assert record.result is not None
    assert record.result["content"][0]["text"] == "hi"
    client.close()
    client.transport.close()
    assert records and all(r.outcome.ok for r in records), records


def test_sse_stream_with_progress_notifications(sse_target: str) -> None:
    """A stream of notifications before the answer is read to the answer."""
    client, _ = client_for(sse_target, "2025-11-25")
    assert client.open()
    params = {"name": "progress", "arguments": {"steps": 5}, "_meta": {}}
    params["_meta"] = {"progressToken": "t"}
    record = client.call("tools/call", params, "progress")
    assert record.outcome.ok, record
    assert record.result is not None
    assert record.result["content"][0]["text"] == "done in 5 steps"
    client.close()


def test_keep_alive_reuses_one_connection(json_target: str) -> None:
    """Sequential requests travel on the same connection."""
    client, records = client_for(json_target, "2025-11-25")
    assert client.open()
    transport = client.transport
    assert isinstance(transport, GeventH1Transport)
    first = transport._idle[-1]
    for _ in range(20):
        client.call("tools/call", ECHO, "echo")
    assert transport._idle == [first]
    assert all(r.outcome.ok for r in records)


def test_refused_port_is_a_refused_transport_error() -> None:
    """Nothing listening: TransportError kind refused."""
    transport = GeventH1Transport(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransportError) as caught:
        transport.send(POST)
    assert caught.value.kind is TransportErrorKind.REFUSED


def test_https_is_left_to_the_other_driver() -> None:
    """An https URL is a configuration error for this transport."""
    with pytest.raises(ConfigError, match="plain http"):
        GeventH1Transport("https://127.0.0.1:8443")


# Scripted servers ------------------------------------------------------------

Handler = Callable[[gsocket.socket, "Server"], None]


class Server:
    """A loopback server running ``handler`` per connection; counts what
    arrives, so tests can tell a request sent once from one sent twice."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[bytes] = []
        self.connections = 0
        self._handler = handler
        self._server = StreamServer(("127.0.0.1", 0), self._handle)

    def __enter__(self) -> Server:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(timeout=1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def _handle(self, sock: gsocket.socket, _address: object) -> None:
        self.connections += 1
        self._handler(sock, self)

    def read_request(self, sock: gsocket.socket) -> bytes | None:
        """One whole request (head and Content-Length body), or None at EOF."""
        data = b""
        for _ in range(1000):  # bounded: a test request is a few reads
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split()[0])
                if len(body) >= length:
                    self.requests.append(data)
                    return data
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        raise AssertionError("request never ended")


def answer_once_then_close(sock: gsocket.socket, server: Server) -> None:
    """Answer one request keep-alive, then close as an idle timeout would."""
    if server.read_request(sock) is not None:
        sock.sendall(OK_JSON)
    sock.close()


def test_idle_connection_closed_by_the_server_is_replaced() -> None:
    """A pooled connection the server closed is not used; no request is lost."""
    with Server(answer_once_then_close) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        for _ in range(3):
            response = transport.send(POST)
            assert response.body() == b"{}"
            response.close()
            gevent.sleep(0.05)  # let the server's close arrive
        assert len(server.requests) == 3
        assert server.connections == 3


def test_close_after_the_request_is_not_retried() -> None:
    """A server that closes without answering: closed error, sent once."""

    def read_then_close(sock: gsocket.socket, srv: Server) -> None:
        srv.read_request(sock)
        sock.close()

    with Server(read_then_close) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        with pytest.raises(TransportError) as caught:
            transport.send(POST)
        assert caught.value.kind is TransportErrorKind.CLOSED
        assert len(server.requests) == 1


def test_connection_close_response_is_not_pooled() -> None:
    """Connection: close in the response ends the connection after it."""

    def answer_with_close(sock: gsocket.socket, srv: Server) -> None:
        while srv.read_request(sock) is not None:
            sock.sendall(OK_JSON.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))

    with Server(answer_with_close) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        for _ in range(2):
            response = transport.send(POST)
            assert response.body() == b"{}"
            response.close()
            assert transport._idle == []
        assert server.connections == 2


def test_silent_server_times_out() -> None:
    """No answer within timeout_s: TransportError kind timeout."""

    def silent(sock: gsocket.socket, srv: Server) -> None:
        srv.read_request(sock)
        gevent.sleep(2)

    with Server(silent) as server:
        transport = GeventH1Transport(server.url, timeout_s=0.2)
        with pytest.raises(TransportError) as caught:
            transport.send(POST)
        assert caught.value.kind is TransportErrorKind.TIMEOUT


def test_garbage_answer_is_a_protocol_violation() -> None:
    """A reply that is not HTTP is the target's fault: malformed http."""

    def garbage(sock: gsocket.socket, srv: Server) -> None:
        srv.read_request(sock)
        sock.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    with Server(garbage) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        with pytest.raises(ProtocolViolation) as caught:
            transport.send(POST)
        assert caught.value.reason == "malformed http"


def test_body_cut_short_is_a_closed_error() -> None:
    """The server closes inside a Content-Length body: closed error."""

    def short(sock: gsocket.socket, srv: Server) -> None:
        srv.read_request(sock)
        sock.sendall(OK_JSON[:-1])
        sock.close()

    with Server(short) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        response = transport.send(POST)
        with pytest.raises(TransportError) as caught:
            response.body()
        assert caught.value.kind is TransportErrorKind.CLOSED
        response.close()


def sse_with_server_request(sock: gsocket.socket, server: Server) -> None:
    """First connection: an SSE stream that pings the client and answers
    only after the ping's reply arrived; other connections: 202 Accepted."""
    first = server.connections == 1
    request = server.read_request(sock)
    if request is None:
        return
    if not first:
        sock.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        return
    request_id = json.loads(request.partition(b"\r\n\r\n")[2])["id"]
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    ping = b'data: {"jsonrpc":"2.0","id":"s1","method":"ping"}\n\n'
    sock.sendall(b"%x\r\n%s\r\n" % (len(ping), ping))
    for _ in range(100):  # bounded wait for the reply on the other connection
        if len(server.requests) >= 2:
            break
        gevent.sleep(0.01)
    answer = {
        "jsonrpc": "2.0",
        "id": request_id,
        "result": {"ok": len(server.requests)},
    }
    event = b"data: " + json.dumps(answer).encode() + b"\n\n"
    sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(event), event))


def test_reply_during_an_open_stream_uses_a_second_connection() -> None:
    """A reply sent while a stream is being read goes on its own connection."""
    with Server(sse_with_server_request) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        records: list[CallRecord] = []
        client = McpClient(transport, records.append, protocol="2026-07-28")
        record = client._exchange("ping-me", "tools/list", None)
        assert record.outcome.ok, record
        assert record.result == {"ok": 2}
        assert [r.name for r in records] == ["reply"]
        assert server.connections == 2
        assert len(transport._idle) == 2


def test_stream_left_open_after_the_answer_is_dropped() -> None:
    """A stream that goes on after the final response costs its connection."""

    def open_stream(sock: gsocket.socket, srv: Server) -> None:
        request = srv.read_request(sock)
        assert request is not None
        request_id = json.loads(request.partition(b"\r\n\r\n")[2])["id"]
        answer = {"jsonrpc": "2.0", "id": request_id, "result": {}}
        event = b"data: " + json.dumps(answer).encode() + b"\n\n"
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(event), event)
        )
        gevent.sleep(1)

    with Server(open_stream) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        client = McpClient(transport, lambda record: None)
        record = client._exchange("open", "tools/list", None)
        assert record.outcome.ok, record
        assert transport._idle == []


def test_factory_picks_the_driver_by_scheme() -> None:
    """http gets the lean driver, https geventhttpclient."""
    from loadgen.transport.factory import http_transport
    from loadgen.transport.gevent_http import GeventHttpTransport

    assert isinstance(http_transport("http://127.0.0.1:1"), GeventH1Transport)
    secure = http_transport("https://127.0.0.1:1")
    assert isinstance(secure, GeventHttpTransport)
    secure.close()
    with pytest.raises(ConfigError):
        http_transport("ftp://127.0.0.1:1")


def test_a_reader_that_stops_early_misses_no_bytes() -> None:
    """Pieces received together but not yet taken wait for the next read."""

    def two_chunks(sock: gsocket.socket, srv: Server) -> None:
        srv.read_request(sock)
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"1\r\na\r\n1\r\nb\r\n0\r\n\r\n"
        )

    with Server(two_chunks) as server:
        transport = GeventH1Transport(server.url, timeout_s=2.0)
        response = transport.send(POST)
        assert next(iter(response.iter_chunks())) == b"a"
        assert response.body() == b"b"
        response.close()
        assert len(transport._idle) == 1
