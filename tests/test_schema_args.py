"""Argument synthesis: a valid value for each kind of JSON Schema a tool uses."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from loadgen.errors import ConfigError
from loadgen.workload import synthesize_arguments
from loadgen.workload.schema_args import FORMAT_VALUES


def assert_valid(value: Any, schema: dict[str, Any]) -> None:
    """Check with the jsonschema package (a test-only dependency)."""
    validator = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(value)


def one(schema: dict[str, Any], **extra: Any) -> Any:
    """Synthesize the single required property ``x`` with ``schema``."""
    root = {"type": "object", "properties": {"x": schema}, "required": ["x"], **extra}
    arguments = synthesize_arguments(root, tool="t")
    assert_valid(arguments, root)
    return arguments["x"]


def refusal(schema: dict[str, Any], **extra: Any) -> ConfigError:
    root = {"type": "object", "properties": {"x": schema}, "required": ["x"], **extra}
    with pytest.raises(ConfigError) as caught:
        synthesize_arguments(root, tool="t")
    return caught.value


# Types -----------------------------------------------------------------------


def test_string_is_the_word_example() -> None:
    """A plain string becomes "example"."""
    assert one({"type": "string"}) == "example"


def test_string_is_padded_to_min_length() -> None:
    """minLength longer than the word pads it."""
    assert one({"type": "string", "minLength": 10}) == "examplexxx"


def test_string_is_cut_to_max_length() -> None:
    """maxLength shorter than the word cuts it."""
    assert one({"type": "string", "maxLength": 3}) == "exa"


def test_integer_prefers_one() -> None:
    """An unbounded integer is 1 (0 is often refused as a count)."""
    assert one({"type": "integer"}) == 1


def test_integer_is_clamped_into_its_range() -> None:
    """An integer with a range above 1 takes the minimum."""
    assert one({"type": "integer", "minimum": 40, "maximum": 50}) == 40


def test_integer_respects_exclusive_bounds() -> None:
    """exclusiveMinimum 40 gives 41."""
    assert one({"type": "integer", "exclusiveMinimum": 40}) == 41


def test_integer_respects_draft4_boolean_exclusive_bounds() -> None:
    """Draft-04's exclusiveMaximum: true excludes the maximum."""
    schema = {"type": "integer", "maximum": 0, "exclusiveMaximum": True}
    root = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"x": schema},
        "required": ["x"],
    }
    value = synthesize_arguments(root, tool="t")["x"]
    assert value < 0
    assert_valid({"x": value}, root)


def test_integer_is_a_multiple_of_multiple_of() -> None:
    """multipleOf within a range picks a multiple inside it."""
    assert one({"type": "integer", "minimum": 1000, "maximum": 1010, "multipleOf": 7})


def test_number_between_exclusive_bounds() -> None:
    """A number strictly between 0 and 1 is found."""
    value = one({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})
    assert 0 < value < 1


def test_number_with_decimal_multiple_of_passes_validators() -> None:
    """A float multipleOf (0.1) gives a value validators accept."""
    one({"type": "number", "minimum": 0.25, "multipleOf": 0.1})


def test_boolean_is_false() -> None:
    """A boolean is false: flags off is the safe reading."""
    assert one({"type": "boolean"}) is False


def test_null_is_none() -> None:
    """A null is None."""
    assert one({"type": "null"}) is None


def test_type_list_prefers_a_real_value_over_null() -> None:
    """["null", "integer"] gives an integer."""
    assert one({"type": ["null", "integer"]}) == 1


def test_schema_without_type_is_inferred_from_keywords() -> None:
    """minimum without type means a number."""
    assert one({"minimum": 3}) == 3


def test_empty_schema_accepts_the_word() -> None:
    """{} accepts anything; a string is sent."""
    assert one({}) == "example"


# Listed values ---------------------------------------------------------------


def test_const_is_used() -> None:
    """const gives its value."""
    assert one({"const": {"mode": "fast"}}) == {"mode": "fast"}


def test_enum_takes_the_first_member_the_schema_accepts() -> None:
    """enum members failing other constraints are passed over."""
    assert one({"type": "string", "enum": [1, "ab", "abc"], "minLength": 3}) == "abc"


def test_valid_default_is_preferred() -> None:
    """default is sent when it is valid."""
    assert one({"type": "integer", "minimum": 1, "default": 7}) == 7


def test_invalid_default_is_ignored() -> None:
    """A default that breaks the schema is not sent."""
    assert one({"type": "integer", "minimum": 10, "default": 7}) == 10


