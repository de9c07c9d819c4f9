"""``mcp-loadgen demo --scenario resilience``: breakers and chaos, end to end.

About 30 s against the demo target with locustfiles/mcp_resilience.py and
locustfiles/chaos_example.yaml: a 5 s server outage (every request answered
with 503, switched through the target's admin endpoint), then a fifth of
the users misbehaving while the rest form the control group. The run is
judged by locustfiles/resilience_sla.yaml unless ``--sla`` names another;
the report's ``resilience`` section holds the experiments' metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from loadgen.errors import ConfigError

LOCUSTFILE: Final = "mcp_resilience.py"
CHAOS_FILE: Final = "chaos_example.yaml"
SLA_FILE: Final = "resilience_sla.yaml"
# The chaos file's last experiment ends at 24 s; six more seconds show the
# run after it.
RUN_TIME: Final = "30s"
USERS: Final = 20


def scenario_file(name: str) -> Path:
    """One of the scenario's files, from locustfiles/ (see find_locustfile)."""
    from loadgen.demo import find_locustfile

    path = find_locustfile(name)
    if not path.is_file():
        raise ConfigError(
            "the resilience scenario's file is missing from this install",
            field="--scenario",
            value=str(path),
        )
    return path


def apply_defaults(args: argparse.Namespace) -> list[str]:
    """Fill the demo's options for this scenario; return what Locust gets."""
    args.users = args.users or USERS
    args.run_time = args.run_time or RUN_TIME
    args.locustfile = args.locustfile or str(scenario_file(LOCUSTFILE))
    args.sla = args.sla or str(scenario_file(SLA_FILE))
    return ["--chaos", str(scenario_file(CHAOS_FILE))]
