"""The demo workload against the demo target's own catalogue and checks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import loadgen
from loadgen.target import catalog as target
from loadgen.workload import Catalog, WorkloadPlan, load_workload_file

DEMO_TOML = Path(loadgen.__file__).parent / "workloads" / "demo.toml"


@pytest.fixture
def plan() -> WorkloadPlan:
    spec = load_workload_file(DEMO_TOML)
    found = Catalog(
        capabilities={"tools": {}, "resources": {}, "prompts": {}},
        tools=target.TOOLS,
        resources=target.RESOURCES,
        prompts=target.PROMPTS,
    )
    return WorkloadPlan.build(spec, found, random.Random(1))


def test_demo_workload_never_calls_fail(plan: WorkloadPlan) -> None:
    """The always-failing tool is skipped, so a demo run has no tool errors."""
    assert all(entry.call.name != "tools/call fail" for entry in plan.entries)


def test_demo_tool_arguments_pass_the_target_checks(plan: WorkloadPlan) -> None:
    """Every tools/call argument set passes the target's own schema check."""
    schemas = {tool["name"]: tool["inputSchema"] for tool in target.TOOLS}
    for entry in plan.entries:
        if entry.call.method == "tools/call":
            params = entry.call.params
            target.check_arguments(schemas[params["name"]], params["arguments"])


def test_demo_resource_and_prompt_calls_succeed(plan: WorkloadPlan) -> None:
    """Each resources/read and prompts/get in the plan gets an answer."""
    for entry in plan.entries:
        params = entry.call.params
        if entry.call.method == "resources/read":
            assert target.read_resource(params["uri"])
        elif entry.call.method == "prompts/get":
            assert target.get_prompt(params["name"], params["arguments"])


def test_demo_workload_reads_both_resources(plan: WorkloadPlan) -> None:
    """Both demo resources are read."""
    names = {entry.call.name for entry in plan.entries}
    assert {"resources/read demo://readme", "resources/read demo://config"} <= names


def test_demo_sleeps_stay_within_a_few_milliseconds(plan: WorkloadPlan) -> None:
    """sleep is only sent with 1 to 5 ms."""
    sleeps = [
        entry.call.params["arguments"]["ms"]
        for entry in plan.entries
        if entry.call.name == "tools/call sleep"
    ]
    assert sorted(sleeps) == [1, 2, 3, 4, 5]


def test_demo_workload_uses_every_method(plan: WorkloadPlan) -> None:
    """The demo sends ping, the three lists and the three call methods."""
    methods = {entry.call.method for entry in plan.entries}
    assert methods == {
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
    }
