"""MCP load with circuit breakers and chaos experiments, judged by an SLA.

Against the demo target (server-side faults go through its admin endpoint):

    mcp-loadgen target --port 8000 &
    locust -f locustfiles/mcp_resilience.py -H http://127.0.0.1:8000 \
        --headless -u 20 -r 20 -t 30s \
        --chaos locustfiles/chaos_example.yaml \
        --sla locustfiles/resilience_sla.yaml --sla-report out/report.json

or all of it at once: `mcp-loadgen demo --scenario resilience`. Each user
has its own circuit breaker (`--breaker worker` shares one per process,
`metrics-only` never refuses, `off` removes it); the chaos file schedules
the experiments, and the report's `resilience` section says how fast the
breakers opened and how fast everything recovered (docs/resilience.md).
"""

from locust import between

import sla.locust_hooks  # noqa: F401  (--sla, --sla-report: the verdict)
from loadgen.users import McpUser
from loadgen.workload import WorkloadSpec
from resilience_probe.breaker import BreakerConfig


class ResilientMcpUser(McpUser):
    """An agent-like session whose breaker reacts within about a second."""

    wait_time = between(0.02, 0.06)
    workload = WorkloadSpec()
    # Used when the chaos file has no breaker section (it has one here).
    breaker_config = BreakerConfig(window_calls=20, minimum_calls=10)
