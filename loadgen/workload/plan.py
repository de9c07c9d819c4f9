"""The plan: a spec applied to what one user discovered, ready to draw from.

``WorkloadPlan.build`` runs once per user, after the session opened and the
catalogues were listed. It does all the work: drops methods whose capability
the server did not announce (and those the negotiated revision removed, such
as ping in the sessionless revision), splits each method's share among the listed
items, builds every argument object (synthesizing from schemas where the
spec gives none) and lays the result out as an alias table (Vose's method),
so ``next_call`` costs one random number, two list reads and a ``next()``
however many calls the plan holds.

Argument sets picked round robin share one slot whose ``itertools.cycle``
walks the sets in turn; sets picked at random get one slot each, with the
item's weight split evenly, so the alias table does the drawing.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from loadgen.errors import ConfigError
from loadgen.mcp import revisions
from loadgen.workload.schema_args import WORD, synthesize_arguments
from loadgen.workload.spec import (
    METHODS,
    PROMPTS_GET,
    PROMPTS_LIST,
    RESOURCES_LIST,
    RESOURCES_READ,
    SECTION_METHODS,
    TOOLS_CALL,
    TOOLS_LIST,
    Pick,
    SectionSpec,
    WorkloadSpec,
    field_key,
)

# The server capability each method needs (ping needs none).
CAPABILITY_OF: Final = {
    TOOLS_LIST: "tools",
    TOOLS_CALL: "tools",
    RESOURCES_LIST: "resources",
    RESOURCES_READ: "resources",
    PROMPTS_LIST: "prompts",
    PROMPTS_GET: "prompts",
}

# Where each section's items are listed and what names one.
_SECTION_KEYS: Final = {"tools": "name", "resources": "uri", "prompts": "name"}


@dataclass(frozen=True, slots=True)
class Call:
    """One request to send: method, params and the Locust request name.

    ``params`` is shared by every draw of this call: copy it before adding
    to it (``{**call.params, "_meta": ...}``), never change it in place.
    """

    method: str
    params: dict[str, Any]
    name: str


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """A call and its expected share of all calls (shares add up to 1)."""

    call: Call
    share: float


@dataclass(frozen=True)
class Catalog:
    """What a user discovered: server capabilities and the listed items.

    Items are as the server listed them: tools with ``name`` and
    ``inputSchema``, resources with ``uri``, prompts with ``name`` and
    ``arguments`` (a list of ``{name, required}``). ``revision`` is the
    negotiated protocol revision; methods it removed are not called.
    """

    capabilities: Mapping[str, Any] = field(default_factory=dict)
    tools: Sequence[Mapping[str, Any]] = ()
    resources: Sequence[Mapping[str, Any]] = ()
    prompts: Sequence[Mapping[str, Any]] = ()
    revision: str | None = None

    def items(self, section: str) -> list[Mapping[str, Any]]:
        """A section's listed items, the first of each name only."""
        key = _SECTION_KEYS[section]
        seen: dict[str, Mapping[str, Any]] = {}
        for item in getattr(self, section):
            seen.setdefault(item[key], item)
        return list(seen.values())


@dataclass(frozen=True, slots=True)
class _Group:
    """The calls one item (or one plain method) makes, and their weight."""

    calls: tuple[Call, ...]
    weight: float
    pick: str = Pick.ROUND_ROBIN


