"""Workload specs: reading TOML and YAML files, and refusing bad ones."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from loadgen.errors import ConfigError
from loadgen.workload import (
    DEFAULT_WEIGHTS,
    ItemSpec,
    Pick,
    SectionSpec,
    WorkloadSpec,
    load_workload_file,
    loader,
    parse_workload,
)

FULL_TOML = """
[weights]
ping = 1
"tools/list" = 2
"tools/call" = 3
"resources/list" = 4
"resources/read" = 5
"prompts/list" = 6
"prompts/get" = 7

[tools]
default_weight = 0.5
skip = ["fail"]
pick = "random"

[tools.echo]
weight = 5
arguments = [{ text = "hello" }, { text = "world" }]
pick = "round_robin"

[resources]
default_weight = 0

[resources."demo://readme"]
weight = 2

[prompts.greet]
arguments = [{ name = "Ada" }]
"""

FULL_YAML = """
weights:
  ping: 1
  tools/list: 2
  tools/call: 3
  resources/list: 4
  resources/read: 5
  prompts/list: 6
  prompts/get: 7
tools:
  default_weight: 0.5
  skip: [fail]
  pick: random
  echo:
    weight: 5
    arguments: [{text: hello}, {text: world}]
    pick: round_robin
resources:
  default_weight: 0
  "demo://readme":
    weight: 2
prompts:
  greet:
    arguments: [{name: Ada}]
"""


def write(tmp_path: Path, text: str, name: str = "w.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, name: str = "w.toml") -> WorkloadSpec:
    return load_workload_file(write(tmp_path, text, name))


def refusal(tmp_path: Path, text: str, name: str = "w.toml") -> ConfigError:
    path = write(tmp_path, text, name)
    with pytest.raises(ConfigError) as caught:
        load_workload_file(path)
    assert caught.value.source == str(path)
    return caught.value


# Parsing ---------------------------------------------------------------------


def test_weights_table_sets_every_method(tmp_path: Path) -> None:
    """Each method named in [weights] gets its weight."""
    spec = load_text(tmp_path, FULL_TOML)
    assert dict(spec.weights) == {
        "ping": 1,
        "tools/list": 2,
        "tools/call": 3,
        "resources/list": 4,
        "resources/read": 5,
        "prompts/list": 6,
        "prompts/get": 7,
    }


def test_method_not_named_in_weights_has_weight_zero(tmp_path: Path) -> None:
    """A [weights] table replaces the default mix: unnamed methods are off."""
    spec = load_text(tmp_path, '[weights]\nping = 1\n"tools/list" = 2\n')
    assert spec.weight_of("ping") == 1
    assert spec.weight_of("tools/call") == 0


def test_file_without_weights_uses_default_mix(tmp_path: Path) -> None:
    """Leaving [weights] out keeps the default method mix."""
    spec = load_text(tmp_path, "[tools]\nskip = ['fail']\n")
    assert dict(spec.weights) == dict(DEFAULT_WEIGHTS)


def test_python_spec_without_arguments_uses_default_mix() -> None:
    """WorkloadSpec() weights every method with the default mix."""
    assert dict(WorkloadSpec().weights) == dict(DEFAULT_WEIGHTS)


def test_section_settings_are_read(tmp_path: Path) -> None:
    """default_weight, skip and pick of a section are read."""
    tools = load_text(tmp_path, FULL_TOML).tools
    assert tools.default_weight == 0.5
    assert tools.skip == ("fail",)
    assert tools.pick == Pick.RANDOM


def test_item_fields_are_read(tmp_path: Path) -> None:
    """An item's weight, argument sets and pick are read."""
    echo = load_text(tmp_path, FULL_TOML).tools.items["echo"]
    assert echo == ItemSpec(
        weight=5,
        arguments=({"text": "hello"}, {"text": "world"}),
        pick=Pick.ROUND_ROBIN,
    )


def test_resource_item_is_keyed_by_quoted_uri(tmp_path: Path) -> None:
    """A resource is named by its URI, quoted as a TOML key."""
    resources = load_text(tmp_path, FULL_TOML).resources
    assert resources.items["demo://readme"].weight == 2
    assert resources.default_weight == 0


def test_prompt_arguments_are_read(tmp_path: Path) -> None:
    """A prompt's argument sets are read."""
    greet = load_text(tmp_path, FULL_TOML).prompts.items["greet"]
    assert greet.arguments == ({"name": "Ada"},)


