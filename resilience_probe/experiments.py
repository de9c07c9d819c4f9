"""The chaos file: experiments on a schedule, their hooks and hypotheses.

A chaos file (YAML) lists experiments, each with a start offset from the
start of the test, a duration, and what it injects: client-side hooks
inside a share of the users (``blast_radius``, scaled by ``intensity``)
and server-side faults set through the demo target's admin endpoint
(``server``: any of its fault knobs, e.g. ``error_rate: 1.0``). Around
them, a steady-state hypothesis (thresholds in the SLA file format) is
judged before, during and after each experiment, and guardrails (the same
format) end an experiment early when breached. See docs/resilience.md.

Reading is strict, as for SLA files: an unknown key, a missing unit or an
overlap between experiments is an error that names the file, the field
path, the rule and the value.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from loadgen.errors import ConfigError
from loadgen.target.faults import FaultSettings
from resilience_probe.breaker import BreakerConfig, WindowKind
from resilience_probe.chaos import Hook, HookKind, Malformation
from resilience_probe.classify import Verdict
from sla.spec import SlaSpec, parse_sla
from sla.units import UnitError, parse_ratio, parse_time_s

CHAOS_VERSION: Final = 1

TOP_KEYS: Final = (
    "version",
    "breaker",
    "settings",
    "steady_state",
    "guardrails",
    "experiments",
)
SETTINGS_KEYS: Final = ("recovery_tolerance", "error_budget", "admin_url")
EXPERIMENT_KEYS: Final = (
    "name",
    "start",
    "duration",
    "blast_radius",
    "intensity",
    "hooks",
    "server",
    "steady_state",
    "guardrails",
)
# The keys each hook takes besides `hook` and `probability`, and the Hook
# field each one fills.
HOOK_KEYS: Final[dict[HookKind, dict[str, str]]] = {
    HookKind.LATENCY: {"fixed": "fixed_s", "jitter": "jitter_s"},
    HookKind.FAILURE: {},
    HookKind.RESET: {},
    HookKind.ABANDON: {"hold": "hold_s"},
    HookKind.SLOW_SEND: {"duration": "send_s", "pieces": "pieces"},
    HookKind.MALFORMED: {"kind": "malformation"},
    HookKind.OVERSIZED: {"bytes": "size_bytes"},
    HookKind.SESSION_ABANDON: {},
    HookKind.RETRY_STORM: {"retries": "retries"},
}
# Breaker knobs in a chaos file, and the BreakerConfig field each fills.
BREAKER_KEYS: Final = {
    "window": "window",
    "minimum_calls": "minimum_calls",
    "failure_rate": "failure_rate",
    "slow_call_rate": "slow_call_rate",
    "slow_call": "slow_call_s",
    "half_open_permits": "half_open_permits",
    "max_half_open": "max_half_open_s",
    "open_wait": "open_wait_s",
    "open_wait_multiplier": "open_wait_multiplier",
    "max_open_wait": "max_open_wait_s",
    "open_wait_jitter": "open_wait_jitter",
    "tool_errors": "tool_errors",
    "count_injected": "count_injected",
}
_TIME_FIELDS: Final = frozenset(
    {"fixed_s", "jitter_s", "hold_s", "send_s", "slow_call_s", "max_half_open_s"}
    | {"open_wait_s", "max_open_wait_s"}
)
_COUNT_FIELDS: Final = frozenset(
    {"pieces", "size_bytes", "retries", "minimum_calls", "half_open_permits"}
)
_RATIO_FIELDS: Final = frozenset({"failure_rate", "slow_call_rate", "open_wait_jitter"})

# An experiment's error rate counts as back to its baseline within one
# percentage point, unless the file says otherwise.
DEFAULT_RECOVERY_TOLERANCE: Final = 0.01
DEFAULT_ERROR_BUDGET: Final = 0.01


@dataclass(frozen=True)
class Experiment:
    """One scheduled injection."""

    name: str
    start_s: float
    duration_s: float
    blast_radius: float = 1.0
    intensity: float = 1.0
    hooks: tuple[Hook, ...] = ()
    # The admin POST body that turns the server-side faults on.
    server: Mapping[str, Any] = field(default_factory=dict)
    steady_state: SlaSpec | None = None
    guardrails: SlaSpec | None = None

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def active_hooks(self) -> tuple[Hook, ...]:
        """The hooks with the experiment's intensity applied."""
        return tuple(hook.scaled(self.intensity) for hook in self.hooks)

    @property
    def kind(self) -> str:
        """``server``, ``client`` or ``server+client``."""
        parts = [p for p, on in (("server", self.server), ("client", self.hooks)) if on]
        return "+".join(parts)


