"""Argument synthesis under generated schemas: valid value or ConfigError.

Validity is judged by the ``jsonschema`` package (installed for tests only),
so these tests also keep our own checker honest.
"""

from __future__ import annotations

import math
import re
from typing import Any

import jsonschema
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loadgen.errors import ConfigError
from loadgen.workload import synthesize_arguments
from loadgen.workload.schema_check import violation
from loadgen.workload.schema_pattern import matching_string

VALIDATOR = jsonschema.Draft202012Validator


def wrap(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"x": schema}, "required": ["x"]}


def synthesized(schema: dict[str, Any]) -> Any:
    """The value for ``x``, checked with jsonschema; None if we refused."""
    root = wrap(schema)
    try:
        arguments = synthesize_arguments(root, tool="t")
    except ConfigError:
        return None
    VALIDATOR(root).validate(arguments)
    return arguments["x"]


def has_integer(low: int, high: int, step: int) -> bool:
    return any(value % step == 0 for value in range(low, high + 1))


# Numbers -----------------------------------------------------------------------


@given(
    low=st.integers(-1000, 1000),
    width=st.integers(0, 300),
    step=st.integers(1, 40),
    exclusive_low=st.booleans(),
    exclusive_high=st.booleans(),
)
def test_integer_range_gives_a_valid_integer_when_one_exists(
    low: int, width: int, step: int, exclusive_low: bool, exclusive_high: bool
) -> None:
    """Bounds (inclusive or not) and multipleOf: synthesis finds a member."""
    high = low + width
    schema: dict[str, Any] = {"type": "integer", "multipleOf": step}
    schema["exclusiveMinimum" if exclusive_low else "minimum"] = low
    schema["exclusiveMaximum" if exclusive_high else "maximum"] = high
    least = low + 1 if exclusive_low else low
    most = high - 1 if exclusive_high else high
    value = synthesized(schema)
    assert (value is not None) == has_integer(least, most, step)


@given(
    low=st.floats(-1e9, 1e9, allow_nan=False),
    high=st.floats(-1e9, 1e9, allow_nan=False),
    exclusive=st.booleans(),
)
def test_number_range_gives_a_valid_number(
    low: float, high: float, exclusive: bool
) -> None:
    """A number between any two bounds that leave room is found."""
    assume(high - low > 1e-6 * max(1.0, abs(low), abs(high)))
    if exclusive:
        schema = {"type": "number", "exclusiveMinimum": low, "exclusiveMaximum": high}
    else:
        schema = {"type": "number", "minimum": low, "maximum": high}
    assert synthesized(schema) is not None


@given(
    low=st.integers(-100, 100),
    step=st.sampled_from([0.5, 0.25, 0.1, 0.2, 2.5, 0.01, 3]),
)
def test_number_multiple_of_passes_validator_arithmetic(low: int, step: float) -> None:
    """A decimal multipleOf gives a value the jsonschema package accepts."""
    assert (
        synthesized({"type": "number", "minimum": low, "multipleOf": step}) is not None
    )


@given(low=st.integers(-50, 50), high=st.integers(-50, 50))
def test_impossible_integer_range_is_refused(low: int, high: int) -> None:
    """minimum above maximum is always a ConfigError."""
    assume(low > high)
    assert synthesized({"type": "integer", "minimum": low, "maximum": high}) is None


# Strings and arrays ------------------------------------------------------------


@given(low=st.integers(0, 60), extra=st.none() | st.integers(0, 60))
def test_string_lengths_are_met(low: int, extra: int | None) -> None:
    """minLength and maxLength are always met when they leave room."""
    schema: dict[str, Any] = {"type": "string", "minLength": low}
    if extra is not None:
        schema["maxLength"] = low + extra
    value = synthesized(schema)
    assert value is not None
    assert len(value) >= low


@given(
    low=st.integers(0, 8),
    extra=st.none() | st.integers(0, 8),
    item_low=st.integers(-5, 5),
)
def test_array_lengths_and_items_are_met(
    low: int, extra: int | None, item_low: int
) -> None:
    """minItems, maxItems and the item schema are always met."""
    schema: dict[str, Any] = {
        "type": "array",
        "minItems": low,
        "items": {"type": "integer", "minimum": item_low},
    }
    if extra is not None:
        schema["maxItems"] = low + extra
    assert synthesized(schema) is not None


# Patterns ----------------------------------------------------------------------

ATOMS = st.sampled_from(
    ["a", "Z", "7", "-", r"\.", r"\d", r"\w", r"\s", ".", "[a-f]", "[0-9_]", "[^x]"]
)
QUANTIFIERS = st.sampled_from(["", "?", "*", "+", "{2}", "{1,3}", "{2,}"])