def test_first_valid_example_is_used() -> None:
    """examples are tried in order; the first valid one is sent."""
    assert one({"type": "string", "format": "email", "examples": ["x", "a@b.io"]}) == (
        "a@b.io"
    )


def test_enum_with_no_acceptable_member_is_refused() -> None:
    """An enum whose every member breaks the rest of the schema is an error."""
    error = refusal({"type": "integer", "enum": [1, 2], "minimum": 5})
    assert error.field == "#/properties/x"
    assert "no const or enum value" in error.rule


# Strings: formats and patterns -------------------------------------------------


@pytest.mark.parametrize("name", sorted(FORMAT_VALUES))
def test_format_gives_a_value_of_that_format(name: str) -> None:
    """Each known format gives its canned, valid value."""
    assert one({"type": "string", "format": name}) == FORMAT_VALUES[name]


def test_unknown_format_is_an_annotation() -> None:
    """A format we do not know does not block synthesis."""
    assert one({"type": "string", "format": "color"}) == "example"


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[A-Z]{3}-\d{4}$",
        r"^[a-z][a-z0-9_]*$",
        r"^(foo|bar)+baz?$",
        r"^\w+@\w+\.com$",
        r"^v\d+\.\d+\.\d+(-[a-z]+)?$",
        r"[^\s]+",
        r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$",
        r"^.{2,4}$",
    ],
)
def test_simple_pattern_gives_a_matching_string(pattern: str) -> None:
    """Literals, classes, escapes, groups and quantifiers are built."""
    one({"type": "string", "pattern": pattern})


def test_pattern_is_stretched_to_min_length() -> None:
    """Repeats grow until minLength is met."""
    assert one({"type": "string", "pattern": "^[a-z]+$", "minLength": 5}) == "aaaaa"


def test_pattern_with_lookahead_is_refused() -> None:
    """Lookaround is outside the subset; the error says so and where."""
    error = refusal({"type": "string", "pattern": "^(?=.*[A-Z]).+$"})
    assert error.field == "#/properties/x/pattern"
    assert "beyond the simple subset" in error.rule


def test_pattern_example_is_used_when_pattern_is_complex() -> None:
    """A complex pattern with a matching example still works."""
    schema = {"type": "string", "pattern": "^(?=.*[A-Z]).+$", "examples": ["Ab"]}
    assert one(schema) == "Ab"


def test_format_that_breaks_length_is_refused() -> None:
    """A format value too long for maxLength is an error, not an invalid send."""
    error = refusal({"type": "string", "format": "email", "maxLength": 5})
    assert error.field == "#/properties/x"


# Arrays and objects ------------------------------------------------------------


def test_array_has_one_item_by_default() -> None:
    """An array without minItems gets one item."""
    assert one({"type": "array", "items": {"type": "integer"}}) == [1]


def test_array_has_min_items() -> None:
    """minItems sets the count."""
    assert (
        one({"type": "array", "items": {"type": "boolean"}, "minItems": 3})
        == [False] * 3
    )


def test_array_with_max_items_zero_is_empty() -> None:
    """maxItems 0 gives an empty array."""
    assert one({"type": "array", "maxItems": 0}) == []


def test_array_with_unbuildable_optional_item_is_empty() -> None:
    """If no item can be built and none is required, the array is empty."""
    assert one({"type": "array", "items": False}) == []


def test_prefix_items_are_built_in_order() -> None:
    """prefixItems gives each position its own schema."""
    schema = {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "minItems": 2,
    }
    assert one(schema) == ["example", 1]


def test_unique_items_of_one_kind_are_refused() -> None:
    """uniqueItems with minItems 2 would repeat the same item: an error."""
    error = refusal({"type": "array", "uniqueItems": True, "minItems": 2})
    assert "not unique" in error.rule


def test_nested_object_gets_its_required_properties() -> None:
    """Objects inside objects are built to their own required lists."""
    schema = {
        "type": "object",
        "properties": {
            "inner": {
                "type": "object",
                "properties": {"n": {"type": "integer"}},
                "required": ["n"],
            }
        },
        "required": ["inner"],
    }
    assert one(schema) == {"inner": {"n": 1}}


def test_optional_property_without_default_is_left_out() -> None:
    """Optional properties are not sent unless that is free."""
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert one(schema) == {}


def test_optional_property_with_default_is_sent() -> None:
    """An optional property with a valid default sends the default."""
    schema = {"type": "object", "properties": {"n": {"type": "integer", "default": 4}}}
    assert one(schema) == {"n": 4}


def test_min_properties_adds_optional_properties() -> None:
    """minProperties pulls in optional properties until it is met."""
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "minProperties": 2,
    }
    assert one(schema) == {"a": 1, "b": "example"}


