"""Reading chaos files: the example loads; each mistake names where it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from loadgen.errors import ConfigError
from resilience_probe.breaker import WindowKind
from resilience_probe.chaos import HookKind, Malformation
from resilience_probe.experiments import load_chaos_file, parse_chaos

EXAMPLE = Path(__file__).resolve().parents[1] / "locustfiles" / "chaos_example.yaml"


def outage(**changes: Any) -> dict[str, Any]:
    experiment = {
        "name": "outage",
        "start": "5s",
        "duration": "5s",
        "server": {"error_rate": 1.0},
    }
    experiment.update(changes)
    return {"experiments": [experiment]}


def error_of(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_chaos(document, "chaos.yaml")
    return str(caught.value)


def test_the_example_chaos_file_loads() -> None:
    """The shipped example has an outage and a client-side experiment."""
    plan = load_chaos_file(EXAMPLE)
    assert [e.name for e in plan.experiments] == [
        "server outage",
        "misbehaving clients",
    ]
    assert plan.experiments[0].server == {"error_rate": 1.0, "error_status": 503}
    assert plan.affected_radius == 0.2
    assert plan.breaker is not None and plan.breaker.max_open_wait_s == 4.0


def test_hooks_are_read_with_their_units() -> None:
    """Durations with units, percentages, and the malformation kind."""
    plan = load_chaos_file(EXAMPLE)
    latency, malformed, *_ = plan.experiments[1].hooks
    assert (latency.kind, latency.probability, latency.fixed_s) == (
        HookKind.LATENCY,
        0.5,
        0.05,
    )
    assert malformed.malformation is Malformation.UNKNOWN_METHOD


def test_an_unknown_key_is_an_error_naming_its_path() -> None:
    """A misspelled `durration` is refused with a suggestion."""
    document = outage()
    document["experiments"][0]["durration"] = "5s"
    message = error_of(document)
    assert "chaos.yaml: experiments[0].durration: unknown key" in message
    assert "did you mean duration?" in message


def test_a_duration_without_a_unit_is_refused() -> None:
    """start: 5 could mean milliseconds or seconds."""
    assert "experiments[0].start: needs a time unit" in error_of(outage(start=5))


def test_overlapping_experiments_are_refused() -> None:
    """A second experiment may not start before the first ends."""
    document = outage()
    document["experiments"].append(
        {"name": "late", "start": "8s", "duration": "1s", "server": {"error_rate": 0.5}}
    )
    assert "must not overlap" in error_of(document)


def test_server_faults_are_checked_against_the_targets_knobs() -> None:
    """An unknown knob names the field under server."""
    message = error_of(outage(server={"eror_rate": 1.0}))
    assert "experiments[0].server.eror_rate" in message


def test_a_hook_with_a_key_of_another_hook_is_refused() -> None:
    """`hold` belongs to abandon, not to reset."""
    hooks = [{"hook": "reset", "hold": "1s"}]
    assert "experiments[0].hooks[0].hold: unknown key" in error_of(outage(hooks=hooks))


def test_a_hypothesis_with_a_window_is_refused() -> None:
    """Phases are judged whole: a window makes no sense there."""
    document = outage()
    document["steady_state"] = {
        "thresholds": [{"metric": "latency.p99", "max": "1s", "window": "5s"}]
    }
    assert "steady_state.thresholds[0]" in error_of(document)


def test_a_hypothesis_mistake_names_its_place_in_the_chaos_file() -> None:
    """An SLA-format mistake inside guardrails names guardrails first."""
    document = outage()
    document["guardrails"] = {
        "thresholds": [{"metric": "latency.p99", "maximum": "1s"}]
    }
    assert "guardrails.thresholds[0].maximum: unknown key" in error_of(document)


def test_a_time_window_for_the_breaker_is_read_from_a_duration() -> None:
    """window: 10s is time-based; window: 20 counts calls."""
    document = outage()
    document["breaker"] = {"window": "10s", "minimum_calls": 5}
    plan = parse_chaos(document)
    assert plan.breaker is not None
    assert plan.breaker.window_kind is WindowKind.TIME
    assert plan.breaker.window_s == 10.0


def test_an_impossible_breaker_names_the_breaker_section() -> None:
    """minimum_calls above the window size is refused with the rule."""
    document = outage()
    document["breaker"] = {"window": 5, "minimum_calls": 10}
    assert "chaos.yaml: breaker: breaker minimum_calls" in error_of(document)


def test_an_experiment_that_injects_nothing_is_refused() -> None:
    """Neither hooks nor server faults: nothing to learn from it."""
    assert "needs hooks, server faults or both" in error_of(outage(server={}))


def test_a_chaos_file_without_experiments_is_refused() -> None:
    """An empty list runs nothing: most likely a mistake."""
    assert "experiments: must be a list of at least one" in error_of(
        yaml.safe_load("experiments: []")
    )


def test_broken_yaml_names_the_file(tmp_path: Path) -> None:
    """A file that does not parse is a ConfigError naming it."""
    path = tmp_path / "broken.yaml"
    path.write_text("experiments: [\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_chaos_file(path)
