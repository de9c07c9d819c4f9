"""The real server on loopback, in a subprocess, spoken to with http.client."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client

HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}
START_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Start ``python -m loadgen.target`` on a free port; stop it afterwards."""
    ready = tmp_path_factory.mktemp("target") / "ready"
    argv = [sys.executable, "-m", "loadgen.target", "--port=0"]
    argv += ["--response-mode=sse", f"--ready-file={ready}"]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        yield wait_until_listening(process, ready)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def wait_until_listening(process: subprocess.Popen[str], ready: Path) -> int:
    """Block on the start log line (the ready file is written before it)."""
    assert process.stderr is not None
    readable, _, _ = select.select([process.stderr], [], [], START_TIMEOUT_S)
    line = process.stderr.readline() if readable else ""
    assert "listening on http://127.0.0.1:" in line, line
    os.set_blocking(process.stderr.fileno(), False)
    return int(ready.read_text())


def exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> http.client.HTTPResponse:
    data = None if body is None else json.dumps(body).encode()
    connection.request(method, path, body=data, headers=headers or {})
    return connection.getresponse()


def sse_data(raw: bytes) -> list[dict[str, Any]]:
    lines = raw.decode().splitlines()
    return [json.loads(line[6:]) for line in lines if line.startswith("data: ")]


def test_real_server_serves_a_session_and_reports_stats(port: int) -> None:
    """initialize, a tool call over SSE on one keep-alive connection, stats."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    before = read_stats(connection)
    params = {"protocolVersion": "2025-11-25", "capabilities": {}}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    response = exchange(connection, "POST", "/mcp", init, HEADERS)
    session_id = response.getheader("Mcp-Session-Id")
    assert response.status == 200 and session_id
    assert sse_data(response.read())[0]["result"]["protocolVersion"] == "2025-11-25"

    headers = {**HEADERS, "Mcp-Session-Id": session_id}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call"}
    call["params"] = {"name": "echo", "arguments": {"text": "over the wire"}}
    response = exchange(connection, "POST", "/mcp", call, headers)
    assert response.getheader("Transfer-Encoding") == "chunked"
    [message] = sse_data(response.read())
    assert message["result"]["content"][0]["text"] == "over the wire"

    after = read_stats(connection)
    assert counted(after, before, "initialize", "tools/call") == [1, 1]
    connection.close()


def read_stats(connection: http.client.HTTPConnection) -> dict[str, Any]:
    stats: dict[str, Any] = json.loads(
        exchange(connection, "GET", "/admin/stats").read()
    )
    return stats


def counted(after: dict[str, Any], before: dict[str, Any], *methods: str) -> list[int]:
    """How many requests of each method the server counted in between."""
    now, then = after["by_method"], before["by_method"]
    return [now.get(method, 0) - then.get(method, 0) for method in methods]


def test_admin_faults_change_the_running_server(port: int) -> None:
    """POST /admin/faults turns on injected 503s; setting 0 turns them off."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    exchange(connection, "POST", "/admin/faults", {"error_rate": 1}).read()
    failed = exchange(connection, "POST", "/mcp", {}, HEADERS)
    failed.read()
    exchange(connection, "POST", "/admin/faults", {"error_rate": 0}).read()
    # The same empty object, now read by the handler: not a JSON-RPC message.
    refused = exchange(connection, "POST", "/mcp", {}, HEADERS)
    refused.read()
    assert (failed.status, refused.status) == (503, 400)
    connection.close()


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_official_sdk_client_talks_to_the_target(port: int, mode: str) -> None:
    """The MCP SDK's client lists, calls and reads, by handshake or sessionless."""

    async def session() -> tuple[list[str], str, bool]:
        async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
            tools = await client.list_tools()
            echoed = await client.call_tool("echo", {"text": "sdk"})
            failed = await client.call_tool("fail", {"message": "x"})
            await client.read_resource("demo://config")
            text = echoed.content[0].text  # type: ignore[union-attr]
            return [tool.name for tool in tools.tools], text, failed.is_error

    names, text, failed = anyio.run(session)
    assert names == ["echo", "add", "sleep", "fail", "progress"]
    assert (text, failed) == ("sdk", True)
