"""Workload plans: what a spec becomes against a discovered catalogue."""

from __future__ import annotations

import collections
import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.errors import ConfigError
from loadgen.workload import (
    Call,
    Catalog,
    ItemSpec,
    Pick,
    SectionSpec,
    WorkloadPlan,
    WorkloadSpec,
)
from loadgen.workload.plan import alias_table

ALL_CAPABILITIES: dict[str, Any] = {"tools": {}, "resources": {}, "prompts": {}}

TOOLS = [
    {
        "name": "echo",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    },
    {
        "name": "sleep",
        "inputSchema": {
            "type": "object",
            "properties": {"ms": {"type": "integer", "minimum": 5, "maximum": 9}},
            "required": ["ms"],
        },
    },
    {"name": "fail", "inputSchema": {"type": "object"}},
]
RESOURCES = [{"uri": "demo://readme", "name": "readme"}]
PROMPTS = [
    {
        "name": "greet",
        "arguments": [
            {"name": "name", "required": True},
            {"name": "style", "required": False},
        ],
    },
    {"name": "hello"},
]


def catalog(**changes: Any) -> Catalog:
    fields: dict[str, Any] = {
        "capabilities": ALL_CAPABILITIES,
        "tools": TOOLS,
        "resources": RESOURCES,
        "prompts": PROMPTS,
    }
    fields.update(changes)
    return Catalog(**fields)


def build(
    spec: WorkloadSpec, found: Catalog | None = None, seed: int = 7
) -> WorkloadPlan:
    return WorkloadPlan.build(spec, found or catalog(), random.Random(seed))


def calls_by_name(plan: WorkloadPlan) -> dict[str, Call]:
    return {entry.call.name: entry.call for entry in plan.entries}


def shares_by_name(plan: WorkloadPlan) -> dict[str, float]:
    shares: dict[str, float] = collections.defaultdict(float)
    for entry in plan.entries:
        shares[entry.call.name] += entry.share
    return dict(shares)


def draw_counts(plan: WorkloadPlan, draws: int) -> collections.Counter[str]:
    return collections.Counter(plan.next_call().name for _ in range(draws))


# What the plan holds ---------------------------------------------------------


def test_request_names_follow_the_method_and_item() -> None:
    """Calls are named ping, tools/call NAME, resources/read URI, and so on."""
    plan = build(WorkloadSpec())
    assert set(calls_by_name(plan)) == {
        "ping",
        "tools/list",
        "tools/call echo",
        "tools/call sleep",
        "tools/call fail",
        "resources/list",
        "resources/read demo://readme",
        "prompts/list",
        "prompts/get greet",
        "prompts/get hello",
    }


def test_plain_methods_send_empty_params() -> None:
    """ping and the lists carry no params."""
    calls = calls_by_name(build(WorkloadSpec()))
    for name in ("ping", "tools/list", "resources/list", "prompts/list"):
        assert calls[name] == Call(name, {}, name)


def test_tool_call_params_carry_name_and_arguments() -> None:
    """tools/call params are the tool name and its arguments."""
    call = calls_by_name(build(WorkloadSpec()))["tools/call echo"]
    assert call.method == "tools/call"
    assert call.params == {"name": "echo", "arguments": {"text": "example"}}


def test_resource_read_params_carry_the_uri() -> None:
    """resources/read params are the URI."""
    call = calls_by_name(build(WorkloadSpec()))["resources/read demo://readme"]
    assert call.params == {"uri": "demo://readme"}


def test_prompt_gets_its_required_arguments_only() -> None:
    """A prompt's required arguments are filled in; optional ones are not."""
    call = calls_by_name(build(WorkloadSpec()))["prompts/get greet"]
    assert call.params == {"name": "greet", "arguments": {"name": "example"}}


def test_prompt_without_arguments_sends_none() -> None:
    """A prompt with no arguments gets no arguments key."""
    call = calls_by_name(build(WorkloadSpec()))["prompts/get hello"]
    assert call.params == {"name": "hello"}


