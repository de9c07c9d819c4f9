"""``mcp-loadgen target``: run the demo MCP server until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import tempfile
from pathlib import Path
from typing import Final

import gevent

from loadgen.errors import ConfigError
from loadgen.target.faults import (
    FaultPlan,
    FaultSettings,
    Latency,
    parse_duration_s,
)
from loadgen.target.handler import McpTargetHandler
from loadgen.target.responses import ResponseMode
from loadgen.target.server import TargetServer, check_loopback

logger = logging.getLogger(__name__)

# FaultSettings names its fields; the user typed flags.
_FLAGS: Final = {
    "latency": "--latency",
    "error_rate": "--error-rate",
    "error_status": "--error-status",
    "jsonrpc_error_rate": "--jsonrpc-error-rate",
    "stall_every_s": "--stall-every",
    "stall_for_s": "--stall-for",
    "session_ttl_s": "--session-ttl",
}


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``target`` subcommand's flags."""
    _add_server_arguments(parser.add_argument_group("server"))
    _add_fault_arguments(parser.add_argument_group("faults"))


def _add_server_arguments(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    add("--port", type=int, default=0, help="port; 0 picks a free one (0)")
    add("--path", default="/mcp", help="MCP endpoint path (/mcp)")
    add(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding an address other than loopback",
    )
    add(
        "--response-mode",
        choices=[mode.value for mode in ResponseMode],
        default=ResponseMode.JSON.value,
        help="answer requests with one JSON body or an SSE stream (json)",
    )
    add("--page-size", type=int, default=None, help="paginate list methods")
    add("--ready-file", default=None, help="write the port here once listening")


def _add_fault_arguments(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add(
        "--latency",
        default="none",
        help="added latency: fixed:5ms, uniform:1ms:10ms, exp:5ms (none)",
    )
    add("--error-rate", type=float, default=0.0, help="share of HTTP errors")
    add("--error-status", type=int, default=503, help="their status (503)")
    add(
        "--jsonrpc-error-rate",
        type=float,
        default=0.0,
        help="share of requests answered with JSON-RPC -32603",
    )
    add("--stall-every", default="0", help="start a stall this often, e.g. 5s")
    add("--stall-for", default="0", help="how long each stall lasts, e.g. 1s")
    add("--session-ttl", default=None, help="expire sessions idle this long")
    add("--seed", type=int, default=None, help="seed of the faults' draws")


def fault_settings(args: argparse.Namespace) -> FaultSettings:
    """The fault knobs from the flags; a bad value names its flag."""
    try:
        return FaultSettings(
            latency=Latency.parse(args.latency, field="--latency"),
            error_rate=args.error_rate,
            error_status=args.error_status,
            jsonrpc_error_rate=args.jsonrpc_error_rate,
            stall_every_s=parse_duration_s(args.stall_every, field="--stall-every"),
            stall_for_s=parse_duration_s(args.stall_for, field="--stall-for"),
            session_ttl_s=_optional_duration(args.session_ttl, "--session-ttl"),
        )
    except ConfigError as exc:
        if exc.field not in _FLAGS:
            raise
        flag = _FLAGS[exc.field]
        raise ConfigError(exc.rule, field=flag, value=exc.value) from exc


def _optional_duration(text: str | None, flag: str) -> float | None:
    return None if text is None else parse_duration_s(text, field=flag)


def build_handler(args: argparse.Namespace) -> McpTargetHandler:
    """The handler the flags describe, waiting with ``gevent.sleep``."""
    if not args.path.startswith("/") or args.path.startswith("/admin/"):
        raise ConfigError(
            "must start with / and not lie under /admin/",
            field="--path",
            value=args.path,
        )
    if args.page_size is not None and args.page_size < 1:
        raise ConfigError(
            "must be at least 1", field="--page-size", value=args.page_size
        )
    faults = FaultPlan(fault_settings(args), seed=args.seed)
    return McpTargetHandler(
        path=args.path,
        response_mode=ResponseMode(args.response_mode),
        page_size=args.page_size,
        faults=faults,
        sleep=gevent.sleep,
    )


def run_target(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; return the exit code."""
    check_loopback(args.host, allow_non_loopback=args.allow_non_loopback)
    if not 0 <= args.port <= 65535:
        raise ConfigError("must be a port, 0..65535", field="--port", value=args.port)
    handler = build_handler(args)
    server = TargetServer(
        handler, args.host, args.port, allow_non_loopback=args.allow_non_loopback
    )
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen there: {exc.strerror or exc}",
            field="--port",
            value=f"{args.host}:{args.port}",
        ) from exc
    # The ready file first: a parent that reads the log line may rely on it.
    if args.ready_file:
        write_ready_file(Path(args.ready_file), server.port)
    logger.info(
        "MCP target listening on http://%s:%s%s (%s responses)",
        server.url_host,
        server.port,
        args.path,
        handler.response_mode.value,
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, server.stop)
    server.serve_forever()
    logger.info("MCP target stopped")
    return 0


def write_ready_file(path: Path, port: int) -> None:
    """Write the port atomically, so a reader never sees half a number."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as file:
        file.write(f"{port}\n")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    """``python -m loadgen.target``: the subcommand on its own."""
    parser = argparse.ArgumentParser(
        prog="python -m loadgen.target", description=__doc__
    )
    add_target_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        return run_target(args)
    except ConfigError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
