"""The metrics an SLA threshold can name, and the registry that holds them.

A metric is one of two kinds:

- a *request metric* is computed from a :class:`NameResult` (the merge of
  the request names a threshold's ``target`` glob selects), so it can be
  judged over the whole run and over every rolling window: latency
  percentiles, mean, min and max, error rates, rps and count;
- a *run metric* is computed from the whole :class:`RunSnapshot` at the end
  of the run (resilience metrics such as the time breakers took to open).
  It takes no window; it may take a target if it says what the target
  selects (an experiment name, for instance).

Names are either fixed (``rps``) or come from a family that parses them
(``latency.p99.9``, ``error_rate.transport``). Other modules extend the
registry with :meth:`MetricRegistry.register`,
:meth:`MetricRegistry.register_family` and
:meth:`MetricRegistry.register_outcome`; the default registry is
:data:`METRICS`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from loadgen.aggregator.results import NameResult, RunSnapshot
from loadgen.mcp.outcomes import OutcomeClass
from sla.units import Quantity

RequestValue = Callable[[NameResult], float | None]
RunValue = Callable[[RunSnapshot, str | None], float | None]
FamilyResolver = Callable[[str], "Metric | None"]

_PERCENTILE = re.compile(r"^latency\.p(?P<p>[0-9]+(?:\.[0-9]+)?)$")
_ERROR_RATE = re.compile(r"^error_rate\.(?P<outcome>[a-z][a-z0-9_]*)$")

# Requests of other Locust users that failed count under this class (the
# recorder's name for "an exception without an MCP outcome").
GENERIC_ERROR_OUTCOME = "error"


class UnknownMetric(LookupError):
    """A metric name no registered metric or family answers to."""


@dataclass(frozen=True)
class Metric:
    """One nameable quantity and how to compute it from aggregated results."""

    name: str
    quantity: Quantity
    # The unit report files use for this metric's limit and observed value.
    report_unit: str
    description: str
    of_requests: RequestValue | None = None
    of_run: RunValue | None = None
    # Only for run metrics: what a target selects; "" means no target.
    run_target_help: str = ""
    # True when the value over the run so far only ever grows (count): a
    # minimum on it is not broken before the run ends.
    grows_with_run: bool = False

    def __post_init__(self) -> None:
        if (self.of_requests is None) == (self.of_run is None):
            raise ValueError("a metric computes either of_requests or of_run")

    @property
    def takes_window(self) -> bool:
        return self.of_requests is not None

    @property
    def takes_target(self) -> bool:
        return self.of_requests is not None or bool(self.run_target_help)


@dataclass(frozen=True)
class _Family:
    pattern: str
    description: str
    resolve: FamilyResolver


class MetricRegistry:
    """Metric names, fixed and by family, plus the outcome classes known."""

    def __init__(self) -> None:
        self._fixed: dict[str, Metric] = {}
        self._families: list[_Family] = []
        self._outcomes: set[str] = set()

    def register(self, metric: Metric) -> None:
        """Add a metric under its fixed name (a second one replaces the first)."""
        self._fixed[metric.name] = metric

    def register_family(
        self, pattern: str, description: str, resolve: FamilyResolver
    ) -> None:
        """Add names that ``resolve`` parses (it returns None for others)."""
        self._families.append(_Family(pattern, description, resolve))

    def register_outcome(self, outcome: str) -> None:
        """Make ``error_rate.<outcome>`` nameable (e.g. a breaker's refusals)."""
        self._outcomes.add(outcome)

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Failure outcome classes, in registration order of the defaults."""
        return tuple(sorted(self._outcomes, key=_outcome_order))

    def resolve(self, name: str) -> Metric:
        """The metric called ``name``; :class:`UnknownMetric` says what exists."""
        if name in self._fixed:
            return self._fixed[name]
        for family in self._families:
            metric = family.resolve(name)
            if metric is not None:
                return metric
        raise UnknownMetric(self._unknown_message(name))

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.examples(), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"unknown metric; {hint}known metrics: {', '.join(self.describe())}"

    def examples(self) -> list[str]:
        """Fixed names plus one concrete name per family, for suggestions."""
        names = list(self._fixed)
        names += ["latency.p50", "latency.p90", "latency.p95", "latency.p99"]
        names += [f"error_rate.{o}" for o in self.outcomes]
        return names

    def describe(self) -> list[str]:
        return [f.pattern for f in self._families] + sorted(self._fixed)


def _outcome_order(outcome: str) -> tuple[int, str]:
    known = [c.value for c in OutcomeClass]
    return (known.index(outcome), "") if outcome in known else (len(known), outcome)


# The default request metrics --------------------------------------------------


def _latency_s(value_us: RequestValue) -> RequestValue:
    """A latency statistic in seconds, or None when there were no requests."""

    def compute(result: NameResult) -> float | None:
        if not result.count:
            return None
        micros = value_us(result)
        return None if micros is None else micros / 1e6

    return compute


def _error_rate(outcome: str | None) -> RequestValue:
    def compute(result: NameResult) -> float | None:
        return result.error_rate(outcome) if result.count else None

    return compute


def _percentile_metric(name: str) -> Metric | None:
    match = _PERCENTILE.match(name)
    if match is None:
        return None
    percentile = float(match.group("p"))
    if not 0 < percentile <= 100:
        return None
    return Metric(
        name=name,
        quantity=Quantity.TIME,
        report_unit="ms",
        description=f"latency at the {match.group('p')}th percentile (HDR)",
        of_requests=_latency_s(lambda r: r.percentile_us(percentile)),
    )


def _outcome_metric(registry: MetricRegistry) -> FamilyResolver:
    def resolve(name: str) -> Metric | None:
        match = _ERROR_RATE.match(name)
        if match is None or match.group("outcome") not in registry.outcomes:
            return None
        outcome = match.group("outcome")
        return Metric(
            name=name,
            quantity=Quantity.RATIO,
            report_unit="ratio",
            description=f"share of requests that ended in {outcome}",
            of_requests=_error_rate(outcome),
        )

    return resolve


def _time_metric(name: str, description: str, value_us: RequestValue) -> Metric:
    return Metric(
        name, Quantity.TIME, "ms", description, of_requests=_latency_s(value_us)
    )


def _request_metrics() -> Iterable[Metric]:
    yield _time_metric("latency.mean", "exact mean latency", lambda r: r.mean_us)
    yield _time_metric("latency.min", "lowest latency", lambda r: r.min_us)
    yield _time_metric("latency.max", "highest latency", lambda r: r.max_us)
    yield Metric(
        "error_rate",
        Quantity.RATIO,
        "ratio",
        "share of requests in any outcome class but ok",
        of_requests=_error_rate(None),
    )
    yield Metric(
        "rps", Quantity.RATE, "1/s", "requests per second", of_requests=lambda r: r.rps
    )
    yield Metric(
        "count",
        Quantity.COUNT,
        "count",
        "number of requests",
        of_requests=lambda r: float(r.count),
        grows_with_run=True,
    )


def default_registry() -> MetricRegistry:
    """A registry with the request metrics every run has."""
    registry = MetricRegistry()
    for metric in _request_metrics():
        registry.register(metric)
    registry.register_family(
        "latency.pNN", "latency percentile, e.g. latency.p99.9", _percentile_metric
    )
    registry.register_family(
        "error_rate.<outcome>",
        "share of requests in one outcome class",
        _outcome_metric(registry),
    )
    for outcome in OutcomeClass:
        if outcome is not OutcomeClass.OK:
            registry.register_outcome(outcome.value)
    registry.register_outcome(GENERIC_ERROR_OUTCOME)
    return registry


METRICS = default_registry()