def test_given_arguments_replace_synthesized_ones() -> None:
    """Argument sets from the spec are sent as given."""
    spec = WorkloadSpec(
        tools=SectionSpec(items={"sleep": ItemSpec(arguments=({"ms": 6},))})
    )
    call = calls_by_name(build(spec))["tools/call sleep"]
    assert call.params["arguments"] == {"ms": 6}


def test_synthesized_arguments_satisfy_the_schema() -> None:
    """A tool without given arguments gets schema-valid ones."""
    call = calls_by_name(build(WorkloadSpec()))["tools/call sleep"]
    assert 5 <= call.params["arguments"]["ms"] <= 9


def test_plan_copies_given_arguments() -> None:
    """Changing the spec's argument dict later does not change the plan."""
    arguments = {"text": "before"}
    spec = WorkloadSpec(
        tools=SectionSpec(items={"echo": ItemSpec(arguments=(arguments,))})
    )
    plan = build(spec)
    arguments["text"] = "after"
    assert calls_by_name(plan)["tools/call echo"].params["arguments"] == {
        "text": "before"
    }


def test_duplicate_listed_tool_is_planned_once() -> None:
    """A tool the server lists twice is one entry."""
    plan = build(WorkloadSpec(weights={"tools/call": 1}), catalog(tools=TOOLS + TOOLS))
    assert len(plan.entries) == len(TOOLS)


def test_describe_lists_each_request_name_with_its_share() -> None:
    """describe() gives one line per request name, largest share first."""
    spec = WorkloadSpec(weights={"ping": 3, "tools/list": 1})
    assert build(spec).describe().splitlines() == [
        " 75.00%  ping",
        " 25.00%  tools/list",
    ]


# Weights ---------------------------------------------------------------------


def test_item_weights_split_the_method_share() -> None:
    """Within tools/call, item weights divide the method's weight."""
    spec = WorkloadSpec(
        weights={"ping": 1, "tools/call": 3},
        tools=SectionSpec(skip=("fail",), items={"echo": ItemSpec(weight=2)}),
    )
    shares = shares_by_name(build(spec))
    assert shares["ping"] == pytest.approx(0.25)
    assert shares["tools/call echo"] == pytest.approx(0.5)
    assert shares["tools/call sleep"] == pytest.approx(0.25)


def test_method_share_does_not_depend_on_how_many_tools_are_listed() -> None:
    """Listing more tools spreads tools/call thinner but keeps its share."""
    spec = WorkloadSpec(weights={"ping": 1, "tools/call": 1})
    many = [{"name": f"t{i}", "inputSchema": {"type": "object"}} for i in range(40)]
    shares = shares_by_name(build(spec, catalog(tools=many)))
    assert shares["ping"] == pytest.approx(0.5)
    assert sum(v for k, v in shares.items() if k.startswith("tools/call")) == (
        pytest.approx(0.5)
    )


def test_skipped_tool_is_never_planned() -> None:
    """A tool in skip has no entry."""
    spec = WorkloadSpec(tools=SectionSpec(skip=("fail",)))
    assert "tools/call fail" not in calls_by_name(build(spec))


def test_default_weight_zero_keeps_only_named_tools() -> None:
    """With default_weight 0 only the tools the spec names are called."""
    spec = WorkloadSpec(
        weights={"tools/call": 1},
        tools=SectionSpec(default_weight=0, items={"echo": ItemSpec(weight=1)}),
    )
    assert set(calls_by_name(build(spec))) == {"tools/call echo"}


def test_weighted_draws_match_the_shares() -> None:
    """Over many seeded draws each call's frequency is within 5 sigma of its share."""
    spec = WorkloadSpec(
        weights={"ping": 1, "tools/call": 6, "resources/read": 2, "prompts/get": 1},
        tools=SectionSpec(skip=("fail",), items={"echo": ItemSpec(weight=5)}),
    )
    plan = build(spec, seed=2024)
    draws = 200_000
    counts = draw_counts(plan, draws)
    for name, share in shares_by_name(plan).items():
        sigma = math.sqrt(draws * share * (1 - share))
        assert abs(counts[name] - draws * share) < 5 * sigma, name


