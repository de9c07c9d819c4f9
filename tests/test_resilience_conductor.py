"""The conductor switches experiments on schedule; time jumps, nothing waits."""

from __future__ import annotations

from typing import Any

import pytest

from resilience_probe.conductor import (
    END_EVENT,
    FAILED_EVENT,
    GUARDRAIL_EVENT,
    START_EVENT,
    ActionError,
    Conductor,
    Phase,
)
from resilience_probe.experiments import ChaosPlan, Experiment, parse_chaos
from sla.testing import RunBuilder

DOCUMENT: dict[str, Any] = {
    "experiments": [
        {
            "name": "outage",
            "start": "5s",
            "duration": "5s",
            "server": {"error_rate": 1.0},
        },
        {
            "name": "clients",
            "start": "12s",
            "duration": "4s",
            "blast_radius": "20%",
            "hooks": [{"hook": "reset", "probability": "5%"}],
            "guardrails": {"targets": {"tools/call *": ["error_rate < 10%"]}},
        },
    ]
}


class FakeActions:
    """Writes down what the conductor does; fails when told to."""

    def __init__(self, fail_start: bool = False) -> None:
        self.log: list[tuple[str, str]] = []
        self.marks: list[tuple[str, dict[str, Any]]] = []
        self.fail_start = fail_start

    def start_server_faults(self, experiment: Experiment) -> None:
        if self.fail_start:
            raise ActionError("the admin endpoint answered 404")
        self.log.append(("server on", experiment.name))

    def end_server_faults(self, experiment: Experiment) -> None:
        self.log.append(("server off", experiment.name))

    def activate_hooks(self, experiment: Experiment) -> None:
        self.log.append(("hooks on", experiment.name))

    def deactivate_hooks(self, experiment: Experiment) -> None:
        self.log.append(("hooks off", experiment.name))

    def mark(self, kind: str, attrs: dict[str, Any]) -> None:
        self.marks.append((kind, attrs))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.marks]


def conductor(
    actions: FakeActions, plan: ChaosPlan | None = None
) -> tuple[Conductor, RunBuilder]:
    run = RunBuilder()
    return Conductor(plan or parse_chaos(DOCUMENT), actions, clock=run.clock), run


def test_nothing_starts_before_its_offset() -> None:
    """At 4.9 s the first experiment is still pending."""
    actions = FakeActions()
    chaos, run = conductor(actions)
    run.now_s += 4.9
    chaos.tick()
    assert actions.log == []
    assert chaos.seconds_until_next() == pytest.approx(0.1)


def test_an_experiment_starts_at_its_offset_and_ends_after_its_duration() -> None:
    """Server faults on at 5 s, off at 10 s, each with its mark."""
    actions = FakeActions()
    chaos, run = conductor(actions)
    run.now_s += 5.0
    chaos.tick()
    run.now_s += 5.0
    chaos.tick()
    assert actions.log == [("server on", "outage"), ("server off", "outage")]
    assert actions.kinds() == [START_EVENT, END_EVENT]
    assert actions.marks[1][1]["reason"] == "completed"


def test_the_start_mark_carries_what_the_metrics_need() -> None:
    """Kind, blast radius and the recovery settings travel with the mark."""
    actions = FakeActions()
    chaos, run = conductor(actions)
    run.now_s += 12.0
    chaos.tick()
    start = next(
        attrs for kind, attrs in actions.marks if attrs["experiment"] == "clients"
    )
    assert start["kind"] == "client"
    assert start["blast_radius"] == 0.2
    assert start["affected_radius"] == 0.2
    assert start["recovery_tolerance"] == 0.01


def test_a_late_tick_ends_the_first_before_it_starts_the_second() -> None:
    """A tick at 13 s: the outage ends, then the client experiment starts."""
    actions = FakeActions()
    chaos, run = conductor(actions)
    run.now_s += 5.0
    chaos.tick()
    run.now_s += 8.0
    chaos.tick()
    assert actions.log[1:] == [("server off", "outage"), ("hooks on", "clients")]


def test_a_breached_guardrail_ends_the_experiment_early() -> None:
    """30 % errors among control tool calls end it at its next tick."""
    actions = FakeActions()
    chaos, run = conductor(actions)
    run.now_s += 12.0
    chaos.tick()
    run.end_interval(length_s=0.0)
    run.record("tools/call echo", [1_000] * 7)
    run.record("tools/call echo", [1_000] * 3, "http_status")
    run.end_interval()
    chaos.tick(run.snapshot())
    assert chaos.phase_of("clients") is Phase.DONE
    assert actions.kinds()[-2:] == [GUARDRAIL_EVENT, END_EVENT]
    assert actions.marks[-1][1]["reason"] == "guardrail"


def test_a_guardrail_that_holds_lets_the_experiment_run() -> None:
    """No errors: the experiment keeps running."""
    actions = FakeActions()
    chaos, run = conductor(actions)
    run.now_s += 12.0
    chaos.tick()
    run.end_interval(length_s=0.0)
    run.record("tools/call echo", [1_000] * 10)
    run.end_interval()
    chaos.tick(run.snapshot())
    assert chaos.phase_of("clients") is Phase.RUNNING


def test_an_experiment_that_cannot_start_is_marked_failed() -> None:
    """An admin error marks it failed, and it is switched off again."""
    actions = FakeActions(fail_start=True)
    chaos, run = conductor(actions)
    run.now_s += 5.0
    chaos.tick()
    assert chaos.phase_of("outage") is Phase.FAILED
    assert actions.kinds() == [FAILED_EVENT]
    assert "404" in actions.marks[0][1]["error"]


def test_stopping_ends_what_runs_and_cancels_what_waits() -> None:
    """A test that stops mid-outage turns the faults off; nothing else starts."""
    actions = FakeActions()
    chaos, run = conductor(actions)
    run.now_s += 6.0
    chaos.tick()
    chaos.stop()
    run.now_s += 60.0
    chaos.tick()
    assert actions.log == [("server on", "outage"), ("server off", "outage")]
    assert actions.marks[-1][1]["reason"] == "test stopped"
    assert chaos.done
