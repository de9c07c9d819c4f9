"""Valid arguments for a tool, made from its ``inputSchema`` once per plan.

A tool the workload names without arguments, or a listed tool it does not
name at all, still needs arguments the server accepts: an invalid call
measures the server's argument checking, not the tool. So the plan builds
one argument object per such tool from its JSON Schema, at build time, and
never per request.

How a value is chosen, in order:

1. ``const``, then ``default``, then each of ``examples``, then each
   ``enum`` member: the first one the whole schema accepts.
2. ``$ref`` (local, ``#/$defs/...``) and ``allOf`` are merged into one
   schema; ``anyOf`` and ``oneOf`` try their branches in order, branches
   that only allow null last, and take the first that gives a valid value.
3. Otherwise by type (a type list tries each, null last): null; false for
   booleans (flags off is the safe reading of most APIs); numbers near 1
   within the bounds and ``multipleOf`` (1, not 0, since counts and limits
   of 0 are often refused by the tool itself); strings from ``format``
   (email, uri, date, date-time, time, uuid, ipv4, ipv6, hostname), else
   from a simple ``pattern``, else the word ``example`` cut or padded to
   ``minLength``/``maxLength``; arrays with ``max(minItems, 1)`` items;
   objects with their required properties, plus optional ones that
   declare a non-null ``default`` (sending the default changes nothing
   the tool does) and, for ``minProperties``, as many more as it needs.

Every value is then checked against its schema (``schema_check``); one that
fails is never sent. Unsatisfiable or unsupported schemas (non-local
``$ref``, ``$dynamicRef``, patterns beyond ``schema_pattern``'s subset,
``contains``, ``uniqueItems`` with two or more items of one kind) raise
``ConfigError`` naming the tool and the schema path, and the fix is the
same every time: give the tool's arguments in the workload, or skip it.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Final, NoReturn

from loadgen.errors import ConfigError
from loadgen.workload import schema_check
from loadgen.workload.schema_check import (
    MAX_DEPTH,
    RefError,
    is_number,
    json_equal,
    lower_bound,
    resolve_ref,
    upper_bound,
    violation,
)
from loadgen.workload.schema_pattern import matching_string

# The word every free-form string starts from.
WORD: Final = "example"

# One value per format, each valid by its RFC. Addresses come from the
# ranges set aside for documentation (RFC 5737, RFC 3849) and names from
# RFC 2606, so a tool that acts on them reaches nothing real.
FORMAT_VALUES: Final = {
    "email": "user@example.com",
    "uri": "https://example.com/",
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
}

# Keywords that only describe; they never decide validity.
ANNOTATIONS: Final = frozenset(
    {"title", "description", "$comment", "$schema", "$id", "$anchor", "examples"}
    | {"default", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"}
    | {"contentMediaType", "contentEncoding", "format"}
)

UNSUPPORTED: Final = ("$dynamicRef", "$recursiveRef")

_LOWER_KEYS: Final = frozenset({"minLength", "minItems", "minProperties"})
_UPPER_KEYS: Final = frozenset({"maxLength", "maxItems", "maxProperties"})

# Keywords whose subschemas apply to the same value, so two of them merge
# as an allOf of both.
_SAME_INSTANCE_KEYS: Final = frozenset(
    {"items", "additionalProperties", "propertyNames", "contains", "additionalItems"}
)

# Keywords that suggest a type when a schema declares none.
_TYPE_HINTS: Final = (
    ("object", {"properties", "required", "additionalProperties", "minProperties"}),
    ("array", {"items", "prefixItems", "minItems", "maxItems"}),
    ("number", {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    ("number", {"multipleOf"}),
)

# The order types are tried in when a schema declares none.
_ANY_TYPE_ORDER: Final = (
    "string",
    "integer",
    "number",
    "boolean",
    "object",
    "array",
    "null",
)

_MISSING: Final = object()


class SchemaUnsatisfiable(ConfigError):
    """A tool schema synthesis cannot satisfy.

    A ``ConfigError``: the fix is the user's (give arguments or skip the
    tool), whichever of server and tool made the schema.
    """

    def __init__(
        self, reason: str, *, owner: str, pointer: str, hint: str, value: object
    ) -> None:
        self.reason = reason
        text = f"{reason}; {hint}" if hint else reason
        super().__init__(text, source=owner, field=pointer, value=value)


@dataclass(frozen=True, slots=True)
class _Context:
    """What every step needs: the root for ``$ref`` and who owns the schema."""

    root: object
    owner: str
    hint: str
    depth: int = 0


def synthesize_arguments(
    schema: object, *, tool: str, hint: str = ""
) -> dict[str, Any]:
    """One valid ``arguments`` object for ``tool``, built from ``schema``.

    ``hint`` is appended to every error (what the user can do instead).
    """
    if schema is None:
        schema = {"type": "object"}
    context = _Context(root=schema, owner=f"tool {tool!r} inputSchema", hint=hint)
    try:
        value = _synthesize(schema, (), context)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # A schema that is not well-formed JSON Schema breaks an assumption
        # somewhere below; say so instead of a traceback.
        _fail(context, (), f"is not a well-formed JSON Schema ({exc})")
    if not isinstance(value, dict):
        _fail(context, (), "must describe an object (MCP tool arguments)", value)
    return value


def _synthesize(schema: object, path: tuple[str | int, ...], context: _Context) -> Any:
    """A value valid for ``schema`` (at ``path`` in the root)."""
    if schema is True:
        return WORD
    if not isinstance(schema, Mapping):
        _fail(
            context, path, "accepts no value" if schema is False else "is not a schema"
        )
    for keyword in UNSUPPORTED:
        if keyword in schema:
            _fail(context, path, f"uses {keyword}, which synthesis does not support")
    if "$ref" in schema or "allOf" in schema:
        return _synthesize_merged(schema, path, context)

    picked = _first_listed(schema, context)
    if picked is not _MISSING:
        return picked
    if "const" in schema or "enum" in schema:
        _fail(context, path, "has no const or enum value the rest of it accepts")
    if "anyOf" in schema or "oneOf" in schema:
        return _synthesize_branch(schema, path, context)
    return _synthesize_typed(schema, path, context)


def _synthesize_merged(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Any:
    deeper = replace(context, depth=context.depth + 1)
    if deeper.depth > MAX_DEPTH:
        _fail(context, path, "nests $ref too deep: a required value refers to itself")
    if "$ref" in schema and set(schema) - ANNOTATIONS == {"$ref"}:
        target, target_path = _resolve(schema["$ref"], path, context)
        return _checked(_synthesize(target, target_path, deeper), schema, path, context)
    merged = _flatten(schema, path, context)
    return _checked(_synthesize(merged, path, deeper), schema, path, context)


def _resolve(
    ref: object, path: tuple[str | int, ...], context: _Context
) -> tuple[object, tuple[str | int, ...]]:
    try:
        target = resolve_ref(context.root, ref)
    except RefError as exc:
        _fail(context, (*path, "$ref"), str(exc))
    assert isinstance(ref, str)
    steps = [s.replace("~1", "/").replace("~0", "~") for s in ref[2:].split("/")]
    return target, tuple(step for step in steps if step)


def _first_listed(schema: Mapping[str, Any], context: _Context) -> Any:
    """The first of const, default, examples, enum the schema accepts."""
    candidates: list[Any] = []
    if "const" in schema:
        candidates.append(schema["const"])
    if "default" in schema:
        candidates.append(schema["default"])
    candidates.extend(schema.get("examples", ()))
    candidates.extend(schema.get("enum", ()))
    for candidate in candidates:
        if violation(candidate, schema, context.root) is None:
            return copy.deepcopy(candidate)
    return _MISSING


def _synthesize_branch(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Any:
    keyword = "anyOf" if "anyOf" in schema else "oneOf"
    rest = {key: value for key, value in schema.items() if key != keyword}
    branches = schema[keyword]

    def attempt(index: int) -> Callable[[], Iterator[Any]]:
        def run() -> Iterator[Any]:
            parts = [rest, branches[index]]
            others = [b for i, b in enumerate(branches) if i != index]
            if keyword == "oneOf" and others:
                # Steer the branch's own search away from values that would
                # match a second branch too.
                parts.append({"not": {"anyOf": others}})
            both = {"allOf": parts}
            merged = _flatten(both, (*path, keyword, index), context)
            yield _synthesize(merged, (*path, keyword, index), context)

        return run

    attempts = [(f"{keyword}/{i}", attempt(i)) for i in _branch_order(branches)]
    return _first_valid(attempts, schema, path, context)


def _branch_order(branches: list[Any]) -> list[int]:
    """Branch indexes, those that only allow null last (a real value tests more)."""

    def null_only(branch: object) -> bool:
        return isinstance(branch, Mapping) and branch.get("type") == "null"

    return sorted(range(len(branches)), key=lambda index: null_only(branches[index]))


def _synthesize_typed(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Any:
    attempts = [
        (name, functools.partial(_BY_TYPE[name], schema, path, context))
        for name in _types(schema)
    ]
    return _first_valid(attempts, schema, path, context)


def _first_valid(
    attempts: Sequence[tuple[str, Callable[[], Iterator[Any]]]],
    schema: Mapping[str, Any],
    path: tuple[str | int, ...],
    context: _Context,
) -> Any:
    """The first candidate of the first attempt that the whole schema accepts.

    An attempt yields candidates, most preferred first. With a single
    attempt that fails outright its error goes up unchanged, so the message
    points at the deepest schema that failed, not at its parent.
    """
    reasons: dict[str, str] = {}
    for label, attempt in attempts:
        try:
            for value in attempt():
                reason = violation(value, schema, context.root)
                if reason is None:
                    return value
                reasons[label] = reason
        except SchemaUnsatisfiable as exc:
            if len(attempts) == 1 and label not in reasons:
                raise
            reasons[label] = f"{exc.field}: {exc.reason}"
    summary = "; ".join(f"{label}: {reason}" for label, reason in reasons.items())
    _fail(context, path, f"no valid value ({summary})")


def _types(schema: Mapping[str, Any]) -> list[str]:
    """The types to try, in order: as declared (null last), else all of them.

    Without a declared type the one its keywords suggest goes first; the
    rest follow for schemas that rule it out (``not``, ``const`` and such).
    """
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return sorted(declared, key=lambda name: name == "null")
    keys = set(schema)
    guess = next((name for name, hints in _TYPE_HINTS if keys & hints), "string")
    return [guess, *(name for name in _ANY_TYPE_ORDER if name != guess)]


def _checked(
    value: Any, schema: object, path: tuple[str | int, ...], context: _Context
) -> Any:
    reason = violation(value, schema, context.root)
    if reason is not None:
        _fail(context, path, f"the value built for it is not valid: {reason}", value)
    return value


# Merging $ref and allOf ------------------------------------------------------


def _flatten(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> dict[str, Any]:
    """One schema that means what ``$ref`` and ``allOf`` parts mean together."""
    parts: list[object] = [
        {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
    ]
    if "$ref" in schema:
        parts.append(_resolve(schema["$ref"], path, context)[0])
    parts.extend(schema.get("allOf", ()))
    merged: dict[str, Any] = {}
    for part in parts:
        if part is False:
            _fail(context, path, "combines a false schema: no value is valid")
        if part is True:
            continue
        if not isinstance(part, Mapping):
            _fail(context, path, "combines something that is not a schema", part)
        if "$ref" in part or "allOf" in part:
            part = _flatten(part, path, replace(context, depth=context.depth + 1))
        merged = _merge(merged, part, path, context)
    return merged


def _merge(
    left: dict[str, Any],
    right: Mapping[str, Any],
    path: tuple[str | int, ...],
    context: _Context,
) -> dict[str, Any]:
    merged = dict(left)
    for key, value in _normalized_bounds(right).items():
        if key not in merged or json_equal(merged[key], value) or key in ANNOTATIONS:
            merged.setdefault(key, value)
        else:
            merged[key] = _merge_key(key, merged[key], value, path, context)
    return merged


def _merge_key(
    key: str, left: Any, right: Any, path: tuple[str | int, ...], context: _Context
) -> Any:
    if key in _LOWER_KEYS or key in ("minimum", "exclusiveMinimum"):
        return max(left, right)
    if key in _UPPER_KEYS or key in ("maximum", "exclusiveMaximum"):
        return min(left, right)
    if key == "required":
        return list(dict.fromkeys([*left, *right]))
    if key == "properties":
        both = {**left, **right}
        for name in set(left) & set(right):
            both[name] = {"allOf": [left[name], right[name]]}
        return both
    if key == "type":
        return _merge_types(left, right, path, context)
    if key == "enum":
        return [entry for entry in left if any(json_equal(entry, r) for r in right)]
    if key in _SAME_INSTANCE_KEYS:
        return {"allOf": [left, right]}
    if key == "not":
        return {"anyOf": [left, right]}
    if key in ("anyOf", "oneOf") and isinstance(left, list):
        # Each left branch must also meet the right list; the final check
        # against the original schema settles oneOf's exclusivity.
        return [{"allOf": [branch, {key: right}]} for branch in left]
    if key == "multipleOf" and isinstance(left, int) and isinstance(right, int):
        return math.lcm(left, right)
    _fail(context, path, f"combines parts that disagree on {key!r}", [left, right])


def _merge_types(
    left: str | list[str],
    right: str | list[str],
    path: tuple[str | int, ...],
    context: _Context,
) -> list[str]:
    lefts = {left} if isinstance(left, str) else set(left)
    rights = {right} if isinstance(right, str) else set(right)
    both = lefts & rights
    # An integer is a number, so integer and number meet at integer.
    if ("integer" in lefts and "number" in rights) or (
        "number" in lefts and "integer" in rights
    ):
        both.add("integer")
    if not both:
        _fail(context, path, "combines types that share no value", [left, right])
    return sorted(both)


def _normalized_bounds(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Draft-04 boolean exclusive bounds, rewritten as numbers for merging."""
    if not any(
        isinstance(schema.get(key), bool)
        for key in ("exclusiveMinimum", "exclusiveMaximum")
    ):
        return schema
    rewritten = {
        k: v
        for k, v in schema.items()
        if k not in ("exclusiveMinimum", "exclusiveMaximum")
    }
    for inclusive, exclusive, bound in (
        ("minimum", "exclusiveMinimum", lower_bound(schema)),
        ("maximum", "exclusiveMaximum", upper_bound(schema)),
    ):
        value, is_exclusive = bound
        if value is not None and is_exclusive:
            rewritten.pop(inclusive, None)
            rewritten[exclusive] = value
    return rewritten


