"""McpUser calling the echo tool as fast as it can (benchmark variant ``mcp``).

Run by ``bench/bench_user_cost.py`` with ``--mcp-protocol 2025-11-25``.
"""

from echo_call import ECHO_ARGUMENTS
from locust import constant

from loadgen.users import McpUser
from loadgen.workload import ItemSpec, SectionSpec, WorkloadSpec


class McpToolsUser(McpUser):
    """Only tools/call echo, with no wait: every CPU cycle goes to requests."""

    wait_time = constant(0)
    workload = WorkloadSpec(
        weights={"tools/call": 1},
        tools=SectionSpec(
            default_weight=0,
            items={"echo": ItemSpec(weight=1, arguments=(ECHO_ARGUMENTS,))},
        ),
    )
