"""The workload spec: which MCP methods a simulated user calls, and how often.

A spec holds two levels of weight. ``weights`` is the method mix: each
method's share of all calls. A method not named there is not called. Inside
``tools/call``, ``resources/read`` and ``prompts/get`` a section splits that
method's share among the tools, resources or prompts the server lists: a
named item has its own weight (1 unless given), every other listed item has
the section's ``default_weight``, and ``skip`` names items never called. So
the method mix stays what the spec says however many tools a server lists.

Argument sets (for tools and prompts) are given per item; when none are
given, the plan synthesizes one valid set from the tool's ``inputSchema`` or
the prompt's required arguments.

Specs come from Python (``WorkloadSpec(...)`` in a locustfile) or from a
TOML or YAML file (see ``loader.py``). Both are checked here, on
construction, so a bad spec fails before the first user starts.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, NoReturn

from loadgen.errors import ConfigError

PING: Final = "ping"
TOOLS_LIST: Final = "tools/list"
TOOLS_CALL: Final = "tools/call"
RESOURCES_LIST: Final = "resources/list"
RESOURCES_READ: Final = "resources/read"
PROMPTS_LIST: Final = "prompts/list"
PROMPTS_GET: Final = "prompts/get"

METHODS: Final = (
    PING,
    TOOLS_LIST,
    TOOLS_CALL,
    RESOURCES_LIST,
    RESOURCES_READ,
    PROMPTS_LIST,
    PROMPTS_GET,
)

# The method whose share each section splits among its items.
SECTION_METHODS: Final = {
    "tools": TOOLS_CALL,
    "resources": RESOURCES_READ,
    "prompts": PROMPTS_GET,
}

# The method mix when none is given: an agent lists a catalogue once and then
# calls into it many times, so calls outweigh lists by about ten to one.
DEFAULT_WEIGHTS: Final[Mapping[str, float]] = MappingProxyType(
    {
        PING: 1,
        TOOLS_LIST: 1,
        TOOLS_CALL: 10,
        RESOURCES_LIST: 1,
        RESOURCES_READ: 3,
        PROMPTS_LIST: 1,
        PROMPTS_GET: 2,
    }
)

PYTHON_SOURCE: Final = "WorkloadSpec"

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class Pick(enum.StrEnum):
    """How a call picks one of its item's argument sets."""

    # In order, one after the other: every set is sent equally often, even
    # in a short run.
    ROUND_ROBIN = "round_robin"
    # Drawn from the plan's seeded random generator.
    RANDOM = "random"


@dataclass(frozen=True)
class ItemSpec:
    """One named tool, resource or prompt: its weight and argument sets.

    ``arguments`` None means synthesized ones; ``pick`` None means the
    section's ``pick``.
    """

    weight: float = 1
    arguments: Sequence[Mapping[str, Any]] | None = None
    pick: Pick | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.arguments, list):
            object.__setattr__(self, "arguments", tuple(self.arguments))


@dataclass(frozen=True)
class SectionSpec:
    """How one method's share is split among the items the server lists."""

    default_weight: float = 1
    skip: Sequence[str] = ()
    pick: Pick | str = Pick.ROUND_ROBIN
    items: Mapping[str, ItemSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.skip, list | set | frozenset):
            object.__setattr__(self, "skip", tuple(self.skip))
        if isinstance(self.items, Mapping):
            object.__setattr__(self, "items", MappingProxyType(dict(self.items)))

    def weight_of(self, name: str) -> float:
        """A listed item's weight: 0 if skipped, its own if named, else default."""
        if name in self.skip:
            return 0
        item = self.items.get(name)
        return self.default_weight if item is None else item.weight


@dataclass(frozen=True)
class WorkloadSpec:
    """What each simulated user calls, how often, and with which arguments.

    ``source`` names where the spec came from (a file path) for messages.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    tools: SectionSpec = field(default_factory=SectionSpec)
    resources: SectionSpec = field(default_factory=SectionSpec)
    prompts: SectionSpec = field(default_factory=SectionSpec)
    source: str = field(default=PYTHON_SOURCE, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.weights, Mapping):
            frozen = MappingProxyType(dict(self.weights))
            object.__setattr__(self, "weights", frozen)
        _check_spec(self)

    def weight_of(self, method: str) -> float:
        """The method's weight in the mix (0 when the spec does not name it)."""
        return self.weights.get(method, 0)

    def section(self, name: str) -> SectionSpec:
        """The section (``tools``, ``resources`` or ``prompts``) by name."""
        section: SectionSpec = getattr(self, name)
        return section

    def discovery(self) -> frozenset[str]:
        """The catalogues a user must list before it can build a plan."""
        return frozenset(
            name
            for name, method in SECTION_METHODS.items()
            if self.weight_of(method) > 0
        )


