"""Workload files: TOML or YAML read into a ``WorkloadSpec``.

The layout, in TOML (YAML has the same tree)::

    [weights]               # the method mix; methods not named are not called
    ping = 1
    "tools/list" = 1
    "tools/call" = 10
    "resources/read" = 2
    "prompts/get" = 1

    [tools]                 # splits the tools/call share among listed tools
    default_weight = 1      # for listed tools this file does not name
    skip = ["fail"]         # never called
    pick = "round_robin"    # or "random": how argument sets are chosen

    [tools.echo]            # a named tool: weight 1 unless given
    weight = 5
    arguments = [{ text = "hello" }, { text = "world" }]

    [resources."demo://readme"]
    weight = 2

    [prompts.greet]
    arguments = [{ name = "Ada" }]

Inside a section, a table is an item (a tool, resource or prompt named by its
key) and anything else is a setting, so a tool may be called ``skip``
without clashing. Unknown keys are errors, not ignored: a typo would
otherwise change the load without a word. Values are checked by
``WorkloadSpec`` itself, so a file and a locustfile meet the same rules.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, Final, NoReturn

import yaml

from loadgen.errors import ConfigError
from loadgen.workload.spec import (
    METHODS,
    SECTION_METHODS,
    ItemSpec,
    SectionSpec,
    WorkloadSpec,
    field_key,
)

TOP_KEYS: Final = ("weights", *SECTION_METHODS)
SECTION_KEYS: Final = ("default_weight", "skip", "pick")
ITEM_KEYS: Final = {
    "tools": ("weight", "arguments", "pick"),
    "resources": ("weight",),
    "prompts": ("weight", "arguments", "pick"),
}
YAML_SUFFIXES: Final = (".yaml", ".yml")


def load_workload_file(path: str | os.PathLike[str]) -> WorkloadSpec:
    """Read a TOML (``.toml``) or YAML (``.yaml``, ``.yml``) workload file."""
    source = os.fspath(path)
    suffix = Path(source).suffix.lower()
    if suffix != ".toml" and suffix not in YAML_SUFFIXES:
        rule = "a workload file must end in .toml, .yaml or .yml"
        raise ConfigError(rule, source=source, value=suffix or None)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", source=source) from exc
    data = _parse_toml(text, source) if suffix == ".toml" else _parse_yaml(text, source)
    return parse_workload(data, source=source)


def parse_workload(data: object, *, source: str = "workload") -> WorkloadSpec:
    """Build a spec from the file's tree (also handy from Python: a dict)."""
    if not isinstance(data, Mapping):
        _fail(source, "", "the top level must be a table", type(data).__name__)
    _refuse_unknown(data, TOP_KEYS, source, "")
    fields: dict[str, Any] = {"source": source}
    if "weights" in data:
        fields["weights"] = _weights(data["weights"], source)
    for name in SECTION_METHODS:
        if name in data:
            fields[name] = _section(data[name], name, source)
    return WorkloadSpec(**fields)


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source) from exc


def _parse_yaml(text: str, source: str) -> object:
    try:
        # A subclass of the safe loader: it builds plain data, never objects.
        data = yaml.load(text, Loader=_StrictYamlLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=source) from exc
    # An empty file is an empty table: the default workload.
    return {} if data is None else data


def _weights(table: object, source: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        _fail(source, "weights", "must be a table of method = weight", table)
    _refuse_unknown(table, METHODS, source, "weights")
    return dict(table)


def _section(table: object, name: str, source: str) -> SectionSpec:
    if not isinstance(table, Mapping):
        _fail(source, name, "must be a table", table)
    settings: dict[str, Any] = {}
    items: dict[str, ItemSpec] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            items[key] = _item(value, name, f"{name}.{field_key(str(key))}", source)
        elif key in SECTION_KEYS:
            settings[key] = value
        else:
            rule = (
                "unknown key; a section takes "
                + ", ".join(SECTION_KEYS)
                + " and one table per item"
            )
            _fail(source, name, rule, key)
    return SectionSpec(items=items, **settings)


def _item(table: Mapping[Any, Any], section: str, path: str, source: str) -> ItemSpec:
    _refuse_unknown(table, ITEM_KEYS[section], source, path)
    return ItemSpec(
        weight=table.get("weight", 1),
        arguments=table.get("arguments"),
        pick=table.get("pick"),
    )


def _refuse_unknown(
    table: Mapping[Any, Any], allowed: tuple[str, ...], source: str, path: str
) -> None:
    for key in table:
        if key not in allowed:
            rule = "unknown key; allowed keys are " + ", ".join(allowed)
            _fail(source, path, rule, key)


def _fail(source: str, path: str, rule: str, value: object = None) -> NoReturn:
    raise ConfigError(rule, source=source, field=path, value=value)


class _StrictYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys instead of keeping the last.

    TOML already refuses them; without this a YAML file could set a weight
    twice and only the second would count.
    """


def _construct_mapping(loader: _StrictYamlLoader, node: yaml.MappingNode) -> Any:
    loader.flatten_mapping(node)
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            continue  # the base constructor reports unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