def test_same_seed_draws_the_same_sequence() -> None:
    """Two plans built with equal seeds draw equal call sequences."""
    first, second = build(WorkloadSpec(), seed=11), build(WorkloadSpec(), seed=11)
    assert [first.next_call() for _ in range(500)] == [
        second.next_call() for _ in range(500)
    ]


@given(st.lists(st.floats(min_value=0.001, max_value=1000), min_size=1, max_size=60))
def test_alias_table_gives_every_weight_its_exact_share(weights: list[float]) -> None:
    """The alias table's implied probability of each index is its weight share."""
    probability, alias = alias_table(weights)
    size, total = len(weights), sum(weights)
    implied = [p / size for p in probability]
    for column, target in enumerate(alias):
        implied[target] += (1 - probability[column]) / size
    for index, weight in enumerate(weights):
        assert implied[index] == pytest.approx(weight / total, abs=1e-9)


# Argument sets ---------------------------------------------------------------


def echo_spec(pick: Pick) -> WorkloadSpec:
    texts = ({"text": "a"}, {"text": "b"}, {"text": "c"})
    return WorkloadSpec(
        weights={"tools/call": 1},
        tools=SectionSpec(
            default_weight=0, items={"echo": ItemSpec(arguments=texts, pick=pick)}
        ),
    )


def test_round_robin_sends_argument_sets_in_turn() -> None:
    """round_robin walks the argument sets in order, then starts over."""
    plan = build(echo_spec(Pick.ROUND_ROBIN))
    texts = [plan.next_call().params["arguments"]["text"] for _ in range(7)]
    assert texts == ["a", "b", "c", "a", "b", "c", "a"]


def test_random_pick_draws_each_argument_set_about_equally() -> None:
    """random draws every argument set, each about a third of the time."""
    plan = build(echo_spec(Pick.RANDOM), seed=3)
    counts = collections.Counter(
        plan.next_call().params["arguments"]["text"] for _ in range(30_000)
    )
    assert set(counts) == {"a", "b", "c"}
    assert all(abs(count - 10_000) < 600 for count in counts.values())


def test_random_pick_is_not_in_order() -> None:
    """random does not simply cycle through the sets."""
    plan = build(echo_spec(Pick.RANDOM), seed=3)
    texts = [plan.next_call().params["arguments"]["text"] for _ in range(30)]
    assert texts != (["a", "b", "c"] * 10)


def test_section_pick_applies_to_items_without_their_own() -> None:
    """An item with no pick of its own follows the section's."""
    texts = ({"text": "a"}, {"text": "b"})
    spec = WorkloadSpec(
        weights={"tools/call": 1},
        tools=SectionSpec(
            default_weight=0,
            pick=Pick.RANDOM,
            items={"echo": ItemSpec(arguments=texts)},
        ),
    )
    plan = build(spec, seed=5)
    texts_drawn = [plan.next_call().params["arguments"]["text"] for _ in range(40)]
    assert texts_drawn != ["a", "b"] * 20


# Capabilities ----------------------------------------------------------------


def test_method_without_capability_is_not_called() -> None:
    """Only negotiated capabilities are used: no resources, no resources calls."""
    found = catalog(capabilities={"tools": {}, "prompts": {}})
    names = set(calls_by_name(build(WorkloadSpec(), found)))
    assert not any(name.startswith("resources/") for name in names)
    assert "tools/call echo" in names


def test_dropped_method_is_explained() -> None:
    """A weighted method left out for a missing capability gets a reason."""
    found = catalog(capabilities={"tools": {}})
    plan = build(WorkloadSpec(), found)
    assert (
        "resources/read: the server did not announce the resources capability"
        in plan.dropped
    )