@dataclass(frozen=True)
class ChaosPlan:
    """A whole chaos file."""

    experiments: tuple[Experiment, ...] = ()
    breaker: BreakerConfig | None = None
    count_injected: bool | None = None
    recovery_tolerance: float = DEFAULT_RECOVERY_TOLERANCE
    error_budget: float = DEFAULT_ERROR_BUDGET
    admin_url: str = ""
    source: str = ""

    @property
    def affected_radius(self) -> float:
        """The largest blast radius of any experiment with client-side hooks."""
        return max((e.blast_radius for e in self.experiments if e.hooks), default=0.0)

    def experiment(self, name: str) -> Experiment | None:
        return next((e for e in self.experiments if e.name == name), None)


# Reading --------------------------------------------------------------------------


def load_chaos_file(path: str | Path) -> ChaosPlan:
    """Read and check a chaos file; every problem is a ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the chaos file: {exc.strerror}", source=source
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=source) from exc
    return parse_chaos(data, source)


def parse_chaos(data: object, source: str = "") -> ChaosPlan:
    """Check an already-parsed chaos document and build the plan."""
    read = _Reader(source)
    top = read.mapping(data, "", TOP_KEYS)
    version = top.get("version", CHAOS_VERSION)
    if version != CHAOS_VERSION:
        raise ConfigError(
            f"only version {CHAOS_VERSION} is known",
            source=source,
            field="version",
            value=version,
        )
    settings = read.mapping(top.get("settings", {}), "settings", SETTINGS_KEYS)
    default_hypothesis = read.sla(top.get("steady_state"), "steady_state")
    default_guardrails = read.sla(top.get("guardrails"), "guardrails")
    experiments = read.experiments(
        top.get("experiments"), default_hypothesis, default_guardrails
    )
    breaker, count_injected = read.breaker(top.get("breaker"), "breaker")
    return ChaosPlan(
        experiments=experiments,
        breaker=breaker,
        count_injected=count_injected,
        recovery_tolerance=read.ratio(
            settings.get("recovery_tolerance", DEFAULT_RECOVERY_TOLERANCE),
            "settings.recovery_tolerance",
        ),
        error_budget=read.positive_ratio(
            settings.get("error_budget", DEFAULT_ERROR_BUDGET), "settings.error_budget"
        ),
        admin_url=read.text(settings.get("admin_url", ""), "settings.admin_url"),
        source=source,
    )


class _Reader:
    """Field readers that name the file and the field path on every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, rule: str, at: str, value: object = None) -> ConfigError:
        return ConfigError(rule, source=self.source, field=at, value=value)

    def mapping(
        self, value: object, at: str, allowed: tuple[str, ...]
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail("must be a mapping", at or "(top level)", _shown(value))
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                rule = f"unknown key; {hint}allowed keys: {', '.join(allowed)}"
                where = f"{at}.{key}" if at else str(key)
                raise self.fail(rule, where, _shown(value[key]))
        return value

    def duration(self, value: object, at: str) -> float:
        try:
            return parse_time_s(value)
        except UnitError as exc:
            raise self.fail(str(exc), at, value) from exc

    def ratio(self, value: object, at: str) -> float:
        try:
            return parse_ratio(value)
        except UnitError as exc:
            raise self.fail(str(exc), at, value) from exc

    def positive_ratio(self, value: object, at: str) -> float:
        ratio = self.ratio(value, at)
        if ratio <= 0:
            raise self.fail("must be more than zero", at, value)
        return ratio

    def count(self, value: object, at: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"must be a whole number, at least {minimum}", at, value)
        return value

    def number(self, value: object, at: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail("must be a number", at, value)
        return float(value)

    def text(self, value: object, at: str) -> str:
        if not isinstance(value, str):
            raise self.fail("must be text", at, value)
        return value

    def choice(self, value: object, at: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(f"must be one of {', '.join(choices)}", at, value)
        return str(value)

    def sla(self, value: object, at: str) -> SlaSpec | None:
        """Thresholds in the SLA file format, judged over one phase at a time."""
        if value is None:
            return None
        try:
            spec = parse_sla(value, self.source)
        except ConfigError as exc:
            where = f"{at}.{exc.field}" if exc.field else at
            raise self.fail(exc.rule, where, exc.value) from exc
        for threshold in spec.thresholds:
            where = f"{at}.{threshold.origin}"
            if threshold.metric.of_run is not None:
                raise self.fail(
                    "a hypothesis judges requests; run metrics are not allowed",
                    where,
                    threshold.metric.name,
                )
            if threshold.window_s is not None or threshold.abort_on_fail:
                raise self.fail(
                    "each phase is judged as a whole: no window or abort_on_fail",
                    where,
                    threshold.label,
                )
        return spec

    # Experiments ------------------------------------------------------------------

    def experiments(
        self,
        value: object,
        hypothesis: SlaSpec | None,
        guardrails: SlaSpec | None,
    ) -> tuple[Experiment, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("must be a list of at least one experiment", "experiments")
        experiments = [
            self.experiment(item, f"experiments[{i}]", hypothesis, guardrails)
            for i, item in enumerate(value)
        ]
        self._check_names_and_overlaps(experiments)
        return tuple(experiments)

    def experiment(
        self,
        value: object,
        at: str,
        hypothesis: SlaSpec | None,
        guardrails: SlaSpec | None,
    ) -> Experiment:
        item = self.mapping(value, at, EXPERIMENT_KEYS)
        for required in ("name", "start", "duration"):
            if required not in item:
                raise self.fail("is required", f"{at}.{required}")
        name = self.text(item["name"], f"{at}.name")
        hooks = self.hooks(item.get("hooks", []), f"{at}.hooks")
        server = self.server(item.get("server", {}), f"{at}.server")
        if not hooks and not server:
            raise self.fail("an experiment needs hooks, server faults or both", at)
        duration_s = self.duration(item["duration"], f"{at}.duration")
        if duration_s <= 0:
            raise self.fail("must be longer than zero", f"{at}.duration", duration_s)
        return Experiment(
            name=name,
            start_s=self.duration(item["start"], f"{at}.start"),
            duration_s=duration_s,
            blast_radius=self.ratio(
                item.get("blast_radius", 1.0), f"{at}.blast_radius"
            ),
            intensity=self.ratio(item.get("intensity", 1.0), f"{at}.intensity"),
            hooks=hooks,
            server=server,
            steady_state=self.sla(item.get("steady_state"), f"{at}.steady_state")
            or hypothesis,
            guardrails=self.sla(item.get("guardrails"), f"{at}.guardrails")
            or guardrails,
        )

    def _check_names_and_overlaps(self, experiments: list[Experiment]) -> None:
        names = [e.name for e in experiments]
        for i, name in enumerate(names):
            if not name or name in names[:i]:
                raise self.fail(
                    "names must be unique and not empty", f"experiments[{i}].name", name
                )
        ordered = sorted(enumerate(experiments), key=lambda pair: pair[1].start_s)
        for (_, before), (i, after) in zip(ordered, ordered[1:], strict=False):
            if after.start_s < before.end_s:
                raise self.fail(
                    f"experiments must not overlap: {before.name!r} runs until "
                    f"{before.end_s:g} s",
                    f"experiments[{i}].start",
                    after.start_s,
                )

    def server(self, value: object, at: str) -> dict[str, Any]:
        """Admin knobs, checked against the demo target's own rules."""
        if value in ({}, None):
            return {}
        if not isinstance(value, Mapping):
            raise self.fail("must map fault settings to values", at, _shown(value))
        try:
            FaultSettings().updated(value)
        except ConfigError as exc:
            where = f"{at}.{exc.field}" if exc.field else at
            raise self.fail(exc.rule, where, exc.value) from exc
        return dict(value)

    def hooks(self, value: object, at: str) -> tuple[Hook, ...]:
        if not isinstance(value, list):
            raise self.fail("must be a list of hooks", at, _shown(value))
        return tuple(self.hook(item, f"{at}[{i}]") for i, item in enumerate(value))

    def hook(self, value: object, at: str) -> Hook:
        if not isinstance(value, Mapping) or "hook" not in value:
            raise self.fail("a hook is a mapping with a `hook` key", at, _shown(value))
        kinds = tuple(k.value for k in HookKind)
        kind = HookKind(self.choice(value["hook"], f"{at}.hook", kinds))
        keys = HOOK_KEYS[kind]
        self.mapping(value, at, ("hook", "probability", *keys))
        fields: dict[str, Any] = {
            "probability": self.ratio(
                value.get("probability", 1.0), f"{at}.probability"
            )
        }
        for key, name in keys.items():
            if key in value:
                fields[name] = self.hook_field(name, value[key], f"{at}.{key}")
        return Hook(kind, **fields)

    def hook_field(self, name: str, value: object, at: str) -> Any:
        if name in _TIME_FIELDS:
            return self.duration(value, at)
        if name in _COUNT_FIELDS:
            return self.count(value, at, minimum=1 if name == "pieces" else 0)
        choices = tuple(m.value for m in Malformation)
        return Malformation(self.choice(value, at, choices))

    # Breaker ----------------------------------------------------------------------

    def breaker(
        self, value: object, at: str
    ) -> tuple[BreakerConfig | None, bool | None]:
        if value is None:
            return None, None
        item = self.mapping(value, at, tuple(BREAKER_KEYS))
        fields: dict[str, Any] = {}
        count_injected = None
        for key, raw in item.items():
            name = BREAKER_KEYS[key]
            where = f"{at}.{key}"
            if name == "count_injected":
                if not isinstance(raw, bool):
                    raise self.fail("must be true or false", where, raw)
                count_injected = raw
            else:
                fields.update(self.breaker_field(name, raw, where))
        try:
            return BreakerConfig(**fields), count_injected
        except ValueError as exc:
            raise self.fail(str(exc), at) from exc

    def breaker_field(self, name: str, value: object, at: str) -> dict[str, Any]:
        if name == "window":
            # "20" or 20: the last 20 calls; "10s": the last ten seconds.
            if isinstance(value, int) and not isinstance(value, bool):
                return {"window_kind": WindowKind.COUNT, "window_calls": value}
            return {
                "window_kind": WindowKind.TIME,
                "window_s": self.duration(value, at),
            }
        if name in _TIME_FIELDS:
            return {name: self.duration(value, at)}
        if name in _COUNT_FIELDS:
            return {name: self.count(value, at, minimum=1)}
        if name in _RATIO_FIELDS:
            return {name: self.ratio(value, at)}
        if name == "tool_errors":
            choices = tuple(v.value for v in Verdict)
            return {name: Verdict(self.choice(value, at, choices))}
        return {name: self.number(value, at)}


def _shown(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."
