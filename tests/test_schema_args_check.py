"""The validity checker synthesis relies on: keywords beyond the fuzzed set."""

from __future__ import annotations

from typing import Any

import pytest

from loadgen.workload.schema_check import (
    FORMATS,
    RefError,
    json_equal,
    resolve_ref,
    violation,
)


def valid(value: Any, schema: Any) -> bool:
    return violation(value, schema, schema) is None


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("email", "a.b@example.org", "a@b"),
        ("uri", "urn:isbn:0451450523", "/relative/path"),
        ("date", "2024-02-29", "2023-02-29"),
        ("date-time", "2024-01-01T23:59:60.5+01:00", "2024-01-01 12:00"),
        ("time", "12:30:00Z", "24:00:00Z"),
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123e4567e89b"),
        ("ipv4", "10.0.0.1", "10.0.0.256"),
        ("ipv6", "::1", "10.0.0.1"),
        ("hostname", "a-b.example.com", "-bad-.com"),
    ],
)
def test_format_accepts_good_and_refuses_bad(name: str, good: str, bad: str) -> None:
    """Each known format tells a valid value from an invalid one."""
    assert FORMATS[name](good)
    assert not FORMATS[name](bad)


def test_unknown_format_accepts_anything() -> None:
    """A format we do not know is an annotation, as 2020-12 makes it."""
    assert valid("anything", {"type": "string", "format": "color"})


def test_pattern_is_searched_not_matched_whole() -> None:
    """pattern is unanchored: "b" is found in "abc"."""
    assert valid("abc", {"pattern": "b"})
    assert not valid("abc", {"pattern": "^b"})


def test_pattern_python_cannot_compile_is_a_violation() -> None:
    """A pattern Python cannot read proves nothing, so the value is refused."""
    assert not valid("a", {"pattern": r"\p{L}"})


def test_draft4_boolean_exclusive_minimum() -> None:
    """Draft-04's exclusiveMinimum: true makes minimum exclusive."""
    schema = {"minimum": 3, "exclusiveMinimum": True}
    assert not valid(3, schema)
    assert valid(4, schema)


def test_if_then_else_applies_the_matching_branch() -> None:
    """then applies when if matches, else when it does not."""
    schema = {
        "if": {"type": "integer"},
        "then": {"minimum": 5},
        "else": {"maxLength": 1},
    }
    assert valid(6, schema)
    assert not valid(4, schema)
    assert valid("a", schema)
    assert not valid("ab", schema)


def test_dependent_required_needs_the_other_property() -> None:
    """dependentRequired: a present property pulls in others."""
    schema = {"dependentRequired": {"card": ["billing"]}}
    assert not valid({"card": 1}, schema)
    assert valid({"card": 1, "billing": 2}, schema)


def test_draft7_dependencies_cover_both_kinds() -> None:
    """Draft-07 dependencies hold property lists and schemas."""
    schema = {"dependencies": {"a": ["b"], "c": {"required": ["d"]}}}
    assert not valid({"a": 1}, schema)
    assert not valid({"c": 1}, schema)
    assert valid({"a": 1, "b": 1, "c": 1, "d": 1}, schema)


def test_pattern_properties_apply_to_matching_names() -> None:
    """patternProperties constrain properties whose names match."""
    schema = {"patternProperties": {"^n_": {"type": "integer"}}}
    assert valid({"n_a": 1, "other": "x"}, schema)
    assert not valid({"n_a": "x"}, schema)


def test_property_names_are_checked() -> None:
    """propertyNames constrains every key."""
    assert not valid({"toolong": 1}, {"propertyNames": {"maxLength": 3}})


def test_draft7_tuple_items_with_additional_items() -> None:
    """items as a list is the prefix; additionalItems covers the rest."""
    schema = {"items": [{"type": "string"}], "additionalItems": False}
    assert valid(["a"], schema)
    assert not valid(["a", 1], schema)


def test_contains_counts_matching_items() -> None:
    """contains with minContains and maxContains counts matches."""
    schema = {"contains": {"type": "integer"}, "minContains": 2, "maxContains": 2}
    assert valid([1, 2, "a"], schema)
    assert not valid([1, "a"], schema)
    assert not valid([1, 2, 3], schema)


def test_ref_is_followed_through_defs() -> None:
    """A local $ref is resolved against the root."""
    root = {"$defs": {"N": {"type": "integer"}}, "$ref": "#/$defs/N"}
    assert valid(3, root)
    assert not valid("3", root)


def test_ref_pointer_unescapes_slash_and_tilde() -> None:
    """~1 and ~0 in a pointer stand for / and ~."""
    root = {"$defs": {"a/b~c": {"const": 1}}}
    assert resolve_ref(root, "#/$defs/a~1b~0c") == {"const": 1}


def test_remote_ref_cannot_be_resolved() -> None:
    """A reference to another document is refused."""
    with pytest.raises(RefError, match="only local references"):
        resolve_ref({}, "other.json#/a")


def test_json_equality_tells_booleans_from_numbers() -> None:
    """True is not 1 in JSON, but 1 is 1.0."""
    assert not json_equal(True, 1)
    assert json_equal(1, 1.0)
    assert json_equal({"a": [1, None]}, {"a": [1.0, None]})


def test_violation_names_the_failing_place() -> None:
    """A nested failure says where in the value it is."""
    schema = {"properties": {"items": {"items": {"type": "string"}}}}
    assert violation({"items": ["a", 2]}, schema, schema) == (
        "/items: /1: 2 is integer, not string"
    )
