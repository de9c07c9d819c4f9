"""Flags of ``mcp-loadgen target``: parsing, and errors that name the flag."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from loadgen.errors import ConfigError
from loadgen.target.cli import add_target_arguments, build_handler, write_ready_file
from loadgen.target.responses import ResponseMode
from loadgen.target.server import check_loopback


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    return parser.parse_args(argv)


def test_flags_build_the_described_handler() -> None:
    """Mode, page size, path and fault knobs reach the handler."""
    args = parse(
        "--response-mode=sse",
        "--page-size=2",
        "--path=/rpc",
        "--latency=uniform:1ms:10ms",
        "--error-rate=0.01",
        "--error-status=502",
        "--jsonrpc-error-rate=0.02",
        "--stall-every=5s",
        "--stall-for=1s",
        "--session-ttl=30s",
        "--seed=3",
    )
    handler = build_handler(args)
    settings = handler.faults.settings
    assert handler.response_mode is ResponseMode.SSE
    assert (handler.page_size, handler.path) == (2, "/rpc")
    assert settings.latency.text == "uniform:1ms:10ms"
    assert (settings.error_rate, settings.error_status) == (0.01, 502)
    assert (settings.stall_every_s, settings.stall_for_s) == (5.0, 1.0)
    assert settings.session_ttl_s == 30.0


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--latency", "gauss:5ms"),
        ("--error-rate", "1.5"),
        ("--error-status", "200"),
        ("--jsonrpc-error-rate", "-1"),
        ("--stall-every", "soon"),
        ("--stall-for", "2s"),
        ("--session-ttl", "0s"),
        ("--page-size", "0"),
        ("--path", "mcp"),
    ],
)
def test_bad_flag_values_name_the_flag(flag: str, value: str) -> None:
    """Each bad value is a ConfigError whose message names its flag."""
    args = parse(f"{flag}={value}")
    with pytest.raises(ConfigError) as caught:
        build_handler(args)
    assert flag in str(caught.value)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    """Binding beyond loopback needs --allow-non-loopback."""
    with pytest.raises(ConfigError) as caught:
        check_loopback(host, allow_non_loopback=False)
    assert "--allow-non-loopback" in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_allowed(host: str) -> None:
    """Loopback addresses bind without the extra flag."""
    check_loopback(host, allow_non_loopback=False)


def test_allow_flag_lifts_the_loopback_rule() -> None:
    """With the explicit flag any address passes the check."""
    check_loopback("0.0.0.0", allow_non_loopback=True)


def test_ready_file_holds_the_port(tmp_path: Path) -> None:
    """The ready file holds the port and a newline, written whole."""
    path = tmp_path / "ready"
    write_ready_file(path, 4321)
    assert path.read_text() == "4321\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ready"]
