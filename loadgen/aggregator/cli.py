"""``mcp-loadgen aggregator`` and ``mcp-loadgen keys``.

The standalone aggregator is for set-ups where the Locust master should not
merge results itself (many workers, or a master that restarts). Workers and
the master are pointed at it with ``--aggregator-address``; it keeps a
journal so that a restart loses no interval it acknowledged.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

import zmq

from loadgen.aggregator import wire
from loadgen.aggregator.security import (
    KEYS_ENV,
    check_bind_policy,
    create_keys,
    load_server_keys,
    parse_endpoint,
)
from loadgen.aggregator.server import AggregatorServer, ServerConfig
from loadgen.aggregator.table import format_percentile_table
from loadgen.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_BIND = "127.0.0.1:5558"
DEFAULT_JOURNAL = "mcp-loadgen-aggregator.journal"


def add_aggregator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        metavar="ADDRESS",
        help=f"HOST:PORT to listen on (default {DEFAULT_BIND}); a non-loopback "
        "host needs --keys or --insecure",
    )
    parser.add_argument(
        "--keys",
        metavar="DIR",
        default=None,
        help=f"CURVE key directory from `mcp-loadgen keys DIR` (or ${KEYS_ENV})",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback bind without encryption or authentication",
    )
    parser.add_argument(
        "--journal",
        metavar="PATH",
        default=DEFAULT_JOURNAL,
        help="file of accepted frames, replayed on start so a restart loses "
        f"nothing (default ./{DEFAULT_JOURNAL}; '' keeps frames in memory only)",
    )
    parser.add_argument(
        "--max-frame-bytes",
        type=int,
        default=wire.DEFAULT_MAX_FRAME_BYTES,
        help="largest frame accepted; larger ones are rejected and counted",
    )


def _server_config(args: argparse.Namespace) -> ServerConfig:
    import os

    endpoint = parse_endpoint(args.bind, field="--bind")
    keys_dir = args.keys or os.environ.get(KEYS_ENV) or None
    check_bind_policy(endpoint, keys_dir, args.insecure)
    if args.max_frame_bytes < 1024:
        raise ConfigError(
            "must be at least 1024",
            field="--max-frame-bytes",
            value=args.max_frame_bytes,
        )
    return ServerConfig(
        bind=endpoint,
        keys=load_server_keys(Path(keys_dir)) if keys_dir else None,
        max_frame_bytes=args.max_frame_bytes,
        journal_path=Path(args.journal) if args.journal else None,
        accept_any_run=True,
    )


def run_aggregator(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM, then print each run's table."""
    server = AggregatorServer(_server_config(args))
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        logger.info("Aggregator got signal %s, stopping", signum)
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        server.serve_until(lambda: stopping)
    except zmq.ZMQError as exc:
        # The network's (or another process's): the address is taken or absent.
        print(
            f"mcp-loadgen aggregator: cannot listen on {args.bind}: {exc}",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        # The journal's disk: full, read-only, or gone.
        print(f"mcp-loadgen aggregator: journal {args.journal}: {exc}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _print_runs(server)
        server.close()
    return 0


def _print_runs(server: AggregatorServer) -> None:
    for run_id in server.run_ids():
        aggregator = server.aggregator(run_id)
        if aggregator is None:
            continue
        sys.stdout.write(f"\nRun {run_id}\n")
        sys.stdout.write(format_percentile_table(aggregator.snapshot()))
    sys.stdout.flush()


def add_keys_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", help="directory to write keys into")


def run_keys(args: argparse.Namespace) -> int:
    """Create a server and a client CURVE key pair in DIR."""
    for path in create_keys(Path(args.directory)):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m loadgen.aggregator {aggregator,keys} ...`` (same as mcp-loadgen)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(prog="python -m loadgen.aggregator")
    commands = parser.add_subparsers(dest="command", required=True)
    add_aggregator_arguments(commands.add_parser("aggregator", help="serve results"))
    add_keys_arguments(commands.add_parser("keys", help="create CURVE keys"))
    args = parser.parse_args(argv)
    try:
        return run_aggregator(args) if args.command == "aggregator" else run_keys(args)
    except ConfigError as exc:
        print(f"mcp-loadgen {args.command}: {exc}", file=sys.stderr)
        return 2