def test_named_item_without_weight_has_weight_one(tmp_path: Path) -> None:
    """default_weight is for unnamed items; a named one defaults to 1."""
    text = '[weights]\n"tools/call" = 1\n[tools]\ndefault_weight = 3\n'
    text += "[tools.echo]\narguments = [{ text = 'x' }]\n"
    tools = load_text(tmp_path, text).tools
    assert tools.weight_of("echo") == 1
    assert tools.weight_of("add") == 3


def test_skipped_item_has_weight_zero(tmp_path: Path) -> None:
    """A name in skip has weight 0 whatever the default."""
    assert load_text(tmp_path, FULL_TOML).tools.weight_of("fail") == 0


def test_table_named_like_a_setting_is_an_item(tmp_path: Path) -> None:
    """A tool called skip is an item, since settings are never tables."""
    text = '[weights]\n"tools/call" = 1\n[tools.skip]\nweight = 2\n'
    spec = load_text(tmp_path, text)
    assert spec.tools.items["skip"].weight == 2
    assert spec.tools.skip == ()


def test_yaml_file_reads_like_the_toml_file(tmp_path: Path) -> None:
    """The same tree in YAML gives the same spec as in TOML."""
    from_toml = load_text(tmp_path, FULL_TOML)
    from_yaml = load_text(tmp_path, FULL_YAML, "w.yaml")
    assert from_yaml == from_toml


def test_yml_suffix_is_read_as_yaml(tmp_path: Path) -> None:
    """A .yml file is YAML too."""
    spec = load_text(tmp_path, "weights: {ping: 2}\n", "w.yml")
    assert dict(spec.weights) == {"ping": 2}


def test_empty_yaml_file_is_the_default_workload(tmp_path: Path) -> None:
    """An empty YAML file means the default mix."""
    assert load_text(tmp_path, "", "w.yaml") == WorkloadSpec()


def test_format_example_in_the_loader_docs_loads(tmp_path: Path) -> None:
    """The TOML example in loader.py's docstring is a valid workload."""
    doc = loader.__doc__ or ""
    example = textwrap.dedent(doc.split("::\n\n", 1)[1].split("\n\nInside", 1)[0])
    spec = load_text(tmp_path, example)
    assert spec.tools.items["echo"].weight == 5


def test_spec_remembers_its_file_for_messages(tmp_path: Path) -> None:
    """The spec's source is the file path."""
    path = write(tmp_path, "[weights]\nping = 1\n")
    assert load_workload_file(path).source == str(path)


def test_parse_workload_reads_a_python_dict() -> None:
    """A dict with the file's tree builds the same kind of spec."""
    spec = parse_workload({"weights": {"ping": 1}}, source="inline")
    assert dict(spec.weights) == {"ping": 1}
    assert spec.source == "inline"


def test_python_lists_become_tuples() -> None:
    """Lists given from Python are stored as tuples, so the spec is frozen."""
    spec = WorkloadSpec(
        tools=SectionSpec(
            skip=["fail"], items={"echo": ItemSpec(arguments=[{"text": "a"}])}
        )
    )
    assert spec.tools.skip == ("fail",)
    assert spec.tools.items["echo"].arguments == ({"text": "a"},)


def test_spec_is_frozen() -> None:
    """A spec cannot be changed after it is built."""
    spec = WorkloadSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.weights = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.weights["ping"] = 5  # type: ignore[index]


def test_discovery_names_catalogues_the_spec_calls_into() -> None:
    """discovery() lists only the catalogues whose call method is weighted."""
    spec = WorkloadSpec(weights={"tools/call": 1, "prompts/list": 1})
    assert spec.discovery() == frozenset({"tools"})


# Refusals --------------------------------------------------------------------


def test_message_names_file_field_rule_and_value(tmp_path: Path) -> None:
    """A refusal's text says where, which field, which rule, and the value."""
    path = write(tmp_path, '[weights]\n"tools/call" = 1\n[tools.echo]\nweight = -1\n')
    with pytest.raises(ConfigError) as caught:
        load_workload_file(path)
    assert str(caught.value) == (
        f"{path}: tools.echo.weight: must be a finite number at least 0 (got -1)"
    )


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    """A top-level key other than weights and the sections is an error."""
    error = refusal(tmp_path, "[wieghts]\nping = 1\n")
    assert error.value == "wieghts"
    assert "unknown key" in error.rule


def test_unknown_method_in_weights_is_refused(tmp_path: Path) -> None:
    """A method name the tool does not call is an error, not ignored."""
    error = refusal(tmp_path, '[weights]\n"tools/cal" = 1\n')
    assert error.field == "weights"
    assert error.value == "tools/cal"


