"""End to end against the official MCP Python SDK server, on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import free_port, run_locust, running

pytestmark = pytest.mark.slow


def sdk_server(*flags: str):  # noqa: ANN201
    port = free_port()
    command = [sys.executable, "-m", "tests.peers.sdk_server", str(port), *flags]
    return running(command, port)


@pytest.mark.parametrize(
    ("server_flags", "protocol"),
    [
        ((), "auto"),
        ((), "2025-11-25"),
        ((), "2025-03-26"),
        (("--stateless", "--json"), "auto"),
        (("--stateless", "--json"), "2025-06-18"),
        ((), "2026-07-28"),
    ],
)
def test_mix_runs_without_failures(
    tmp_path: Path, server_flags: tuple[str, ...], protocol: str
) -> None:
    """A short mcp_mix run against the SDK server has requests and no failures."""
    with sdk_server(*server_flags) as url:
        run = run_locust(url, tmp_path, "--mcp-protocol", protocol, run_time="3s")
    assert run.rows, run.output
    assert run.failures() == 0, run.output
    assert run.count() > 50, run.output
    assert run.exit_code == 0, run.output
    opener = "server/discover" if protocol in ("auto", "2026-07-28") else "initialize"
    assert opener in run.rows
    assert any(name.startswith("tools/call ") for name in run.rows)