class WorkloadPlan:
    """A user's calls and their weights, drawn in O(1) by ``next_call``."""

    __slots__ = (
        "_alias",
        "_draw",
        "_probability",
        "_size",
        "_slots",
        "dropped",
        "entries",
    )

    def __init__(
        self, groups: Sequence[_Group], rng: random.Random, dropped: Sequence[str]
    ) -> None:
        slots, weights = _slots(groups)
        self._slots = slots
        self._size = len(slots)
        self._probability, self._alias = alias_table(weights)
        self._draw = rng.random
        self.entries = _entries(groups)
        # Why a method the spec weighted is not called: a one-line reason per
        # method, for the caller to log once (the plan logs nothing).
        self.dropped = tuple(dropped)

    @classmethod
    def build(
        cls, spec: WorkloadSpec, catalog: Catalog, rng: random.Random
    ) -> WorkloadPlan:
        """Apply ``spec`` to ``catalog``; ``rng`` drives every later draw."""
        weights, dropped = _method_weights(spec, catalog)
        groups: list[_Group] = []
        for method in METHODS:
            if weights[method] <= 0:
                continue
            method_groups = _method_groups(spec, catalog, method, weights[method])
            if not method_groups:
                dropped.append(_nothing_to_call(spec, catalog, method))
            groups.extend(method_groups)
        if not groups:
            raise _empty_plan(spec, catalog, dropped)
        return cls(groups, rng, dropped)

    def next_call(self) -> Call:
        """Draw the next call: O(1), nothing built per call (the hot path)."""
        # One uniform number serves both alias steps: its whole part picks
        # the column and its fraction the coin, which leaves about 40 bits
        # for the coin with thousands of columns, far finer than any weight.
        scaled = self._draw() * self._size
        column = int(scaled)
        if scaled - column >= self._probability[column]:
            column = self._alias[column]
        return next(self._slots[column])

    def describe(self) -> str:
        """The plan as text, one request name a line with its share."""
        shares: dict[str, float] = {}
        for entry in self.entries:
            shares[entry.call.name] = shares.get(entry.call.name, 0) + entry.share
        ordered = sorted(shares.items(), key=lambda pair: -pair[1])
        return "\n".join(f"{share:7.2%}  {name}" for name, share in ordered)


def alias_table(weights: Sequence[float]) -> tuple[list[float], list[int]]:
    """Vose's alias table: column i keeps i with probability[i], else alias[i].

    Drawing a column uniformly and then keeping it or taking its alias gives
    each index its weight's share exactly (up to float rounding).
    """
    size = len(weights)
    total = sum(weights)
    scaled = [weight * size / total for weight in weights]
    probability = [1.0] * size
    alias = list(range(size))
    small = [i for i, value in enumerate(scaled) if value < 1]
    large = [i for i, value in enumerate(scaled) if value >= 1]
    while small and large:
        short, tall = small.pop(), large.pop()
        probability[short] = scaled[short]
        alias[short] = tall
        scaled[tall] -= 1 - scaled[short]
        (small if scaled[tall] < 1 else large).append(tall)
    # Whatever is left is 1 up to rounding: it keeps its own column.
    return probability, alias


# Weights ---------------------------------------------------------------------


def _method_weights(
    spec: WorkloadSpec, catalog: Catalog
) -> tuple[dict[str, float], list[str]]:
    """Each method's weight: 0 where the capability or the revision lacks it."""
    removed = revisions.removed_methods(catalog.revision or "")
    weights: dict[str, float] = {}
    dropped: list[str] = []
    for method in METHODS:
        weight = spec.weight_of(method)
        capability = CAPABILITY_OF.get(method)
        if weight > 0 and method in removed:
            dropped.append(f"{method}: revision {catalog.revision} removed it")
            weight = 0
        elif weight > 0 and capability and capability not in catalog.capabilities:
            dropped.append(
                f"{method}: the server did not announce the {capability} capability"
            )
            weight = 0
        weights[method] = weight
    return weights, dropped


def _method_groups(
    spec: WorkloadSpec, catalog: Catalog, method: str, weight: float
) -> list[_Group]:
    """The groups of one method, sharing out the method's weight."""
    section = next((s for s, m in SECTION_METHODS.items() if m == method), None)
    if section is None:
        return [_Group((Call(method, {}, method),), weight)]
    groups = _section_groups(spec, catalog, section)
    total = sum(group.weight for group in groups)
    return [
        _Group(group.calls, weight * group.weight / total, group.pick)
        for group in groups
    ]


def _section_groups(spec: WorkloadSpec, catalog: Catalog, section: str) -> list[_Group]:
    """One group per listed item with a weight above 0, weighted by the spec."""
    settings = spec.section(section)
    listed = catalog.items(section)
    _refuse_unlisted(spec, settings, section, listed)
    groups = []
    for item in listed:
        name = item[_SECTION_KEYS[section]]
        weight = settings.weight_of(name)
        if weight <= 0:
            continue
        calls = tuple(_calls(spec, settings, section, item))
        groups.append(_Group(calls, weight, _pick(settings, name)))
    return groups