@st.composite
def simple_patterns(draw: st.DrawFn) -> str:
    """Patterns within the documented subset: atoms, groups, alternation."""
    pieces = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            atom = draw(ATOMS)
        else:
            left, right = draw(ATOMS), draw(ATOMS)
            atom = f"({left}|{right})" if draw(st.booleans()) else f"(?:{left}{right})"
        pieces.append(atom + draw(QUANTIFIERS))
    body = "".join(pieces)
    return draw(st.sampled_from([body, f"^{body}", f"{body}$", f"^{body}$"]))


@given(pattern=simple_patterns(), low=st.integers(0, 12))
def test_simple_pattern_is_matched(pattern: str, low: int) -> None:
    """Every pattern in the subset gives a matching string of the asked length."""
    text = matching_string(pattern, min_length=low)
    if text is None:
        # Only a fully fixed-length anchored pattern may miss a minLength.
        assert pattern.startswith("^") and pattern.endswith("$")
        return
    assert re.search(pattern, text)
    assert len(text) >= low


# Arbitrary schemas -------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["", "a"])


def leaf_schemas() -> st.SearchStrategy[dict[str, Any]]:
    small = st.integers(0, 4)
    bounds = st.integers(-5, 5)
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(
                ["string", "integer", "number", "boolean", "null", "array", "object"]
            )
            | st.lists(st.sampled_from(["string", "integer", "null"]), min_size=1),
            "minimum": bounds,
            "maximum": bounds,
            "exclusiveMinimum": bounds,
            "exclusiveMaximum": bounds,
            "multipleOf": st.sampled_from([1, 2, 3, 0.5]),
            "minLength": small,
            "maxLength": small,
            "minItems": small,
            "maxItems": small,
            "enum": st.lists(SCALARS, min_size=1, max_size=3),
            "const": SCALARS,
            "default": SCALARS,
        },
    )


def schemas() -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaf_schemas(),
        lambda inner: st.one_of(
            st.builds(lambda s: {"type": "array", "items": s}, inner),
            st.builds(
                lambda props, required: {
                    "type": "object",
                    "properties": props,
                    "required": [name for name in props if name in required],
                },
                st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
                st.sets(st.sampled_from("abc")),
            ),
            st.builds(
                lambda branches: {"anyOf": branches},
                st.lists(inner, min_size=1, max_size=3),
            ),
            st.builds(
                lambda branches: {"oneOf": branches},
                st.lists(inner, min_size=1, max_size=3),
            ),
            st.builds(
                lambda parts: {"allOf": parts}, st.lists(inner, min_size=1, max_size=3)
            ),
            st.builds(lambda sub: {"not": sub}, inner),
        ),
        max_leaves=8,
    )


@settings(max_examples=300)
@given(schema=schemas())
def test_any_schema_gives_a_valid_value_or_a_config_error(
    schema: dict[str, Any],
) -> None:
    """Synthesis returns a value jsonschema accepts, or raises ConfigError."""
    synthesized(schema)


# The checker agrees with jsonschema ------------------------------------------------

JSON_VALUES = st.recursive(
    SCALARS | st.floats(-10, 10, allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=400)
@given(value=JSON_VALUES, schema=schemas())
def test_checker_agrees_with_jsonschema(value: Any, schema: dict[str, Any]) -> None:
    """Our validity check says what the jsonschema package says."""
    if isinstance(value, float):
        assume(math.isfinite(value))
    expected = VALIDATOR(schema).is_valid(value)
    assert (violation(value, schema, schema) is None) == expected


# Garbage in ------------------------------------------------------------------------

KEYWORDS = st.sampled_from(
    ["type", "minimum", "maxLength", "pattern", "format", "items", "prefixItems"]
    + ["properties", "required", "enum", "const", "default", "anyOf", "oneOf"]
    + ["allOf", "not", "$ref", "additionalProperties", "multipleOf", "if", "then"]
    + ["dependentRequired", "patternProperties", "minProperties", "contains"]
)
ANYTHING = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "string", "object", "#", "#/$defs/a", "^a+$", "email", "["]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(KEYWORDS | st.sampled_from("ab"), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=500)
@given(schema=ANYTHING)
def test_malformed_schema_gives_a_config_error_or_a_dict(schema: Any) -> None:
    """Whatever a server sends as a schema, synthesis raises only ConfigError."""
    root = {
        "type": "object",
        "properties": {"x": schema},
        "required": ["x"],
        "$defs": {"a": schema},
    }
    try:
        arguments = synthesize_arguments(root, tool="t")
    except ConfigError:
        return
    assert isinstance(arguments, dict)
