"""mcp-loadgen: a distributed load generator for MCP servers, built on Locust.

Data flow, one folder a step:

    users.py -> client.py -> mcp/ (pure protocol core) -> transport/ -> target
    recording/ -> wire -> aggregator/ -> sla/ -> reports
"""

__version__ = "0.1.0"