def field_key(name: str) -> str:
    """A name as one step of a field path: bare, or quoted as TOML quotes it."""
    if _BARE_KEY.fullmatch(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Checks ----------------------------------------------------------------------


def _check_spec(spec: WorkloadSpec) -> None:
    _check_weights(spec)
    for name in SECTION_METHODS:
        _check_section(spec, name)


def _check_weights(spec: WorkloadSpec) -> None:
    if not isinstance(spec.weights, Mapping):
        _fail(spec, "weights", "must be a table of method = weight", spec.weights)
    for method, weight in spec.weights.items():
        if method not in METHODS:
            rule = "is not a method a workload weights; use one of " + ", ".join(
                METHODS
            )
            _fail(spec, "weights", rule, method)
        check_weight(weight, spec.source, "weights." + field_key(method))
    if not any(weight > 0 for weight in spec.weights.values()):
        rule = "at least one method needs a weight above 0"
        _fail(spec, "weights", rule, dict(spec.weights))


def _check_section(spec: WorkloadSpec, name: str) -> None:
    section = spec.section(name)
    if not isinstance(section, SectionSpec):
        _fail(spec, name, "must be a SectionSpec", section)
    method = SECTION_METHODS[name]
    if section != SectionSpec() and method not in spec.weights:
        # Without this the section would be silently unused: the method mix
        # does not name the method, so its weight is 0.
        rule = (
            f"is configured but weights does not name {method!r}, so it would"
            f" never be called; add {field_key(method)} = <weight> to weights"
            " (0 turns it off)"
        )
        _fail(spec, name, rule)

    check_weight(section.default_weight, spec.source, f"{name}.default_weight")
    _check_pick(spec, f"{name}.pick", section.pick, allow_none=False)
    _check_skip(spec, name, section)
    if not isinstance(section.items, Mapping):
        _fail(spec, name, "items must be a table of name = item", section.items)
    for item_name, item in section.items.items():
        _check_item(spec, name, item_name, item)


def _check_skip(spec: WorkloadSpec, name: str, section: SectionSpec) -> None:
    path = f"{name}.skip"
    if not isinstance(section.skip, tuple):
        _fail(spec, path, "must be a list of names", section.skip)
    for entry in section.skip:
        if not isinstance(entry, str):
            _fail(spec, path, "must list names (strings)", entry)
        if entry in section.items:
            rule = f"names {entry!r}, which also has its own [{name}] entry; keep one"
            _fail(spec, path, rule, entry)


def _check_item(spec: WorkloadSpec, section: str, name: object, item: object) -> None:
    if not isinstance(name, str):
        _fail(spec, section, "item names must be strings", name)
    path = f"{section}.{field_key(name)}"
    if not isinstance(item, ItemSpec):
        _fail(spec, path, "must be a table (an ItemSpec)", item)
    check_weight(item.weight, spec.source, path + ".weight")
    _check_pick(spec, path + ".pick", item.pick, allow_none=True)
    if item.arguments is None:
        return
    if section == "resources":
        _fail(spec, path + ".arguments", "resources/read takes no arguments")
    _check_argument_sets(spec, path + ".arguments", item.arguments, section)


def _check_pick(spec: WorkloadSpec, path: str, pick: object, allow_none: bool) -> None:
    if pick is None and allow_none:
        return
    if pick not in set(Pick):
        rule = "must be one of " + ", ".join(repr(p.value) for p in Pick)
        _fail(spec, path, rule, pick)


def _check_argument_sets(
    spec: WorkloadSpec, path: str, sets: object, section: str
) -> None:
    if not isinstance(sets, tuple):
        _fail(spec, path, "must be a list of argument tables", sets)
    if not sets:
        rule = "must list at least one argument table; leave it out to synthesize"
        _fail(spec, path, rule, [])
    for index, arguments in enumerate(sets):
        where = f"{path}[{index}]"
        if not isinstance(arguments, Mapping):
            _fail(spec, where, "must be a table of argument = value", arguments)
        for key, value in arguments.items():
            if not isinstance(key, str):
                _fail(spec, where, "argument names must be strings", key)
            if section == "prompts" and not isinstance(value, str):
                rule = "must be a string: prompt arguments are strings in MCP"
                _fail(spec, f"{where}.{field_key(key)}", rule, value)
            check_json(value, spec.source, f"{where}.{field_key(key)}")


def check_weight(weight: object, source: str, path: str) -> None:
    """Raise unless ``weight`` is a finite number at least 0."""
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise ConfigError("must be a number", source=source, field=path, value=weight)
    if not math.isfinite(weight) or weight < 0:
        rule = "must be a finite number at least 0"
        raise ConfigError(rule, source=source, field=path, value=weight)


def check_json(value: object, source: str, path: str) -> None:
    """Raise unless ``value`` is plain JSON (what a JSON-RPC request can carry)."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            rule = "must be a finite number: JSON has no NaN or infinity"
            raise ConfigError(rule, source=source, field=path, value=value)
        return
    if isinstance(value, list | tuple):
        for index, entry in enumerate(value):
            check_json(entry, source, f"{path}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, entry in value.items():
            if not isinstance(key, str):
                rule = "object keys must be strings"
                raise ConfigError(rule, source=source, field=path, value=key)
            check_json(entry, source, f"{path}.{field_key(key)}")
        return
    # TOML and YAML both turn unquoted dates into date objects, which JSON
    # cannot carry: the fix is to quote them.
    rule = f"must be a JSON value, not {type(value).__name__}; quote dates and times"
    raise ConfigError(rule, source=source, field=path, value=value)


def _fail(spec: WorkloadSpec, path: str, rule: str, value: object = None) -> NoReturn:
    raise ConfigError(rule, source=spec.source, field=path, value=value)
