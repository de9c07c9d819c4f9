"""The demo MCP target: a small, fast MCP server to put under load.

``handler`` answers requests as a pure function (no sockets); ``faults``
decides injected latency, errors, stalls and session expiry; ``server`` is
the gevent driver; ``cli`` is ``mcp-loadgen target``.
"""

from loadgen.target.faults import FaultPlan, FaultSettings, Latency
from loadgen.target.handler import McpTargetHandler
from loadgen.target.responses import ResponseMode, TargetResponse
from loadgen.target.stats import TargetStats

__all__ = [
    "FaultPlan",
    "FaultSettings",
    "Latency",
    "McpTargetHandler",
    "ResponseMode",
    "TargetResponse",
    "TargetStats",
]
