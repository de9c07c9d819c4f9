"""A mixed MCP workload: every method the server offers, weighted.

Run it against any MCP server (Streamable HTTP):

    locust -f locustfiles/mcp_mix.py -H http://127.0.0.1:8000 \
        --headless -u 20 -r 10 -t 30s

Without --headless it opens Locust's web UI. --workload FILE (TOML or YAML)
replaces the weights below; --mcp-protocol forces a protocol revision.
"""

from locust import between

from loadgen.users import McpUser
from loadgen.workload import WorkloadSpec


class McpMix(McpUser):
    """Lists, reads and calls: what an agent session does, at a steady pace."""

    wait_time = between(0.01, 0.05)
    workload = WorkloadSpec()
