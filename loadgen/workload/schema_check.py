"""Does a value satisfy a JSON Schema? A small checker for synthesis.

Synthesis (``schema_args.py``) builds a value from a tool's ``inputSchema``
and then asks this module whether the value is valid, and uses it to decide
whether a ``default`` or an ``examples`` entry may be sent as it is. So a
value we cannot prove valid is never sent; the user is asked for arguments
instead.

It covers the assertions MCP tool schemas use (draft 2020-12, with draft-07
and draft-04 spellings of the same ideas): type, enum, const, numeric
bounds and multipleOf, string lengths, pattern, common formats, array and
object shapes, allOf/anyOf/oneOf/not, if/then/else and local ``$ref``. Not
checked: ``unevaluatedProperties``, ``unevaluatedItems`` and dynamic
references; synthesis only emits declared properties, which those never
forbid.

``violation`` returns None when the value is valid, else one sentence
naming where (a JSON pointer into the value) and why.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from fractions import Fraction
from typing import Any, Final, TypeGuard
from urllib.parse import unquote

Schema = Mapping[str, Any] | bool

# Deeper than any real schema; stops a $ref cycle from recursing forever.
MAX_DEPTH: Final = 64


class RefError(ValueError):
    """A ``$ref`` that is not a local JSON pointer into the schema."""


def violation(value: Any, schema: object, root: object, depth: int = 0) -> str | None:
    """Why ``value`` does not satisfy ``schema`` (None when it does)."""
    if schema is True:
        return None
    if schema is False:
        return "the schema is false: no value is valid"
    if not isinstance(schema, Mapping):
        return f"a schema must be an object or a boolean, not {schema!r}"
    if depth > MAX_DEPTH:
        return f"schema nesting deeper than {MAX_DEPTH} (a $ref cycle?)"
    for check in _CHECKS:
        reason = check(value, schema, root, depth)
        if reason is not None:
            return reason
    return None


def resolve_ref(root: object, ref: object) -> object:
    """The subschema a local ``$ref`` (``#``, ``#/$defs/name``) points to."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise RefError(f"only local references (#/...) are supported, not {ref!r}")
    node = root
    pointer = unquote(ref[1:])
    if not pointer:
        return node
    if not pointer.startswith("/"):
        raise RefError(f"{ref!r} is an anchor, not a JSON pointer")
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise RefError(f"{ref!r} points to nothing in the schema")
    return node


def json_type(value: Any) -> str:
    """The JSON Schema type name of a Python value decoded from JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        # JSON Schema counts 2.0 as an integer (2020-12 validation, 6.1.1).
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: ``True`` is not ``1``, ``1`` is ``1.0``."""
    left_type, right_type = json_type(left), json_type(right)
    numeric = {"integer", "number"}
    if left_type in numeric and right_type in numeric:
        return bool(left == right)
    if left_type != right_type:
        return False
    if left_type == "array":
        return len(left) == len(right) and all(map(json_equal, left, right))
    if left_type == "object":
        return left.keys() == right.keys() and all(
            json_equal(left[key], right[key]) for key in left
        )
    return bool(left == right)


def is_number(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a JSON number (booleans are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def lower_bound(schema: Mapping[str, Any]) -> tuple[float | None, bool]:
    """The lower bound and whether it is exclusive (draft-04 or later form)."""
    return _bound(schema, "minimum", "exclusiveMinimum", max)


def upper_bound(schema: Mapping[str, Any]) -> tuple[float | None, bool]:
    """The upper bound and whether it is exclusive (draft-04 or later form)."""
    return _bound(schema, "maximum", "exclusiveMaximum", min)


def _bound(
    schema: Mapping[str, Any],
    inclusive_key: str,
    exclusive_key: str,
    tighter: Callable[[float, float], float],
) -> tuple[float | None, bool]:
    inclusive = schema.get(inclusive_key)
    exclusive = schema.get(exclusive_key)
    if isinstance(exclusive, bool):
        # Draft-04: exclusiveMinimum is a flag on minimum.
        return (inclusive, exclusive) if is_number(inclusive) else (None, False)
    if not is_number(exclusive):
        return (inclusive, False) if is_number(inclusive) else (None, False)
    if not is_number(inclusive):
        return exclusive, True
    chosen = tighter(inclusive, exclusive)
    # When both are the same number the exclusive one is the tighter.
    return chosen, chosen == exclusive


def is_multiple(value: float, step: float) -> bool:
    """Whether ``value`` is a multiple of ``step``, as common validators decide.

    Float steps are judged by whether ``value / step`` is a whole number,
    which is what the Python ``jsonschema`` package does; matching it means
    a value we send passes the server's own check.
    """
    if isinstance(step, float) or isinstance(value, float):
        try:
            return float(value / step).is_integer()
        except OverflowError:
            return (Fraction(value) / Fraction(step)).denominator == 1
    return value % step == 0


# Keyword groups --------------------------------------------------------------


def _check_ref(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    if "$ref" not in schema:
        return None
    try:
        target = resolve_ref(root, schema["$ref"])
    except RefError as exc:
        return str(exc)
    return violation(value, target, root, depth + 1)


def _check_type(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    allowed = schema.get("type")
    if allowed is None:
        return None
    names = [allowed] if isinstance(allowed, str) else list(allowed)
    actual = json_type(value)
    if actual in names or (actual == "integer" and "number" in names):
        return None
    return f"{value!r} is {actual}, not {' or '.join(map(str, names))}"


def _check_enum(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    if "const" in schema and not json_equal(value, schema["const"]):
        return f"{value!r} is not the constant {schema['const']!r}"
    if "enum" in schema and not any(json_equal(value, e) for e in schema["enum"]):
        return f"{value!r} is not one of {schema['enum']!r}"
    return None


def _check_number(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    if not is_number(value):
        return None
    low, low_exclusive = lower_bound(schema)
    if low is not None and (value <= low if low_exclusive else value < low):
        return f"{value!r} is below the minimum {low!r}" + (
            " (exclusive)" if low_exclusive else ""
        )
    high, high_exclusive = upper_bound(schema)
    if high is not None and (value >= high if high_exclusive else value > high):
        return f"{value!r} is above the maximum {high!r}" + (
            " (exclusive)" if high_exclusive else ""
        )
    step = schema.get("multipleOf")
    if is_number(step) and step > 0 and not is_multiple(value, step):
        return f"{value!r} is not a multiple of {step!r}"
    return None


def _check_string(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    if not isinstance(value, str):
        return None
    # Lengths count code points (2020-12 validation, 6.3.1), as len() does.
    if len(value) < schema.get("minLength", 0):
        return f"{value!r} is shorter than {schema['minLength']}"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{value!r} is longer than {schema['maxLength']}"
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _search(pattern, value):
        return f"{value!r} does not match the pattern {pattern!r}"
    check = FORMATS.get(schema.get("format", ""))
    if check is not None and not check(value):
        return f"{value!r} is not a valid {schema['format']}"
    return None


def _search(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        # A pattern Python cannot compile (ECMA-only syntax) proves nothing.
        return False


def _check_array(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    if not isinstance(value, list | tuple):
        return None
    if len(value) < schema.get("minItems", 0):
        return f"the array has fewer than {schema['minItems']} items"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"the array has more than {schema['maxItems']} items"
    for index, item in enumerate(value):
        reason = violation(item, item_schema(schema, index), root, depth + 1)
        if reason is not None:
            return f"/{index}: {reason}"
    if schema.get("uniqueItems") and _has_duplicates(value):
        return "the array items are not unique"
    if "contains" in schema:
        matches = sum(
            violation(item, schema["contains"], root, depth + 1) is None
            for item in value
        )
        if matches < schema.get("minContains", 1):
            return "too few items match contains"
        if "maxContains" in schema and matches > schema["maxContains"]:
            return "too many items match contains"
    return None


def item_schema(schema: Mapping[str, Any], index: int) -> object:
    """The schema for array item ``index`` (prefixItems or tuple-form items)."""
    prefix = schema.get("prefixItems")
    items = schema.get("items", True)
    if isinstance(items, list):
        # Draft-07 tuple form: items is the prefix, additionalItems the rest.
        prefix, items = items, schema.get("additionalItems", True)
    if isinstance(prefix, list) and index < len(prefix):
        return prefix[index]
    return items


def _has_duplicates(values: Sequence[Any]) -> bool:
    return any(
        json_equal(values[i], values[j])
        for i in range(len(values))
        for j in range(i + 1, len(values))
    )


def _check_object(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    if not isinstance(value, Mapping):
        return None
    for name in schema.get("required", ()):
        if name not in value:
            return f"the required property {name!r} is missing"
    if len(value) < schema.get("minProperties", 0):
        return f"the object has fewer than {schema['minProperties']} properties"
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        return f"the object has more than {schema['maxProperties']} properties"
    for name, item in value.items():
        for sub in property_schemas(schema, name):
            reason = violation(item, sub, root, depth + 1)
            if reason is not None:
                return f"/{name}: {reason}"
        if "propertyNames" in schema:
            reason = violation(name, schema["propertyNames"], root, depth + 1)
            if reason is not None:
                return f"the property name {name!r}: {reason}"
    return _check_dependencies(value, schema, root, depth)


def property_schemas(schema: Mapping[str, Any], name: str) -> list[object]:
    """Every subschema that applies to property ``name`` of an object."""
    found: list[object] = []
    properties = schema.get("properties", {})
    if name in properties:
        found.append(properties[name])
    for pattern, sub in schema.get("patternProperties", {}).items():
        if _search(pattern, name):
            found.append(sub)
    if not found and "additionalProperties" in schema:
        found.append(schema["additionalProperties"])
    return found


def _check_dependencies(
    value: Mapping[str, Any], schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    required = dict(schema.get("dependentRequired", {}))
    schemas = dict(schema.get("dependentSchemas", {}))
    # Draft-07 "dependencies" held both kinds under one keyword.
    for name, dependency in schema.get("dependencies", {}).items():
        target = required if isinstance(dependency, list) else schemas
        target[name] = dependency
    for name, needed in required.items():
        missing = [other for other in needed if name in value and other not in value]
        if missing:
            return f"{name!r} needs {missing[0]!r} too"
    for name, sub in schemas.items():
        if name in value:
            reason = violation(value, sub, root, depth + 1)
            if reason is not None:
                return reason
    return None


def _check_combinators(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    for sub in schema.get("allOf", ()):
        reason = violation(value, sub, root, depth + 1)
        if reason is not None:
            return reason
    if "anyOf" in schema and all(
        violation(value, sub, root, depth + 1) for sub in schema["anyOf"]
    ):
        return f"{value!r} matches no branch of anyOf"
    if "oneOf" in schema:
        matched = sum(
            violation(value, sub, root, depth + 1) is None for sub in schema["oneOf"]
        )
        if matched != 1:
            return f"{value!r} matches {matched} branches of oneOf, not exactly one"
    if "not" in schema and violation(value, schema["not"], root, depth + 1) is None:
        return f"{value!r} matches the schema under not"
    return None


def _check_conditional(
    value: Any, schema: Mapping[str, Any], root: object, depth: int
) -> str | None:
    if "if" not in schema:
        return None
    if violation(value, schema["if"], root, depth + 1) is None:
        return violation(value, schema.get("then", True), root, depth + 1)
    return violation(value, schema.get("else", True), root, depth + 1)


_CHECKS: Final[
    tuple[Callable[[Any, Mapping[str, Any], object, int], str | None], ...]
] = (
    _check_ref,
    _check_type,
    _check_enum,
    _check_number,
    _check_string,
    _check_array,
    _check_object,
    _check_combinators,
    _check_conditional,
)


# Formats ---------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))")
_DATE_TIME = re.compile(r"(.+)[Tt](.+)")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]*")
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _is_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_time(text: str) -> bool:
    """RFC 3339 full-time; second 60 is a leap second."""
    match = _TIME.fullmatch(text)
    if match is None:
        return False
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    offset_ok = match[6] is None or (int(match[6]) < 24 and int(match[7]) < 60)
    return hour < 24 and minute < 60 and second <= 60 and offset_ok


def _is_date_time(text: str) -> bool:
    match = _DATE_TIME.fullmatch(text)
    return match is not None and _is_date(match[1]) and _is_time(match[2])


def _is_ip(text: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == version


def _is_hostname(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return len(text) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


# Formats we can both check and produce; others are annotations only, as the
# 2020-12 specification makes them by default.
FORMATS: Final[Mapping[str, Callable[[str], bool]]] = {
    "email": lambda text: _EMAIL.fullmatch(text) is not None,
    "uri": lambda text: _URI.fullmatch(text) is not None,
    "date": _is_date,
    "date-time": _is_date_time,
    "time": _is_time,
    "uuid": lambda text: _UUID.fullmatch(text) is not None,
    "ipv4": lambda text: _is_ip(text, 4),
    "ipv6": lambda text: _is_ip(text, 6),
    "hostname": _is_hostname,
}