def test_items_listed_without_capability_are_ignored() -> None:
    """Listed prompts do not count when the prompts capability is absent."""
    found = catalog(capabilities={"tools": {}})
    names = set(calls_by_name(build(WorkloadSpec(), found)))
    assert not any(name.startswith("prompts/") for name in names)


def test_ping_needs_no_capability() -> None:
    """ping is sent even to a server that announced nothing."""
    plan = build(WorkloadSpec(), catalog(capabilities={}))
    assert set(calls_by_name(plan)) == {"ping"}


def test_method_the_revision_removed_is_not_called() -> None:
    """Under the sessionless revision ping is gone, so it is not sent."""
    plan = build(WorkloadSpec(), catalog(revision="2026-07-28"))
    assert "ping" not in calls_by_name(plan)
    assert "ping: revision 2026-07-28 removed it" in plan.dropped


def test_handshake_revision_keeps_ping() -> None:
    """Under a handshake revision ping stays in the plan."""
    plan = build(WorkloadSpec(), catalog(revision="2025-11-25"))
    assert "ping" in calls_by_name(plan)


def test_method_with_nothing_listed_is_dropped_with_a_reason() -> None:
    """tools/call with no tools listed is dropped and explained."""
    plan = build(WorkloadSpec(), catalog(tools=[]))
    assert "tools/call: the server listed no tools" in plan.dropped
    assert "tools/list" in calls_by_name(plan)


def test_all_tools_skipped_is_dropped_with_a_reason() -> None:
    """tools/call with every tool skipped is dropped and explained."""
    spec = WorkloadSpec(tools=SectionSpec(default_weight=0))
    plan = build(spec)
    assert "tools/call: all 3 listed tools are skipped or weighted 0" in plan.dropped


# Refusals --------------------------------------------------------------------


def test_named_tool_the_server_did_not_list_is_refused() -> None:
    """A spec naming an unlisted tool fails and shows what was listed."""
    spec = WorkloadSpec(tools=SectionSpec(items={"ecoh": ItemSpec(weight=1)}))
    with pytest.raises(ConfigError) as caught:
        build(spec)
    assert caught.value.field == "tools.ecoh"
    assert "(it listed: echo, fail, sleep)" in caught.value.rule


def test_named_tool_is_not_checked_without_the_capability() -> None:
    """An unlisted named tool is fine when tools are not negotiated at all."""
    spec = WorkloadSpec(tools=SectionSpec(items={"ecoh": ItemSpec(weight=1)}))
    plan = build(spec, catalog(capabilities={"resources": {}}))
    assert "ping" in calls_by_name(plan)


def test_plan_with_nothing_to_call_is_refused() -> None:
    """No callable method: the message says what was asked and what was found."""
    spec = WorkloadSpec(weights={"tools/call": 1, "resources/read": 1}, source="w.toml")
    with pytest.raises(ConfigError) as caught:
        build(spec, catalog(capabilities={"tools": {}}, tools=[]))
    message = str(caught.value)
    assert message.startswith("w.toml: weights: nothing to call")
    assert "tools/call = 1, resources/read = 1" in message
    assert "announced capabilities: tools" in message
    assert "listed 0 tools, 1 resources, 2 prompts" in message
    assert "the server listed no tools" in message


def test_unsatisfiable_tool_schema_names_the_tool_and_path() -> None:
    """A tool whose schema no value satisfies fails the build, naming both."""
    broken = {
        "name": "broken",
        "inputSchema": {
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}},
            "required": ["n"],
        },
    }
    with pytest.raises(ConfigError) as caught:
        build(WorkloadSpec(source="w.toml"), catalog(tools=[broken]))
    assert caught.value.source == "tool 'broken' inputSchema"
    assert caught.value.field == "#/properties/n"
    assert "give tools.broken.arguments in w.toml" in caught.value.rule
    assert "add 'broken' to tools.skip" in caught.value.rule
