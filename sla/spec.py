"""The SLA file: thresholds in YAML, read strictly.

Two forms may sit side by side in one file::

    thresholds:                      # the long form: every option
      - metric: latency.p99
        target: "tools/call *"
        max: 250ms
        window: 10s
        abort_on_fail: true
        abort_grace: 15s
    targets:                         # the compact form: one line each
      "tools/call *": ["p99 < 250ms", "error_rate <= 1% over 10s"]

Whatever is wrong raises :class:`~loadgen.errors.ConfigError` naming the
file, the path of the field (``thresholds[1].maximum``), the rule and the
value. An unknown key is an error, never ignored: a misspelled ``maximum``
that was skipped would leave a threshold that judges nothing.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from loadgen.errors import ConfigError
from sla.metrics import METRICS, Metric, MetricRegistry, UnknownMetric
from sla.units import UnitError, format_time, format_value, parse_quantity
from sla.units import parse_time_s as _parse_time_s

SPEC_VERSION = 1

TOP_KEYS = ("version", "thresholds", "targets")
THRESHOLD_KEYS = (
    "metric",
    "target",
    "max",
    "min",
    "window",
    "abort_on_fail",
    "abort_grace",
    "name",
)

# "p99 < 250ms", "error_rate <= 1% over 10s".
_COMPACT = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<value>\S+)(?:\s+over\s+(?P<window>\S+))?\s*$"
)
_SHORT_PERCENTILE = re.compile(r"^p[0-9]+(?:\.[0-9]+)?$")
_SHORT_LATENCY = {"mean", "min", "max"}


class Bound(enum.Enum):
    """Which side of the limit is good."""

    MAX = "max"
    MIN = "min"


@dataclass(frozen=True)
class Threshold:
    """One rule: a metric over some requests must stay on one side of a limit."""

    metric: Metric
    bound: Bound
    # In the metric quantity's canonical unit (seconds, fraction, 1/s, count).
    limit: float
    target: str | None = None
    window_s: float | None = None
    # The long form's max/min include the limit; the compact "<" and ">" do not.
    inclusive: bool = True
    abort_on_fail: bool = False
    abort_grace_s: float = 0.0
    name: str = ""
    # Where it was written, e.g. "thresholds[2]", for messages and reports.
    origin: str = ""

    def holds(self, value: float) -> bool:
        """Whether an observed value (canonical unit) is within the limit."""
        if self.bound is Bound.MAX:
            return value <= self.limit if self.inclusive else value < self.limit
        return value >= self.limit if self.inclusive else value > self.limit

    @property
    def judged_at_end_only(self) -> bool:
        """A minimum on a value that only grows over the run (a count) can
        only be broken by the run as a whole, never by the run so far."""
        return (
            self.metric.grows_with_run
            and self.bound is Bound.MIN
            and self.window_s is None
        )

    @property
    def operator(self) -> str:
        op = "<" if self.bound is Bound.MAX else ">"
        return op + "=" if self.inclusive else op

    @property
    def limit_text(self) -> str:
        return format_value(self.limit, self.metric.quantity)

    @property
    def label(self) -> str:
        """A readable one-line statement, e.g. ``latency.p99{tools/call *} <=
        250ms over 10s``; the ``name`` given in the file wins."""
        if self.name:
            return self.name
        target = f"{{{self.target}}}" if self.target is not None else ""
        text = f"{self.metric.name}{target} {self.operator} {self.limit_text}"
        if self.window_s is not None:
            text += f" over {format_time(self.window_s)}"
        return text


@dataclass(frozen=True)
class SlaSpec:
    """The thresholds of one SLA file, in the order written."""

    thresholds: tuple[Threshold, ...]
    source: str = ""


# Reading -----------------------------------------------------------------------


def load_sla_file(path: str | Path, registry: MetricRegistry = METRICS) -> SlaSpec:
    """Read and check an SLA file; every problem is a ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the SLA file: {exc.strerror}", source=source
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"not valid YAML: {_yaml_problem(exc)}", source=source
        ) from exc
    return parse_sla(data, source, registry)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return str(problem)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def parse_sla(
    data: object, source: str = "", registry: MetricRegistry = METRICS
) -> SlaSpec:
    """Check an already-parsed SLA document (a mapping) and build the spec."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            "an SLA file must be a mapping with a thresholds list",
            source=source,
            value=_shown(data),
        )
    _check_keys(data, TOP_KEYS, source, "")
    version = data.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise ConfigError(
            f"only version {SPEC_VERSION} is known",
            source=source,
            field="version",
            value=version,
        )
    thresholds = _long_form(data.get("thresholds", []), source, registry)
    thresholds += _compact_form(data.get("targets", {}), source, registry)
    if not thresholds:
        raise ConfigError("an SLA file needs at least one threshold", source=source)
    return SlaSpec(tuple(thresholds), source)


def _shown(value: object) -> object:
    """The value as a message shows it (YAML nodes can be long)."""
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."


def _check_keys(
    item: Mapping[object, object], allowed: Sequence[str], source: str, at: str
) -> None:
    for key in item:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        rule = f"unknown key; {hint}allowed keys: {', '.join(allowed)}"
        field = f"{at}.{key}" if at else str(key)
        raise ConfigError(rule, source=source, field=field, value=_shown(item[key]))


# The long form -------------------------------------------------------------------


def _long_form(items: object, source: str, registry: MetricRegistry) -> list[Threshold]:
    if not isinstance(items, list):
        raise ConfigError(
            "must be a list of thresholds",
            source=source,
            field="thresholds",
            value=_shown(items),
        )
    return [
        _threshold(item, source, f"thresholds[{i}]", registry)
        for i, item in enumerate(items)
    ]


def _threshold(
    item: object, source: str, at: str, registry: MetricRegistry
) -> Threshold:
    if not isinstance(item, Mapping):
        raise ConfigError(
            "a threshold must be a mapping with metric and max or min",
            source=source,
            field=at,
            value=_shown(item),
        )
    _check_keys(item, THRESHOLD_KEYS, source, at)
    metric = _metric(item.get("metric"), source, f"{at}.metric", registry)
    bound, raw_limit = _bound(item, source, at)
    limit = _quantity(raw_limit, metric, source, f"{at}.{bound.value}")
    target = _target(item.get("target"), metric, source, f"{at}.target")
    window_s = _window(item.get("window"), metric, source, f"{at}.window")
    abort_on_fail, grace_s = _abort(item, metric, source, at)
    return Threshold(
        metric=metric,
        bound=bound,
        limit=limit,
        target=target,
        window_s=window_s,
        abort_on_fail=abort_on_fail,
        abort_grace_s=grace_s,
        name=_name(item.get("name"), source, f"{at}.name"),
        origin=at,
    )


def _metric(value: object, source: str, at: str, registry: MetricRegistry) -> Metric:
    if value is None:
        raise ConfigError(
            "every threshold needs a metric, e.g. latency.p99", source=source, field=at
        )
    if not isinstance(value, str):
        raise ConfigError("must be a metric name", source=source, field=at, value=value)
    try:
        return registry.resolve(value)
    except UnknownMetric as exc:
        raise ConfigError(str(exc), source=source, field=at, value=value) from exc


def _bound(item: Mapping[object, object], source: str, at: str) -> tuple[Bound, object]:
    has_max, has_min = "max" in item, "min" in item
    if has_max and has_min:
        raise ConfigError(
            "give max or min, not both (write two thresholds)", source=source, field=at
        )
    if not (has_max or has_min):
        raise ConfigError("every threshold needs max or min", source=source, field=at)
    return (Bound.MAX, item["max"]) if has_max else (Bound.MIN, item["min"])


def _quantity(value: object, metric: Metric, source: str, at: str) -> float:
    try:
        return parse_quantity(value, metric.quantity)
    except UnitError as exc:
        raise ConfigError(
            f"{exc} ({metric.name} is a {metric.quantity.value})",
            source=source,
            field=at,
            value=value,
        ) from exc


def _target(value: object, metric: Metric, source: str, at: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(
            'must be a request name or glob, e.g. "tools/call *"',
            source=source,
            field=at,
            value=value,
        )
    if not metric.takes_target:
        raise ConfigError(
            f"{metric.name} is judged over the whole run and takes no target",
            source=source,
            field=at,
            value=value,
        )
    return value


def _window(value: object, metric: Metric, source: str, at: str) -> float | None:
    if value is None:
        return None
    if not metric.takes_window:
        raise ConfigError(
            f"{metric.name} is judged once over the whole run and takes no window",
            source=source,
            field=at,
            value=value,
        )
    window_s = _duration(value, source, at)
    if window_s <= 0:
        raise ConfigError(
            "a window must be longer than zero", source=source, field=at, value=value
        )
    return window_s


def _duration(value: object, source: str, at: str) -> float:
    try:
        return _parse_time_s(value)
    except UnitError as exc:
        raise ConfigError(str(exc), source=source, field=at, value=value) from exc


def _abort(
    item: Mapping[object, object], metric: Metric, source: str, at: str
) -> tuple[bool, float]:
    abort = item.get("abort_on_fail", False)
    if not isinstance(abort, bool):
        raise ConfigError(
            "must be true or false",
            source=source,
            field=f"{at}.abort_on_fail",
            value=abort,
        )
    if abort and metric.of_run is not None:
        raise ConfigError(
            f"{metric.name} is judged once at the end of the run, so it cannot "
            "abort the run",
            source=source,
            field=f"{at}.abort_on_fail",
            value=abort,
        )
    if "abort_grace" not in item:
        return abort, 0.0
    if not abort:
        raise ConfigError(
            "abort_grace needs abort_on_fail: true",
            source=source,
            field=f"{at}.abort_grace",
            value=item["abort_grace"],
        )
    return abort, _duration(item["abort_grace"], source, f"{at}.abort_grace")


def _name(value: object, source: str, at: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError("must be text", source=source, field=at, value=value)
    return value


# The compact form ----------------------------------------------------------------


def _compact_form(
    targets: object, source: str, registry: MetricRegistry
) -> list[Threshold]:
    if not isinstance(targets, Mapping):
        raise ConfigError(
            'must map a request glob to rules, e.g. "tools/call *": ["p99 < 250ms"]',
            source=source,
            field="targets",
            value=_shown(targets),
        )
    thresholds = []
    for target, rules in targets.items():
        at = f"targets[{target!r}]"
        if not isinstance(target, str) or not target:
            raise ConfigError(
                "a target must be a request name or glob",
                source=source,
                field=at,
                value=target,
            )
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list):
            raise ConfigError(
                'must be a list of rules such as "p99 < 250ms"',
                source=source,
                field=at,
                value=_shown(rules),
            )
        for i, rule in enumerate(rules):
            thresholds.append(_rule(rule, target, source, f"{at}[{i}]", registry))
    return thresholds


def _rule(
    rule: object, target: str, source: str, at: str, registry: MetricRegistry
) -> Threshold:
    match = _COMPACT.match(rule) if isinstance(rule, str) else None
    if match is None:
        raise ConfigError(
            'a rule reads "METRIC < VALUE" or "METRIC > VALUE", '
            'optionally followed by "over WINDOW"',
            source=source,
            field=at,
            value=rule,
        )
    metric = _metric(_long_metric_name(match.group("metric")), source, at, registry)
    op = match.group("op")
    bound = Bound.MAX if op.startswith("<") else Bound.MIN
    window = match.group("window")
    return Threshold(
        metric=metric,
        bound=bound,
        limit=_quantity(match.group("value"), metric, source, at),
        target=_target(target, metric, source, at),
        window_s=_window(window, metric, source, at) if window else None,
        inclusive=op.endswith("="),
        origin=at,
    )


def _long_metric_name(short: str) -> str:
    """ "p99" is latency.p99 and "mean" latency.mean; other names stay."""
    if _SHORT_PERCENTILE.match(short) or short in _SHORT_LATENCY:
        return f"latency.{short}"
    return short
