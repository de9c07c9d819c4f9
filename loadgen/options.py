"""The MCP options every locustfile with McpUser gets, on the command line,
in the web UI and in config files (Locust's custom arguments).

Importing this module also brings in the results path (the HDR recorder and
the aggregator: ``loadgen.locust_plugin``) and the SLA options
(``sla.locust_hooks``), so a locustfile needs nothing but McpUser.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser

import loadgen.locust_plugin  # noqa: F401  (registers the results path)
import loadgen.pacing.locust_glue  # noqa: F401  (registers --arrival-rate)
import sla.locust_hooks  # noqa: F401  (registers --sla and the reports)
from loadgen.client import PROTOCOL_CHOICES
from loadgen.errors import EXIT_CONFIG_ERROR, ConfigError
from loadgen.workload import WorkloadSpec, load_workload_file

logger = logging.getLogger(__name__)


@events.init_command_line_parser.add_listener
def add_mcp_arguments(parser: LocustArgumentParser) -> None:
    # Added to the parser itself, not to a group: Locust's web UI shows only
    # the custom options added directly.
    parser.add_argument(
        "--mcp-protocol",
        choices=PROTOCOL_CHOICES,
        default="auto",
        help="MCP revision: auto (newest the server accepts) or one to force",
    )
    parser.add_argument(
        "--mcp-path",
        default="/mcp",
        help="Endpoint path, used when the host URL has no path (default /mcp)",
    )
    parser.add_argument(
        "--mcp-timeout",
        type=float,
        default=30.0,
        help="Seconds to wait on the network for one MCP request",
    )
    parser.add_argument(
        "--workload",
        default="",
        help="Workload file (TOML or YAML): weights per method and arguments",
    )
    parser.add_argument(
        "--tool-errors",
        choices=("fail", "ok"),
        default="fail",
        help="Whether a tool result with isError: true fails the request",
    )


@events.init.add_listener
def check_mcp_options(environment: Any, **_kwargs: Any) -> None:
    """Fail fast, with exit code 2, on a bad host URL or workload file."""
    try:
        if environment.host:
            endpoint_for(environment.host, option(environment, "mcp_path", "/mcp"))
        path = option(environment, "workload", "")
        if path:
            load_workload(path)
    except ConfigError as exc:
        logger.error("%s", exc)
        sys.exit(EXIT_CONFIG_ERROR)


@functools.cache
def load_workload(path: str) -> WorkloadSpec:
    """Load a workload file once per process, however many users read it."""
    return load_workload_file(path)


def endpoint_for(host_url: str, default_path: str) -> str:
    """The endpoint path: the host URL's own path, else the --mcp-path."""
    from loadgen.transport.gevent_http import parse_base_url

    _, _, _, path = parse_base_url(host_url)
    path = path if path not in ("", "/") else default_path
    if not path.startswith("/"):
        raise ConfigError("must start with /", field="--mcp-path", value=path)
    return path


def option(environment: Any, name: str, default: Any) -> Any:
    """An option's value, or its default when Locust parsed no options
    (a user created by a test through the library API)."""
    parsed = getattr(environment, "parsed_options", None)
    return getattr(parsed, name, default) if parsed is not None else default