def _refuse_unlisted(
    spec: WorkloadSpec,
    settings: SectionSpec,
    section: str,
    listed: Sequence[Mapping[str, Any]],
) -> None:
    """A named item the server did not list is a typo or the wrong server."""
    names = {item[_SECTION_KEYS[section]] for item in listed}
    for name in settings.items:
        if name not in names:
            shown = ", ".join(sorted(names)) or "nothing"
            raise ConfigError(
                f"names an item the server did not list (it listed: {shown})",
                source=spec.source,
                field=f"{section}.{field_key(name)}",
                value=name,
            )


def _pick(settings: SectionSpec, name: str) -> str:
    item = settings.items.get(name)
    if item is not None and item.pick is not None:
        return item.pick
    return settings.pick


# Calls -----------------------------------------------------------------------


def _calls(
    spec: WorkloadSpec, settings: SectionSpec, section: str, item: Mapping[str, Any]
) -> Iterator[Call]:
    if section == "resources":
        uri = item["uri"]
        yield Call(RESOURCES_READ, {"uri": uri}, f"{RESOURCES_READ} {uri}")
        return
    name = item["name"]
    named = settings.items.get(name)
    if named is not None and named.arguments is not None:
        argument_sets = [copy.deepcopy(dict(a)) for a in named.arguments]
    elif section == "tools":
        argument_sets = [_tool_arguments(spec, item)]
    else:
        argument_sets = [_prompt_arguments(item)]
    method = TOOLS_CALL if section == "tools" else PROMPTS_GET
    for arguments in argument_sets:
        params: dict[str, Any] = {"name": name}
        if arguments or section == "tools":
            params["arguments"] = arguments
        yield Call(method, params, f"{method} {name}")


def _tool_arguments(spec: WorkloadSpec, tool: Mapping[str, Any]) -> dict[str, Any]:
    name = tool["name"]
    hint = (
        f"give tools.{field_key(name)}.arguments in {spec.source},"
        f" or add {name!r} to tools.skip"
    )
    return synthesize_arguments(tool.get("inputSchema"), tool=name, hint=hint)


def _prompt_arguments(prompt: Mapping[str, Any]) -> dict[str, str]:
    """A value for every required argument; MCP prompt arguments are strings."""
    return {
        argument["name"]: WORD
        for argument in prompt.get("arguments") or ()
        if argument.get("required")
    }


# Layout ----------------------------------------------------------------------


def _slots(groups: Sequence[_Group]) -> tuple[list[Iterator[Call]], list[float]]:
    """One endless iterator per table column, and the column weights."""
    slots: list[Iterator[Call]] = []
    weights: list[float] = []
    for group in groups:
        if group.pick == Pick.RANDOM and len(group.calls) > 1:
            share = group.weight / len(group.calls)
            for call in group.calls:
                slots.append(itertools.repeat(call))
                weights.append(share)
        else:
            slots.append(itertools.cycle(group.calls))
            weights.append(group.weight)
    return slots, weights


def _entries(groups: Sequence[_Group]) -> tuple[PlanEntry, ...]:
    total = sum(group.weight for group in groups)
    return tuple(
        PlanEntry(call, group.weight / len(group.calls) / total)
        for group in groups
        for call in group.calls
    )


# Messages --------------------------------------------------------------------


def _nothing_to_call(spec: WorkloadSpec, catalog: Catalog, method: str) -> str:
    section = next(s for s, m in SECTION_METHODS.items() if m == method)
    listed = len(catalog.items(section))
    if not listed:
        return f"{method}: the server listed no {section}"
    return f"{method}: all {listed} listed {section} are skipped or weighted 0"


def _empty_plan(
    spec: WorkloadSpec, catalog: Catalog, dropped: Sequence[str]
) -> ConfigError:
    asked = ", ".join(f"{method} = {weight}" for method, weight in spec.weights.items())
    announced = ", ".join(sorted(catalog.capabilities)) or "none"
    found = ", ".join(
        f"{len(catalog.items(section))} {section}" for section in SECTION_METHODS
    )
    reasons = "; ".join(dropped) or "every weight is 0"
    rule = (
        f"nothing to call: the weights ask for {asked}; the server announced"
        f" capabilities: {announced}, and listed {found} ({reasons})"
    )
    return ConfigError(rule, source=spec.source, field="weights")