def test_unknown_item_key_is_refused(tmp_path: Path) -> None:
    """A misspelt key inside an item is an error naming the item."""
    error = refusal(tmp_path, '[weights]\n"tools/call" = 1\n[tools.echo]\nwieght = 2\n')
    assert error.field == "tools.echo"
    assert error.value == "wieght"
    assert "weight, arguments, pick" in error.rule


def test_unknown_section_setting_is_refused(tmp_path: Path) -> None:
    """A scalar in a section that is not a setting is an error."""
    error = refusal(tmp_path, '[weights]\n"tools/call" = 1\n[tools]\ndefualt = 1\n')
    assert error.field == "tools"
    assert error.value == "defualt"


def test_resource_arguments_are_refused_in_a_file(tmp_path: Path) -> None:
    """Resources take no arguments, so the key is unknown there."""
    text = '[weights]\n"resources/read" = 1\n[resources."demo://readme"]\n'
    error = refusal(tmp_path, text + "arguments = [{ a = 1 }]\n")
    assert error.field == 'resources."demo://readme"'
    assert error.value == "arguments"


def test_resource_arguments_are_refused_from_python() -> None:
    """A Python-built spec may not give a resource arguments either."""
    with pytest.raises(ConfigError, match="resources/read takes no arguments"):
        WorkloadSpec(
            resources=SectionSpec(items={"demo://x": ItemSpec(arguments=({},))})
        )


def test_negative_default_weight_is_refused(tmp_path: Path) -> None:
    """default_weight below 0 is an error naming the section."""
    error = refusal(
        tmp_path, '[weights]\n"tools/call" = 1\n[tools]\ndefault_weight = -2\n'
    )
    assert error.field == "tools.default_weight"
    assert error.value == -2


def test_non_numeric_weight_is_refused(tmp_path: Path) -> None:
    """A weight given as a string is an error."""
    error = refusal(tmp_path, '[weights]\nping = "five"\n')
    assert error.field == "weights.ping"
    assert error.rule == "must be a number"
    assert error.value == "five"


def test_boolean_weight_is_refused(tmp_path: Path) -> None:
    """true is not a weight, although Python counts it as 1."""
    error = refusal(tmp_path, "weights:\n  ping: yes\n", "w.yaml")
    assert error.field == "weights.ping"
    assert error.value is True


def test_infinite_weight_is_refused(tmp_path: Path) -> None:
    """inf (which TOML allows) is not a weight."""
    error = refusal(tmp_path, "[weights]\nping = inf\n")
    assert error.field == "weights.ping"
    assert "finite" in error.rule


def test_all_weights_zero_is_refused(tmp_path: Path) -> None:
    """A mix that calls nothing is an error."""
    error = refusal(tmp_path, '[weights]\nping = 0\n"tools/list" = 0\n')
    assert error.field == "weights"
    assert "at least one method needs a weight above 0" in error.rule


def test_empty_weights_table_is_refused(tmp_path: Path) -> None:
    """An empty [weights] table names no method, so nothing would run."""
    error = refusal(tmp_path, "[weights]\n")
    assert "at least one method" in error.rule


def test_empty_argument_list_is_refused(tmp_path: Path) -> None:
    """arguments = [] is an error, not a silent fallback to synthesis."""
    error = refusal(
        tmp_path, '[weights]\n"tools/call" = 1\n[tools.echo]\narguments = []\n'
    )
    assert error.field == "tools.echo.arguments"
    assert "at least one argument table" in error.rule


def test_argument_set_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    """Each argument set must be a table."""
    text = '[weights]\n"tools/call" = 1\n[tools.echo]\narguments = ["hello"]\n'
    error = refusal(tmp_path, text)
    assert error.field == "tools.echo.arguments[0]"
    assert error.value == "hello"


def test_arguments_that_are_not_a_list_are_refused(tmp_path: Path) -> None:
    """arguments must be a list, even of one set."""
    text = '[weights]\n"tools/call" = 1\n[tools.echo]\narguments = { text = "a" }\n'
    error = refusal(tmp_path, text)
    # Inside an item a table is a value, never an item, so the list rule holds.
    assert error.field == "tools.echo.arguments"


def test_prompt_argument_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    """Prompt arguments are strings in MCP, so a number is an error."""
    text = '[weights]\n"prompts/get" = 1\n[prompts.greet]\narguments = [{ n = 1 }]\n'
    error = refusal(tmp_path, text)
    assert error.field == "prompts.greet.arguments[0].n"
    assert error.value == 1


def test_unquoted_toml_date_in_arguments_is_refused(tmp_path: Path) -> None:
    """A TOML date is not JSON; the message says to quote it."""
    text = (
        '[weights]\n"tools/call" = 1\n[tools.log]\narguments = [{ day = 2024-01-02 }]\n'
    )
    error = refusal(tmp_path, text)
    assert error.field == "tools.log.arguments[0].day"
    assert "quote dates" in error.rule