def test_required_property_forbidden_by_additional_properties_is_refused() -> None:
    """A required name that additionalProperties: false forbids is an error."""
    schema = {"type": "object", "required": ["ghost"], "additionalProperties": False}
    error = refusal(schema)
    assert error.field == "#/properties/x/properties/ghost"


def test_missing_input_schema_gives_empty_arguments() -> None:
    """A tool without an inputSchema gets {}."""
    assert synthesize_arguments(None, tool="t") == {}


def test_non_object_input_schema_is_refused() -> None:
    """Tool arguments are an object; a string schema is an error."""
    with pytest.raises(ConfigError, match="must describe an object"):
        synthesize_arguments({"type": "string"}, tool="t")


# Combinators and references ----------------------------------------------------


def test_any_of_takes_the_first_workable_branch() -> None:
    """anyOf skips a branch that cannot be built and takes the next."""
    schema = {
        "anyOf": [{"type": "integer", "minimum": 3, "maximum": 1}, {"type": "string"}]
    }
    assert one(schema) == "example"


def test_any_of_puts_null_branches_last() -> None:
    """Optional[int] written null first still sends an integer."""
    assert one({"anyOf": [{"type": "null"}, {"type": "integer"}]}) == 1


def test_one_of_value_matches_exactly_one_branch() -> None:
    """oneOf skips a branch whose value would also match another."""
    schema = {"oneOf": [{"type": "number"}, {"type": "integer"}]}
    # 1 matches both branches; 1.5-like values match only the first.
    value = one(schema)
    assert isinstance(value, float)


def test_ref_to_defs_is_followed() -> None:
    """$ref to #/$defs/... is resolved."""
    value = one(
        {"$ref": "#/$defs/Point"},
        **{
            "$defs": {
                "Point": {
                    "type": "object",
                    "properties": {"x": {"type": "number"}},
                    "required": ["x"],
                }
            }
        },
    )
    assert value == {"x": 1}


def test_ref_to_draft7_definitions_is_followed() -> None:
    """$ref to #/definitions/... is resolved too."""
    assert one({"$ref": "#/definitions/N"}, definitions={"N": {"type": "integer"}}) == 1


def test_ref_with_sibling_constraints_meets_both() -> None:
    """A $ref next to its own constraints satisfies both."""
    value = one(
        {"$ref": "#/$defs/N", "minimum": 9},
        **{"$defs": {"N": {"type": "integer", "maximum": 20}}},
    )
    assert value == 9


def test_all_of_parts_are_merged() -> None:
    """allOf combines bounds and required lists from every part."""
    schema = {
        "allOf": [
            {
                "type": "object",
                "properties": {"a": {"type": "integer"}},
                "required": ["a"],
            },
            {
                "properties": {"a": {"minimum": 5}, "b": {"type": "string"}},
                "required": ["b"],
            },
        ]
    }
    assert one(schema) == {"a": 5, "b": "example"}


def test_required_recursive_ref_is_refused() -> None:
    """A required value that contains itself has no finite instance."""
    node = {
        "type": "object",
        "properties": {"next": {"$ref": "#/$defs/Node"}},
        "required": ["next"],
    }
    error = refusal({"$ref": "#/$defs/Node"}, **{"$defs": {"Node": node}})
    assert "nests $ref too deep" in error.rule


def test_optional_recursive_ref_is_fine() -> None:
    """An optional self-reference is simply left out."""
    node = {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}
    assert one({"$ref": "#/$defs/Node"}, **{"$defs": {"Node": node}}) == {}


def test_remote_ref_is_refused() -> None:
    """Only local references are followed."""
    error = refusal({"$ref": "https://example.com/schema.json"})
    assert error.field == "#/properties/x/$ref"
    assert "only local references" in error.rule


# Messages --------------------------------------------------------------------------


def test_unsatisfiable_range_names_tool_path_and_rule() -> None:
    """The error names the tool, the JSON pointer and why."""
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}},
        "required": ["n"],
    }
    with pytest.raises(ConfigError) as caught:
        synthesize_arguments(schema, tool="count", hint="give arguments")
    assert str(caught.value).startswith(
        "tool 'count' inputSchema: #/properties/n: has no integer within its bounds"
    )
    assert str(caught.value).endswith("; give arguments")


def test_malformed_schema_is_a_config_error() -> None:
    """A schema with a nonsense keyword value is reported, not a traceback."""
    error = refusal({"type": "string", "minLength": "three"})
    assert "well-formed" in error.rule
