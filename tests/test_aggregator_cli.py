"""``mcp-loadgen aggregator`` and ``mcp-loadgen keys`` as commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadgen.aggregator.cli import main
from loadgen.aggregator.security import Endpoint
from loadgen.aggregator.sender import ReportSender
from loadgen.aggregator.testing import interval_record

REPO = Path(__file__).resolve().parents[1]


def test_keys_command_writes_two_key_pairs(tmp_path: Path) -> None:
    """keys DIR writes server and client key pairs, secrets readable by owner only."""
    assert main(["keys", str(tmp_path / "k")]) == 0
    names = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert names == [
        "client.key",
        "client.key_secret",
        "server.key",
        "server.key_secret",
    ]
    assert (tmp_path / "k" / "server.key_secret").stat().st_mode & 0o077 == 0


def test_non_loopback_bind_without_keys_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Binding 0.0.0.0 without keys or --insecure is a usage error that says why."""
    assert main(["aggregator", "--bind", "0.0.0.0:0", "--journal", ""]) == 2
    assert "CURVE keys" in capsys.readouterr().err


def test_bad_address_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An address that is not HOST:PORT names the option and the value."""
    assert main(["aggregator", "--bind", "no-port", "--journal", ""]) == 2
    assert "--bind" in capsys.readouterr().err


def test_standalone_prints_each_run_on_sigterm(tmp_path: Path) -> None:
    """On SIGTERM the standalone aggregator prints each run's table and exits 0."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "loadgen.aggregator", "aggregator"]
    command += ["--bind", f"127.0.0.1:{port}", "--journal", str(tmp_path / "j")]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        sender = ReportSender(
            Endpoint("127.0.0.1", port),
            run_id="cli-run",
            worker_id="w",
            report_interval_s=1.0,
        )
        sender.submit(interval_record({"ping": [1_000] * 3}), final=True)
        deadline = time.monotonic() + 20
        while sender.unacked and time.monotonic() < deadline:
            sender.pump(0.1)
        sender.close()
        assert not sender.unacked
        os.kill(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Run cli-run" in output
    assert "Aggregated" in output