def test_nan_in_arguments_is_refused(tmp_path: Path) -> None:
    """NaN cannot be sent in JSON, so it is refused in arguments."""
    text = '[weights]\n"tools/call" = 1\n[tools.add]\narguments = [{ a = [1, nan] }]\n'
    error = refusal(tmp_path, text)
    assert error.field == "tools.add.arguments[0].a[1]"


def test_skip_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    """skip = "fail" (a string) is an error, not a list of letters."""
    error = refusal(tmp_path, '[weights]\n"tools/call" = 1\n[tools]\nskip = "fail"\n')
    assert error.field == "tools.skip"
    assert error.value == "fail"


def test_skip_entry_that_is_not_a_name_is_refused(tmp_path: Path) -> None:
    """Every skip entry must be a string."""
    error = refusal(tmp_path, '[weights]\n"tools/call" = 1\n[tools]\nskip = [3]\n')
    assert error.field == "tools.skip"
    assert error.value == 3


def test_item_both_skipped_and_configured_is_refused(tmp_path: Path) -> None:
    """Naming a tool in skip and giving it a table contradicts itself."""
    text = '[weights]\n"tools/call" = 1\n[tools]\nskip = ["echo"]\n[tools.echo]\n'
    error = refusal(tmp_path, text + "weight = 1\n")
    assert error.field == "tools.skip"
    assert "own [tools] entry" in error.rule


def test_unknown_pick_is_refused(tmp_path: Path) -> None:
    """pick must be round_robin or random."""
    error = refusal(
        tmp_path, '[weights]\n"tools/call" = 1\n[tools]\npick = "shuffle"\n'
    )
    assert error.field == "tools.pick"
    assert error.value == "shuffle"
    assert "'round_robin', 'random'" in error.rule


def test_section_for_unweighted_method_is_refused(tmp_path: Path) -> None:
    """A [tools] section with weights not naming tools/call would do nothing."""
    error = refusal(tmp_path, "[weights]\nping = 1\n[tools.echo]\nweight = 5\n")
    assert error.field == "tools"
    assert "does not name 'tools/call'" in error.rule


def test_section_for_method_weighted_zero_is_allowed(tmp_path: Path) -> None:
    """An explicit 0 turns the method off and keeps its section."""
    text = '[weights]\nping = 1\n"tools/call" = 0\n[tools.echo]\nweight = 5\n'
    assert load_text(tmp_path, text).weight_of("tools/call") == 0


def test_weights_that_are_not_a_table_are_refused(tmp_path: Path) -> None:
    """weights must be a table of method = weight."""
    error = refusal(tmp_path, "weights = 3\n")
    assert error.field == "weights"
    assert error.value == 3


def test_section_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    """tools must be a table."""
    error = refusal(tmp_path, 'tools = ["echo"]\n')
    assert error.field == "tools"


def test_yaml_top_level_list_is_refused(tmp_path: Path) -> None:
    """A YAML file whose top level is a list is an error."""
    error = refusal(tmp_path, "- ping\n", "w.yaml")
    assert "top level must be a table" in error.rule


def test_invalid_toml_is_refused(tmp_path: Path) -> None:
    """A TOML syntax error is a ConfigError naming the file."""
    error = refusal(tmp_path, "[weights\nping = 1\n")
    assert error.rule.startswith("not valid TOML")


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    """A YAML syntax error is a ConfigError naming the file."""
    error = refusal(tmp_path, "weights: [ping\n", "w.yaml")
    assert error.rule.startswith("not valid YAML")


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    """YAML would keep the last of two equal keys; we refuse both."""
    error = refusal(tmp_path, "weights:\n  ping: 1\n  ping: 2\n", "w.yaml")
    assert "found the key 'ping' twice" in error.rule


def test_missing_file_is_refused(tmp_path: Path) -> None:
    """A file that does not exist is a ConfigError, not an OSError."""
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_workload_file(tmp_path / "absent.toml")


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    """Only .toml, .yaml and .yml are read."""
    path = write(tmp_path, "{}", "w.json")
    with pytest.raises(ConfigError, match=r"must end in \.toml, \.yaml or \.yml"):
        load_workload_file(path)


def test_python_spec_errors_name_workloadspec() -> None:
    """A bad spec built in Python names WorkloadSpec as its source."""
    with pytest.raises(ConfigError) as caught:
        WorkloadSpec(weights={"ping": -1})
    assert str(caught.value) == (
        "WorkloadSpec: weights.ping: must be a finite number at least 0 (got -1)"
    )
