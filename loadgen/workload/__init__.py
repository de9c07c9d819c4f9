"""The workload: what each simulated MCP user calls, how often, with what.

Three steps, one module each:

    spec.py / loader.py   WorkloadSpec, from Python or a TOML/YAML file
    plan.py               WorkloadPlan.build(spec, catalog, rng), once per user
                          plan.next_call() -> Call, per request
    schema_args.py        valid tool arguments from inputSchema, at build
"""

from loadgen.workload.loader import load_workload_file, parse_workload
from loadgen.workload.plan import Call, Catalog, PlanEntry, WorkloadPlan
from loadgen.workload.schema_args import synthesize_arguments
from loadgen.workload.spec import (
    DEFAULT_WEIGHTS,
    METHODS,
    ItemSpec,
    Pick,
    SectionSpec,
    WorkloadSpec,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "METHODS",
    "Call",
    "Catalog",
    "ItemSpec",
    "Pick",
    "PlanEntry",
    "SectionSpec",
    "WorkloadPlan",
    "WorkloadSpec",
    "load_workload_file",
    "parse_workload",
    "synthesize_arguments",
]