# One type each ---------------------------------------------------------------


def _null(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Iterator[None]:
    yield None


def _boolean(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Iterator[bool]:
    yield False
    yield True


def _integer(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Iterator[int]:
    found = False
    for candidate in _number_candidates(schema):
        if isinstance(candidate, float):
            if not candidate.is_integer():
                continue
            candidate = int(candidate)
        if violation(candidate, _numeric_part(schema), context.root) is None:
            found = True
            yield candidate
    if not found:
        _fail(context, path, "has no integer within its bounds and multipleOf")


def _number(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Iterator[int | float]:
    found = False
    # Whole numbers first, then halves, for a schema that rules integers out.
    halves = (value + 0.5 for value in _number_candidates(schema))
    for candidate in itertools.chain(_number_candidates(schema), halves):
        if violation(candidate, _numeric_part(schema), context.root) is None:
            found = True
            yield candidate
    if not found:
        _fail(context, path, "has no number within its bounds and multipleOf")


def _numeric_part(schema: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
    return {key: schema[key] for key in keys if key in schema}


def _number_candidates(schema: Mapping[str, Any]) -> Iterator[int | float]:
    """Numbers worth trying, most preferred first; the checker picks one."""
    low, _ = lower_bound(schema)
    high, _ = upper_bound(schema)
    targets: list[float] = [1, 0]
    if low is not None:
        targets += [low, math.floor(low) + 1]
    if high is not None:
        targets += [high, math.ceil(high) - 1]
    if low is not None and high is not None:
        targets += [(low + high) / 2, low + (high - low) / 4]
    step = schema.get("multipleOf")
    for target in targets:
        if not is_number(step) or step <= 0:
            yield from dict.fromkeys([target, math.floor(target), math.ceil(target)])
            continue
        yield from _multiples_near(target, step)


def _multiples_near(target: float, step: float) -> Iterator[int | float]:
    # Built from the step's decimal text, so 3 x 0.1 gives 0.3, not
    # 0.30000000000000004; the checker then decides what a validator accepts.
    exact_step = Fraction(repr(step)) if isinstance(step, float) else Fraction(step)
    nearest = math.floor(Fraction(repr(target)) / exact_step)
    for count in range(nearest - 1, nearest + 4):
        value = exact_step * count
        yield int(value) if value.denominator == 1 else float(value)


def _string(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Iterator[str]:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    if schema.get("format") in FORMAT_VALUES:
        yield FORMAT_VALUES[schema["format"]]
    if isinstance(schema.get("pattern"), str):
        built = matching_string(schema["pattern"], low, high)
        if built is None:
            rule = "has a pattern beyond the simple subset synthesis supports"
            _fail(context, (*path, "pattern"), rule, schema["pattern"])
        yield built
    yield _sized_word(low, high)


def _sized_word(low: int, high: int | None) -> str:
    length = max(low, len(WORD)) if high is None else min(max(low, len(WORD)), high)
    return WORD[:length].ljust(length, "x")


def _array(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Iterator[list[Any]]:
    low = schema.get("minItems", 0)
    high = schema.get("maxItems")
    count = max(low, 1) if high is None else min(max(low, 1), high)
    try:
        items = [_item(schema, index, path, context) for index in range(count)]
    except SchemaUnsatisfiable:
        if low > 0:
            raise
        items = []  # no item can be built, and none is required
    yield items


def _item(
    schema: Mapping[str, Any],
    index: int,
    path: tuple[str | int, ...],
    context: _Context,
) -> Any:
    sub = schema_check.item_schema(schema, index)
    prefix = schema.get("prefixItems", schema.get("items"))
    if isinstance(prefix, list) and index < len(prefix):
        keyword = "prefixItems" if "prefixItems" in schema else "items"
        return _synthesize(sub, (*path, keyword, index), context)
    return _synthesize(sub, (*path, "items"), context)


def _object(
    schema: Mapping[str, Any], path: tuple[str | int, ...], context: _Context
) -> Iterator[dict[str, Any]]:
    value: dict[str, Any] = {}
    for name in schema.get("required", ()):
        value[name] = _property(schema, name, path, context)
    for name, sub in schema.get("properties", {}).items():
        if name not in value and isinstance(sub, Mapping):
            default = sub.get("default")
            if default is not None and violation(default, sub, context.root) is None:
                value[name] = copy.deepcopy(default)
    missing = schema.get("minProperties", 0) - len(value)
    for name in schema.get("properties", {}):
        if missing <= 0:
            break
        if name not in value:
            value[name] = _property(schema, name, path, context)
            missing -= 1
    yield value


def _property(
    schema: Mapping[str, Any], name: str, path: tuple[str | int, ...], context: _Context
) -> Any:
    subschemas = schema_check.property_schemas(schema, name)
    if not subschemas:
        return WORD  # neither declared nor forbidden: anything goes
    where = (*path, "properties", name)
    if len(subschemas) == 1:
        return _synthesize(subschemas[0], where, context)
    return _synthesize({"allOf": subschemas}, where, context)


_BY_TYPE: Final = {
    "null": _null,
    "boolean": _boolean,
    "integer": _integer,
    "number": _number,
    "string": _string,
    "array": _array,
    "object": _object,
}


def _pointer(path: tuple[str | int, ...]) -> str:
    steps = [str(step).replace("~", "~0").replace("/", "~1") for step in path]
    return "#/" + "/".join(steps) if steps else "#"


def _fail(
    context: _Context, path: tuple[str | int, ...], rule: str, value: object = None
) -> NoReturn:
    raise SchemaUnsatisfiable(
        rule,
        owner=context.owner,
        pointer=_pointer(path),
        hint=context.hint,
        value=value,
    )
