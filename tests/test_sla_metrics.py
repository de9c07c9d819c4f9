"""The metric registry other modules extend (resilience metrics, outcomes)."""

from __future__ import annotations

import pytest

from loadgen.aggregator.results import RunSnapshot
from loadgen.errors import ConfigError
from sla.evaluate import evaluate_run
from sla.metrics import Metric, MetricRegistry, UnknownMetric, default_registry
from sla.spec import SlaSpec, parse_sla
from sla.testing import RunBuilder
from sla.units import Quantity


def time_to_open_s(snapshot: RunSnapshot, target: str | None) -> float | None:
    """A resilience-style run metric: seconds from the run start to an event."""
    opened = snapshot.events_of(["breaker.open"])
    return opened[0].time_s - snapshot.start_s if opened else None


def resilience_registry() -> MetricRegistry:
    registry = default_registry()
    registry.register(
        Metric(
            "resilience.time_to_open_s",
            Quantity.TIME,
            "s",
            "seconds from fault start to the first open breaker",
            of_run=time_to_open_s,
            run_target_help="an experiment name",
        )
    )
    return registry


def outage_spec(limit: str) -> SlaSpec:
    return parse_sla(
        {
            "thresholds": [
                {
                    "metric": "resilience.time_to_open_s",
                    "target": "outage",
                    "max": limit,
                }
            ]
        },
        "sla.yaml",
        resilience_registry(),
    )


def test_a_registered_run_metric_is_judged_at_the_end() -> None:
    """A module's run metric parses with a target and is judged on the run."""
    run = RunBuilder().record("ping", 1000).event("breaker.open", 3.0)
    run.end_interval().end_interval().end_interval()
    snapshot = run.record("ping", 1000).event("breaker.open", 3.5).finish()
    (passed,) = evaluate_run(outage_spec("5s"), snapshot)
    (failed,) = evaluate_run(outage_spec("2s"), snapshot)
    assert (passed.passed, passed.observed) == (True, pytest.approx(3.0))
    assert (failed.passed, failed.first_breach_s) == (False, None)


def test_a_run_metric_without_data_fails() -> None:
    """No value from a run metric is no verdict for it: it fails."""
    snapshot = RunBuilder().record("ping", 1000).finish()
    (result,) = evaluate_run(outage_spec("5s"), snapshot)
    assert (result.passed, result.observed, result.note) == (False, None, "no data")


def test_a_run_metric_takes_no_window() -> None:
    """A window on a whole-run metric is a config error."""
    with pytest.raises(ConfigError, match="takes no window"):
        parse_sla(
            {
                "thresholds": [
                    {
                        "metric": "resilience.time_to_open_s",
                        "max": "5s",
                        "window": "10s",
                    }
                ]
            },
            "sla.yaml",
            resilience_registry(),
        )


def test_a_run_metric_cannot_abort() -> None:
    """abort_on_fail on a metric judged only at the end is a config error."""
    with pytest.raises(ConfigError, match="cannot abort"):
        parse_sla(
            {
                "thresholds": [
                    {
                        "metric": "resilience.time_to_open_s",
                        "max": "5s",
                        "abort_on_fail": True,
                    }
                ]
            },
            "sla.yaml",
            resilience_registry(),
        )


def test_a_registered_outcome_gets_an_error_rate() -> None:
    """register_outcome makes error_rate.<outcome> nameable."""
    registry = default_registry()
    with pytest.raises(UnknownMetric):
        registry.resolve("error_rate.fallback_used")
    registry.register_outcome("fallback_used")
    assert registry.resolve("error_rate.fallback_used").quantity is Quantity.RATIO


def test_a_registered_family_resolves_its_names() -> None:
    """A family parses names the fixed list does not hold."""
    registry = default_registry()

    def flaps(name: str) -> Metric | None:
        if not name.startswith("resilience.flaps."):
            return None
        return Metric(
            name,
            Quantity.COUNT,
            "count",
            "breaker flaps",
            of_run=lambda snapshot, target: 0.0,
        )

    registry.register_family("resilience.flaps.<experiment>", "flaps", flaps)
    assert registry.resolve("resilience.flaps.outage").name == "resilience.flaps.outage"
    assert "resilience.flaps.<experiment>" in registry.describe()


def test_a_metric_computes_exactly_one_way() -> None:
    """A metric with both of_requests and of_run (or neither) is a bug."""
    with pytest.raises(ValueError, match="either"):
        Metric("x", Quantity.COUNT, "count", "x")


def test_percentiles_outside_0_to_100_are_unknown() -> None:
    """latency.p0 and latency.p101 are not metrics."""
    registry = default_registry()
    for name in ("latency.p0", "latency.p101"):
        with pytest.raises(UnknownMetric):
            registry.resolve(name)
